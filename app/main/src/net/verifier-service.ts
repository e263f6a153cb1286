// The verifier role: advertises itself on the verifiers topic, and answers `verify` requests by
// fetching the receipt by its CID, checking it with the verifier plugin (no prover needed), and
// replying with an attestation signed by this node's key, plus the escrow settlement's EIP-712
// signature when the receipt is valid and the job pays through the escrow.

import { createHash } from 'node:crypto'
import { ResourceLimitError, type StoragePlugin, type VerifierPlugin } from '@wholesum/plugin-api'
import type { ComponentLogger } from '../log/logger.ts'
import {
  PROTOCOLS,
  TOPICS,
  type AttestationBody,
  type MessageOf,
  type PayeeBody,
  type SettlementTerms,
} from '../protocol/messages.ts'
import type { Reply, Wire } from './wire.ts'

/** What signs a settlement: the payments plugin's account, on its chain and escrow. */
export interface SettlementSigner {
  readonly chainId: number
  readonly escrow: string
  readonly account: string
  /** Whether `who` is one of the verifiers the escrow names for the job: only those are paid. */
  isJobVerifier(jobKey: `0x${string}`, who: `0x${string}`): Promise<boolean>
  signSettlement(s: {
    jobKey: `0x${string}`
    root: `0x${string}`
    total: bigint
    receiptDigest: `0x${string}`
    journalDigest: `0x${string}`
  }): Promise<`0x${string}`>
}

/** Test-only: a verifier that lies, to show that a quorum outvotes it and the lie is caught. */
export type VerifierFault = 'says-invalid' | 'says-valid'

export interface VerifierServiceOptions {
  readonly wire: Wire
  readonly storage: StoragePlugin
  readonly checker: VerifierPlugin
  readonly logger: ComponentLogger
  /** What it asks per job, wei. */
  readonly fee: bigint
  /** Verifications at once; more are declined as busy. */
  readonly capacity?: number
  /** How often it advertises (ms). */
  readonly adIntervalMs?: number
  readonly maxReceiptBytes?: number
  /** Fetching the receipt may stall at most this long between blocks (ms). */
  readonly fetchTimeoutMs?: number
  /** Where it is paid, and what signs settlements; absent: it attests, unpaid. */
  readonly payments?: {
    readonly payee: PayeeBody
    readonly signer: SettlementSigner
    /** A settlement was signed: the fee is owed, to be claimed from the client's payout. */
    readonly onSigned?: (jobId: string, jobKey: `0x${string}`, client: string, fee: bigint) => void
  }
  readonly fault?: VerifierFault
  readonly clock?: () => number
  readonly onEvent?: (event: VerifierEvent) => void
}

export type VerifierEvent =
  | {
      readonly type: 'attested'
      readonly jobId: string
      readonly client: string
      readonly verdict: AttestationBody['verdict']
      readonly signedSettlement: boolean
      readonly ms: number
    }
  | {
      readonly type: 'declined'
      readonly jobId: string
      readonly client: string
      readonly reason: string
    }

const DEFAULT_MAX_RECEIPT_BYTES = 256 << 20

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** One check per receipt and image: a client asking twice (attest, then sign) is answered from it. */
interface CheckResult {
  readonly receiptDigest: string
  readonly valid: boolean
  readonly journalDigest?: string
  readonly reason?: string
}

export class VerifierService {
  private readonly options: VerifierServiceOptions
  private readonly clock: () => number
  private timer: ReturnType<typeof setInterval> | undefined
  private running = 0
  private readonly checked = new Map<string, Promise<CheckResult>>()

  constructor(options: VerifierServiceOptions) {
    this.options = options
    this.clock = options.clock ?? Date.now
  }

  async start(): Promise<void> {
    await this.options.wire.handle(PROTOCOLS.verify, (m, from) => this.onVerify(m, from))
    // Following the topic puts this node in its mesh, so its ads have more than one way to
    // travel (a publisher outside the mesh depends on the peers it floods reaching the rest).
    this.options.wire.subscribe(TOPICS.verifiers, () => {})
    this.advertise()
    this.timer = setInterval(() => this.advertise(), this.options.adIntervalMs ?? 10_000)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.options.wire.follows(TOPICS.verifiers)) this.options.wire.unsubscribe(TOPICS.verifiers)
    await this.options.wire.unhandle(PROTOCOLS.verify).catch(() => {})
  }

  private advertise(): void {
    const { fee, payments } = this.options
    void this.options.wire
      .publish(TOPICS.verifiers, 'verifier-ad', {
        fee: fee.toString(),
        capacity: this.options.capacity ?? 2,
        addrs: this.options.wire.addresses().slice(0, 8),
        ...(payments !== undefined ? { payee: payments.payee } : {}),
      })
      .catch((err) =>
        this.options.logger.debug('verifier ad not published', { error: (err as Error).message }),
      )
  }

  private async onVerify(message: MessageOf<'verify'>, from: string): Promise<Reply> {
    const body = message.body
    const decline = (reason: string): Reply => {
      this.options.onEvent?.({ type: 'declined', jobId: body.jobId, client: from, reason })
      return { type: 'decline', body: { jobId: body.jobId, reason } }
    }
    const signer = this.options.payments?.signer
    if (body.settlement !== undefined) {
      if (signer === undefined) return decline('this verifier signs no settlements')
      if (
        body.settlement.chainId !== signer.chainId ||
        body.settlement.contract !== signer.escrow.toLowerCase()
      )
        return decline(
          `this verifier signs for escrow ${signer.escrow.toLowerCase()} on chain ${signer.chainId}`,
        )
    }
    if (this.running >= (this.options.capacity ?? 2)) return decline('busy')
    // A settlement is signed only for a job the escrow names this verifier on: anyone else's
    // request (a made-up job key) would leave it signing, and expecting a fee, for nothing.
    if (body.settlement !== undefined && signer !== undefined) {
      const named = await signer
        .isJobVerifier(`0x${body.settlement.jobKey}`, signer.account as `0x${string}`)
        .catch(() => false)
      if (!named) return decline("this verifier is not one of that job's verifiers on the escrow")
    }
    this.running += 1
    const started = this.clock()
    try {
      const result = await this.check(body.receiptCid, body.imageId, from)
      const lie = this.options.fault
      let valid = result.valid && result.journalDigest === body.journalDigest
      let reason = !result.valid
        ? (result.reason ?? 'the receipt does not verify')
        : valid
          ? undefined
          : `the receipt commits to journal ${result.journalDigest}, not ${body.journalDigest}`
      if (lie === 'says-invalid') [valid, reason] = [false, 'the seal does not verify']
      if (lie === 'says-valid') [valid, reason] = [true, undefined]
      const attestation: AttestationBody = {
        jobId: body.jobId,
        imageId: body.imageId,
        receiptCid: body.receiptCid,
        receiptDigest: result.receiptDigest,
        ...(result.journalDigest !== undefined ? { journalDigest: result.journalDigest } : {}),
        verdict: valid ? 'valid' : 'invalid',
        ...(reason !== undefined ? { reason: reason.slice(0, 256) } : {}),
        verifiedAt: this.clock(),
      }
      if (valid && body.settlement !== undefined && signer !== undefined) {
        attestation.settlementSignature = await this.sign(signer, body.settlement, attestation)
        this.options.payments?.onSigned?.(
          body.jobId,
          `0x${body.settlement.jobKey}`,
          from,
          this.options.fee,
        )
      }
      this.options.onEvent?.({
        type: 'attested',
        jobId: body.jobId,
        client: from,
        verdict: attestation.verdict,
        signedSettlement: attestation.settlementSignature !== undefined,
        ms: this.clock() - started,
      })
      return { type: 'attestation', body: attestation }
    } catch (err) {
      this.options.logger.warn('verification failed to run', {
        jobId: body.jobId,
        client: from,
        error: (err as Error).message,
      })
      return decline(`verification failed to run: ${(err as Error).message}`.slice(0, 256))
    } finally {
      this.running -= 1
    }
  }

  private async sign(
    signer: SettlementSigner,
    terms: SettlementTerms,
    attestation: AttestationBody,
  ): Promise<string> {
    const signature = await signer.signSettlement({
      jobKey: `0x${terms.jobKey}`,
      root: `0x${terms.root}`,
      total: BigInt(terms.total),
      receiptDigest: `0x${attestation.receiptDigest}`,
      journalDigest: `0x${attestation.journalDigest!}`,
    })
    return signature.toLowerCase()
  }

  private check(receiptCid: string, imageId: string, from: string): Promise<CheckResult> {
    const key = `${receiptCid}:${imageId}`
    let pending = this.checked.get(key)
    if (pending === undefined) {
      pending = this.fetchAndCheck(receiptCid, imageId, from)
      this.checked.set(key, pending)
      // A failure to run is not remembered: the next request tries again.
      pending.catch(() => this.checked.delete(key))
      while (this.checked.size > 64) this.checked.delete(this.checked.keys().next().value!)
    }
    return pending
  }

  private async fetchAndCheck(
    receiptCid: string,
    imageId: string,
    from: string,
  ): Promise<CheckResult> {
    const max = this.options.maxReceiptBytes ?? DEFAULT_MAX_RECEIPT_BYTES
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of this.options.storage.get(receiptCid, {
      timeoutMs: this.options.fetchTimeoutMs ?? 30_000,
    })) {
      size += chunk.byteLength
      if (size > max)
        throw new ResourceLimitError(`receipt ${receiptCid} is over the ${max}-byte limit`)
      chunks.push(chunk)
    }
    const receipt = Buffer.concat(chunks)
    const check = await this.options.checker.checkReceipt({ receipt, imageId })
    this.options.logger.info('receipt checked', {
      receiptCid,
      client: from,
      valid: check.valid,
      segments: check.segments,
      verifyMs: check.verifyMs,
    })
    return {
      receiptDigest: sha256(receipt),
      valid: check.valid,
      ...(check.journalDigest !== undefined ? { journalDigest: check.journalDigest } : {}),
      ...(check.reason !== undefined ? { reason: check.reason } : {}),
    }
  }
}
