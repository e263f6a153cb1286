// The side of the escrow that gets paid: a prover (or verifier) checks a job on chain before it
// offers, posts its collateral with the deal, collects the client's signed acceptances as its
// segments are credited (checking each signature), and claims: its leaf of the settlement root
// when the client settles, its acceptances when the client left it out or never settled. After
// the claim window it takes its collateral back. Every step, and every refusal, is in the ledger.

import type { PrivateKey } from '@libp2p/interface'
import type {
  Address,
  EscrowRevertError,
  Hex,
  PaymentsPlugin,
  SignedAcceptance,
} from '@wholesum/plugin-api'
import { leafInRoot, signatureProblem } from '@wholesum/escrow'
import type { ComponentLogger } from '../log/logger.ts'
import { MAX_ACCEPTANCES, PROTOCOLS, type NeedBody, type PayeeBody } from '../protocol/messages.ts'
import type { EarningRole, JobStore } from '../store/index.ts'
import { makePayee } from './payee.ts'
import type { Wire } from './wire.ts'

export interface PayeePaymentsOptions {
  readonly payments: PaymentsPlugin
  readonly store: JobStore
  readonly wire: Pick<Wire, 'request' | 'peerId'>
  readonly peerKey: PrivateKey
  readonly logger: ComponentLogger
  /** How often a job's payout is asked for while it runs (ms). */
  readonly pollMs?: number
  /** How long after a job's deadline to wait for its settlement before claiming acceptances (ms). */
  readonly settleGraceMs?: number
  readonly clock?: () => number
}

/** One job this node expects money from. */
interface Expected {
  readonly jobId: string
  readonly role: EarningRole
  readonly client: string
  readonly clientAddrs: readonly string[]
  readonly clientAccount: Address
  readonly jobKey: Hex
  readonly deadline: number
  /** The most one acceptance may be worth (the job's price per segment). */
  readonly maxAmount: bigint
  readonly segments: number
  done: boolean
}

/** The longest a prover lets a job hold its collateral after the deadline (claim window). */
const MAX_CLAIM_WINDOW_S = 30 * 86_400
/** How far past the need's deadline the escrow's deadline may be (clocks differ a little). */
const DEADLINE_SLACK_S = 15 * 60

/** Acceptances per claimAccepted transaction. */
const CLAIM_BATCH = 200

const hex = (s: string): Hex => (s.startsWith('0x') ? s : `0x${s}`) as Hex

function revertReason(err: unknown): string | undefined {
  return (err as Partial<EscrowRevertError>).reason
}

export class PayeePayments {
  private readonly options: PayeePaymentsOptions
  private readonly clock: () => number
  private readonly expected = new Map<string, Expected>()
  /** Jobs whose collateral comes back once claims close, with their escrow keys. */
  private readonly collateral = new Map<string, Hex>()
  private readonly checked = new Map<string, Promise<string | undefined>>()
  private payeeBody: Promise<PayeeBody> | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private busy = false

  constructor(options: PayeePaymentsOptions) {
    this.options = options
    this.clock = options.clock ?? Date.now
  }

  get account(): Address {
    return this.options.payments.account.toLowerCase() as Address
  }

  start(): void {
    this.resume()
    this.timer = setInterval(() => void this.tick(), this.options.pollMs ?? 5_000)
    this.timer.unref()
  }

  /**
   * After a restart: every prover deal still owed money is followed again, from its ledger row
   * and the need its job record kept; collateral not yet back is withdrawn when claims close.
   */
  private resume(): void {
    const { store } = this.options
    for (const row of store.getEarnings({ role: 'prover' })) {
      if (row.account !== this.account) continue
      const need = (store.getJob(row.jobId)?.extra as { need?: NeedBody } | undefined)?.need
      if (need?.escrow === undefined || row.counterparty === undefined) continue
      const jobKey = this.jobKeyOf(need)
      const kinds = new Set(row.txHashes.map((t) => t.kind))
      if (kinds.has('collateral') && !kinds.has('collateral-back'))
        this.collateral.set(row.jobId, jobKey)
      if (['earning', 'pending', 'partly-paid'].includes(row.status))
        this.follow(need, row.counterparty, 'prover', jobKey)
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
  }

  /** This node's account with its binding, as offers and verifier ads carry it. */
  payee(): Promise<PayeeBody> {
    this.payeeBody ??= makePayee(this.options.peerKey, this.options.wire.peerId, {
      account: this.account,
      signBinding: (peerId, issuedAt) => this.options.payments.signBinding(peerId, issuedAt),
    })
    return this.payeeBody
  }

  private jobKeyOf(need: NeedBody): Hex {
    return this.options.payments.jobKey(need.escrow!.client as Address, hex(need.jobId))
  }

  /**
   * Why this node should not work on an escrowed job, or undefined when the job is open on this
   * node's chain and escrow with the need's terms, and this node is not one of its verifiers.
   */
  needProblem(need: NeedBody): Promise<string | undefined> {
    // Keyed by the terms too: a need announced again with other escrow terms is checked again.
    const key = [
      need.jobId,
      need.rewardPerSegment,
      need.segments,
      need.deadline,
      JSON.stringify(need.escrow ?? null),
    ].join(':')
    let pending = this.checked.get(key)
    if (pending === undefined) {
      pending = this.checkNeed(need).catch(
        (err: Error) => `the escrow could not be read: ${err.message}`,
      )
      this.checked.set(key, pending)
      while (this.checked.size > 256) this.checked.delete(this.checked.keys().next().value!)
    }
    return pending
  }

  private async checkNeed(need: NeedBody): Promise<string | undefined> {
    const escrow = need.escrow
    const { payments } = this.options
    if (escrow === undefined) return undefined
    if (escrow.chainId !== payments.chainId || escrow.contract !== payments.escrow.toLowerCase())
      return `paid on chain ${escrow.chainId} at ${escrow.contract}; this node is paid on chain ${payments.chainId} at ${payments.escrow.toLowerCase()}`
    const jobKey = this.jobKeyOf(need)
    const job = await payments.getJob(jobKey)
    if (job === undefined) return 'the job is not open on the escrow'
    if (job.client.toLowerCase() !== escrow.client) return 'the escrow names another client'
    if (job.closed) return 'the job is closed on the escrow'
    if (job.segments !== need.segments) return `the escrow says ${job.segments} segments`
    if (job.pricePerSegment < BigInt(need.rewardPerSegment))
      return `the escrow pays ${job.pricePerSegment} per segment, less than the need says`
    const collateral = BigInt(escrow.collateral)
    // The escrow pays only provers that posted collateral: a need asking none would pay nothing.
    if (collateral === 0n)
      return 'the need asks no collateral, and the escrow pays only provers with some'
    if (job.claimWindow > MAX_CLAIM_WINDOW_S)
      return `the claim window (${job.claimWindow} s) would hold the collateral too long`
    const chainNow = await payments.chainTime()
    const needDeadline = chainNow + Math.ceil((need.deadline - this.clock()) / 1000)
    if (job.deadline > needDeadline + DEADLINE_SLACK_S)
      return `the escrow deadline is later than the need deadline`
    if (await payments.isJobVerifier(jobKey, this.account))
      return "this node is one of the job's verifiers"
    if (escrow.verifiers.includes(this.account)) return "this node is one of the job's verifiers"
    return undefined
  }

  /** A deal on an escrowed job: the collateral goes in, and the job's payout is followed. */
  async dealt(need: NeedBody, client: string): Promise<void> {
    const problem = await this.needProblem(need)
    if (problem !== undefined) throw new Error(`no collateral posted: ${problem}`)
    const escrow = need.escrow!
    const jobKey = this.jobKeyOf(need)
    const collateral = BigInt(escrow.collateral)
    const key = { jobId: need.jobId, role: 'prover' as const, account: this.account }
    this.options.store.upsertEarning(key, {
      peer: this.options.wire.peerId,
      counterparty: client,
      chainId: escrow.chainId,
      escrow: escrow.contract,
      status: 'earning',
    })
    if (collateral > 0n) {
      const sent = await this.options.payments.postCollateral(jobKey, collateral)
      this.options.store.upsertEarning(key, { addTx: { kind: 'collateral', hash: sent.hash } })
      this.collateral.set(need.jobId, jobKey)
    }
    this.follow(need, client, 'prover', jobKey)
  }

  /** A verifier that signed a job's settlement is owed its fee: it claims it like a prover. */
  signed(jobId: string, jobKey: Hex, client: string, fee: bigint): void {
    // Once per job: asking again (the client's second round, or anyone else) changes nothing.
    if (this.expected.has(`verifier:${jobId}`)) return
    this.options.store.upsertEarning(
      { jobId, role: 'verifier', account: this.account },
      {
        peer: this.options.wire.peerId,
        counterparty: client,
        chainId: this.options.payments.chainId,
        escrow: this.options.payments.escrow,
        earnedWei: fee.toString(),
        status: 'pending',
      },
    )
    this.expected.set(`verifier:${jobId}`, {
      jobId,
      role: 'verifier',
      client,
      // The client just dialled this verifier: the connection (or the peer store) reaches it.
      clientAddrs: [],
      clientAccount: '0x0000000000000000000000000000000000000000',
      jobKey,
      // A settlement comes right after the attestations; an hour is ample.
      deadline: this.clock() + 3_600_000,
      maxAmount: fee,
      segments: 0,
      done: false,
    })
  }

  private follow(need: NeedBody, client: string, role: EarningRole, jobKey: Hex): void {
    this.expected.set(`${role}:${need.jobId}`, {
      jobId: need.jobId,
      role,
      client,
      clientAddrs: need.clientAddrs,
      clientAccount: need.escrow!.client as Address,
      jobKey,
      deadline: need.deadline,
      maxAmount: BigInt(need.rewardPerSegment),
      segments: need.segments,
      done: false,
    })
  }

  /** Asks for every followed job's payout, then takes back collateral whose claims closed. */
  async tick(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      for (const [key, job] of this.expected) {
        if (job.done) {
          this.expected.delete(key)
          continue
        }
        await this.collect(job).catch((err) =>
          this.options.logger.warn('payout not collected', {
            jobId: job.jobId,
            error: (err as Error).message,
          }),
        )
      }
      for (const [jobId, jobKey] of this.collateral) await this.withdraw(jobId, jobKey)
    } finally {
      this.busy = false
    }
  }

  /** Asks the client for what it owes, keeps the acceptances that check out, claims when it can. */
  private async collect(job: Expected): Promise<void> {
    const { payments, store, wire, logger } = this.options
    const key = { jobId: job.jobId, role: job.role, account: this.account }
    // The chain first: a payout asked for after the settlement was seen carries its leaf (the
    // client keeps its tree before it sends the settlement), so no leaf then means left out.
    const chainJob = await payments.getJob(job.jobKey)
    const settled = chainJob !== undefined && chainJob.settledAt > 0
    let settlement: { amount: bigint; proof: Hex[]; root: Hex } | undefined
    let reachable = true
    // Acceptances already kept were checked when they came: only new ones are recovered.
    const kept = new Set(store.getAcceptances(job.jobId, this.account).map((a) => a.segment))
    // From the first segment each time: acceptances come as segments are credited, in no order,
    // so a cursor past one segment could skip an earlier one accepted later. Pages of 64, at most
    // as many as the job's segments fill: a client that says "more" forever stops there.
    let from = 0
    const maxPages = Math.ceil(job.segments / MAX_ACCEPTANCES) + 1
    try {
      for (let page = 0; page < maxPages; page++) {
        const reply = await wire.request(
          job.client,
          PROTOCOLS.payout,
          'payout-request',
          { jobId: job.jobId, from },
          { addrs: job.clientAddrs },
        )
        if (reply.type !== 'payout' || reply.body.jobId !== job.jobId) break
        const fresh: { segment: number; amountWei: string; signature: string }[] = []
        for (const a of reply.body.acceptances) {
          const amount = BigInt(a.amount)
          if (kept.has(a.segment)) continue
          if (a.segment < from || a.segment >= job.segments || amount > job.maxAmount) continue
          const problem = signatureProblem(a.signature)
          let signer: string | undefined
          if (problem === undefined) {
            signer = await payments
              .acceptanceSigner({
                jobKey: job.jobKey,
                segment: a.segment,
                prover: this.account,
                amount,
                signature: hex(a.signature),
              })
              .catch(() => undefined)
          }
          if (signer?.toLowerCase() !== job.clientAccount) {
            logger.warn('an acceptance the escrow would not take was ignored', {
              jobId: job.jobId,
              segment: a.segment,
              reason: problem ?? `signed by ${signer ?? 'nobody'}, not the job's client`,
            })
            continue
          }
          fresh.push({ segment: a.segment, amountWei: a.amount, signature: a.signature })
        }
        if (fresh.length > 0) store.addAcceptances(job.jobId, this.account, fresh)
        const leaf = reply.body.settlement
        if (leaf !== undefined)
          settlement = {
            amount: BigInt(leaf.amount),
            proof: leaf.proof.map(hex),
            root: hex(leaf.root),
          }
        const last = reply.body.acceptances.at(-1)
        if (!reply.body.more || last === undefined || last.segment + 1 <= from) break
        from = last.segment + 1
      }
    } catch {
      reachable = false
    }
    const accepted = store.getAcceptances(job.jobId, this.account)
    const earned = accepted.reduce((sum, a) => sum + BigInt(a.amountWei), 0n)
    if (job.role === 'prover')
      store.upsertEarning(key, { segments: accepted.length, earnedWei: earned.toString() })

    // A leaf is taken only when it is in the root the escrow holds, as the contract will check it.
    const usable =
      settlement !== undefined &&
      settled &&
      settlement.root.toLowerCase() === chainJob.root.toLowerCase() &&
      leafInRoot(chainJob.root, this.account, settlement.amount, settlement.proof)
    if (settlement !== undefined && settled && !usable)
      logger.warn('the client sent a settlement leaf that is not in the root on chain', {
        jobId: job.jobId,
      })
    let finished = false
    if (usable) {
      finished = await this.claimLeaf(job, settlement!)
      // Whatever the leaf paid, the acceptances are worth at least as much: claim the difference.
      if (finished && job.role === 'prover')
        await this.topUp(job, earned, 'the settlement paid less than the acceptances')
    } else if (settled && job.role === 'prover') {
      // Settled without a leaf for us that the root holds: left out, or sent a leaf that lies.
      finished = await this.claimAcceptances(
        job,
        settlement === undefined
          ? 'left out of the settlement: paid by its acceptances'
          : 'the client sent a settlement leaf not in the root: paid by its acceptances',
      )
    } else if (this.clock() > job.deadline + (this.options.settleGraceMs ?? 60_000)) {
      if (job.role === 'prover')
        finished = await this.claimAcceptances(
          job,
          reachable
            ? 'no settlement by the deadline: paid by its acceptances'
            : 'the client is gone: paid by its acceptances',
        )
      else {
        store.upsertEarning(key, { status: 'unpaid', reason: 'no settlement by the deadline' })
        finished = true
      }
    }
    if (finished) job.done = true
  }

  /** Claims what the acceptances are worth beyond what the escrow already paid this account. */
  private async topUp(job: Expected, earned: bigint, why: string): Promise<void> {
    const account = await this.options.payments.getAccount(job.jobKey, this.account)
    if (account.paid < earned) await this.claimAcceptances(job, why)
  }

  /** Resolves whether the leaf is settled for good (paid, or refused for a reason that stays). */
  private async claimLeaf(job: Expected, leaf: { amount: bigint; proof: Hex[] }): Promise<boolean> {
    const { payments, store } = this.options
    const key = { jobId: job.jobId, role: job.role, account: this.account }
    try {
      const sent = await payments.claim({
        jobKey: job.jobKey,
        payee: this.account,
        amount: leaf.amount,
        proof: leaf.proof,
      })
      store.upsertEarning(key, { addTx: { kind: 'claim', hash: sent.hash } })
      await this.recordPaid(job)
      return true
    } catch (err) {
      const reason = revertReason(err)
      if (reason === 'AlreadyClaimed') {
        await this.recordPaid(job)
        return true
      }
      store.upsertEarning(key, {
        status: 'refused',
        reason: `claim refused: ${reason ?? (err as Error).message}`,
      })
      // A refusal by the escrow stands; anything else (the RPC, a timeout) is tried again.
      return reason !== undefined
    }
  }

  /**
   * The dispute path, in batches. Resolves whether it is settled for good: paid, or nothing left
   * to claim with, or refused by the escrow; an error of the RPC is tried again next round.
   */
  private async claimAcceptances(job: Expected, why: string): Promise<boolean> {
    const { payments, store } = this.options
    const key = { jobId: job.jobId, role: job.role, account: this.account }
    const acceptances: SignedAcceptance[] = store
      .getAcceptances(job.jobId, this.account)
      .map((a) => ({
        segment: a.segment,
        amount: BigInt(a.amountWei),
        signature: hex(a.signature),
      }))
    if (acceptances.length === 0) {
      store.upsertEarning(key, {
        status: 'unpaid',
        reason: `${why}; but no acceptance was received`,
      })
      return true
    }
    let refusal: string | undefined
    // In batches: each acceptance is a signature the contract recovers (about 10k gas), and a
    // transaction must stay well inside a block's gas limit. A batch whose segments were all paid
    // already is refused (AcceptanceUsed) and the next batch still goes.
    for (let i = 0; i < acceptances.length; i += CLAIM_BATCH) {
      try {
        const sent = await payments.claimAccepted({
          jobKey: job.jobKey,
          prover: this.account,
          acceptances: acceptances.slice(i, i + CLAIM_BATCH),
        })
        store.upsertEarning(key, {
          addTx: { kind: 'claim-accepted', hash: sent.hash },
          reason: why,
        })
      } catch (err) {
        const reason = revertReason(err)
        if (reason === 'AcceptanceUsed' || reason === 'AlreadyClaimed') continue
        if (reason === undefined) return false
        refusal = reason
      }
    }
    await this.recordPaid(job)
    if (refusal !== undefined)
      store.upsertEarning(key, { reason: `${why}; the escrow refused a claim: ${refusal}` })
    return true
  }

  /** The escrow's own account of what was paid is what the ledger says. */
  private async recordPaid(job: Expected): Promise<void> {
    const account = await this.options.payments.getAccount(job.jobKey, this.account)
    const earned = BigInt(
      this.options.store
        .getEarnings({ jobId: job.jobId, role: job.role })
        .find((e) => e.account === this.account)?.earnedWei ?? '0',
    )
    this.options.store.upsertEarning(
      { jobId: job.jobId, role: job.role, account: this.account },
      {
        paidWei: account.paid.toString(),
        status: account.paid >= earned ? 'paid' : 'partly-paid',
      },
    )
  }

  private async withdraw(jobId: string, jobKey: Hex): Promise<void> {
    try {
      const sent = await this.options.payments.withdrawCollateral(jobKey)
      this.options.store.upsertEarning(
        { jobId, role: 'prover', account: this.account },
        { addTx: { kind: 'collateral-back', hash: sent.hash } },
      )
      this.collateral.delete(jobId)
    } catch (err) {
      const reason = revertReason(err)
      if (reason === 'ClaimsOpen') return
      if (reason === 'NothingToWithdraw') this.collateral.delete(jobId)
      else
        this.options.logger.warn('collateral not withdrawn', {
          jobId,
          error: (err as Error).message,
        })
    }
  }
}
