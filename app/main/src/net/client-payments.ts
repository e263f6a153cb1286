// The client's side of the escrow: opens a job with its budget and verifier set before the need
// goes out, takes only offers whose account is bound to the offering peer and is neither its own
// nor a verifier's, signs an acceptance for every credited segment, answers payout requests, and
// once a quorum attested the final receipt, settles one Merkle root of what every payee earned.
// After the claim window it takes back what nobody claimed. Everything it does is in the ledger.

import {
  isWholesumError,
  type Address,
  type Hex,
  type PaymentsPlugin,
  type SignerSignature,
} from '@wholesum/plugin-api'
import {
  signatureProblem,
  settlementTree,
  type Payout,
  type SettlementTree,
} from '@wholesum/escrow'
import type { ComponentLogger } from '../log/logger.ts'
import type { VerifierAd, VerifierBook } from '../pipeline/verifier-book.ts'
import {
  MAX_ACCEPTANCES,
  type MessageOf,
  type NeedEscrow,
  type PayeeBody,
  type PayoutBody,
} from '../protocol/messages.ts'
import type { JobStore } from '../store/index.ts'
import { payeeProblem } from './payee.ts'
import type { Reply } from './wire.ts'

export interface ClientPaymentsPolicy {
  /** Verifiers named per job (the escrow's verifier set). */
  readonly verifiers: number
  readonly quorum: number
  /** The most one verifier may ask, wei. */
  readonly maxVerifierFee?: bigint
  /** What each dealt prover must post, wei (above 0: the escrow pays only provers with collateral). */
  readonly collateral: bigint
  /** Seconds after the deadline (or the settlement, if later) that claims stay open. */
  readonly claimWindowS: number
  /** How long to wait for enough verifiers to advertise (ms). */
  readonly waitMs?: number
  /** How often to try the refunds of jobs whose claims may have closed (ms). */
  readonly refundPollMs?: number
}

export interface ClientPaymentsOptions {
  readonly payments: PaymentsPlugin
  readonly store: JobStore
  readonly logger: ComponentLogger
  readonly policy: ClientPaymentsPolicy
  /** This node's peer ID: never its own verifier. */
  readonly self: string
  readonly clock?: () => number
  /** Test-only: leave this prover out of the settlement root (it must claim with acceptances). */
  readonly omitFromSettlement?: string
  /** Test-only: answer this prover's payout with a leaf that is not in the root. */
  readonly forgeLeafOf?: string
}

/** A job paid through the escrow, as the client keeps it (also in the job's `extra.escrow`). */
interface EscrowedJob {
  readonly jobKey: Hex
  readonly need: NeedEscrow
  readonly verifiers: readonly VerifierAd[]
  readonly verifierFee: bigint
  /** Dealt provers' accounts, by peer ID. */
  readonly provers: Map<string, Address>
  /** Accounts named by offers not yet answered, by peer ID (kept only for a deal). */
  readonly offered: Map<string, Address>
  /** Acceptances being signed. */
  readonly signing: Set<Promise<void>>
  tree?: SettlementTree
}

/** An escrowed job as its `extra.escrow` keeps it, so that a restarted client carries on. */
interface PersistedEscrow {
  readonly jobKey: Hex
  readonly need: NeedEscrow
  readonly verifiers: readonly {
    peer: string
    fee: string
    capacity: number
    account?: string
    addrs?: readonly string[]
  }[]
  readonly verifierFee: string
  readonly provers: Readonly<Record<string, string>>
}

/** What `settle` needs from the attestation round. */
export interface SettlementInput {
  readonly jobId: string
  readonly receiptDigest: string
  readonly journalDigest: string
  /** Verifiers whose valid attestation agreed with the client's own check. */
  readonly agreeing: readonly string[]
  /** Asks the named verifiers to sign the settlement; resolves each one's signature, if any. */
  readonly askToSign: (
    verifiers: readonly VerifierAd[],
    terms: { jobKey: string; root: string; total: bigint },
  ) => Promise<Map<string, string>>
}

const hex = (s: string): Hex => (s.startsWith('0x') ? s : `0x${s}`) as Hex
const bare = (h: string): string => h.replace(/^0x/, '').toLowerCase()

export class ClientPayments {
  private readonly options: ClientPaymentsOptions
  private readonly jobs = new Map<string, EscrowedJob>()
  private readonly clock: () => number
  private refundTimer: ReturnType<typeof setInterval> | undefined
  private refunding = false

  constructor(options: ClientPaymentsOptions) {
    this.options = options
    this.clock = options.clock ?? Date.now
  }

  get payments(): PaymentsPlugin {
    return this.options.payments
  }

  /** Tries the refunds of locked budgets now and then: the escrow refuses until claims close. */
  start(): void {
    this.refundTimer = setInterval(
      () => void this.refundDue(),
      this.options.policy.refundPollMs ?? 30_000,
    )
    this.refundTimer.unref()
  }

  stop(): void {
    if (this.refundTimer !== undefined) clearInterval(this.refundTimer)
  }

  /** The quorum of a verifier set of `size`. */
  quorum(size: number): number {
    return Math.min(this.options.policy.quorum, size)
  }

  isEscrowed(jobId: string): boolean {
    return this.jobs.has(jobId)
  }

  /** The job's verifiers (named at opening): they, and only they, attest to its receipt. */
  verifiersOf(jobId: string): readonly VerifierAd[] | undefined {
    return this.jobs.get(jobId)?.verifiers
  }

  /**
   * Picks the job's verifiers at random among those advertising an account that the escrow has
   * registered, and opens the job with a budget covering every segment at the price and every
   * verifier's fee. Resolves with what the need carries.
   */
  async open(
    job: { jobId: string; segments: number; rewardPerSegment: bigint; deadline: number },
    book: VerifierBook,
    signal?: AbortSignal,
  ): Promise<NeedEscrow> {
    // Opened before a restart (the client executes an interrupted job again): carry on with it.
    if (this.jobs.has(job.jobId) || this.restore(job.jobId)) return this.jobs.get(job.jobId)!.need
    const { payments, policy, store } = this.options
    const account = payments.account.toLowerCase()
    const waitUntil = this.clock() + (policy.waitMs ?? 30_000)
    const registered = new Map<string, boolean>()
    let picked: VerifierAd[] = []
    for (;;) {
      signal?.throwIfAborted()
      const eligible = book.recent(this.clock()).filter((ad) => ad.account !== undefined)
      for (const ad of eligible) {
        if (!registered.has(ad.account!))
          registered.set(ad.account!, await payments.isActiveVerifier(ad.account as Address))
      }
      picked = book.pick({
        count: policy.verifiers,
        now: this.clock(),
        exclude: new Set([this.options.self]),
        excludeAccounts: new Set([
          account,
          ...[...registered].filter(([, active]) => !active).map(([a]) => a),
        ]),
        needAccount: true,
        ...(policy.maxVerifierFee !== undefined ? { maxFee: policy.maxVerifierFee } : {}),
      })
      if (picked.length >= policy.verifiers || this.clock() >= waitUntil) break
      await new Promise((r) => setTimeout(r, 250))
    }
    if (picked.length < policy.quorum) {
      throw new Error(
        `only ${picked.length} registered verifier(s) advertised; the escrow needs a quorum of ${policy.quorum}`,
      )
    }
    const verifierFee = picked.reduce((max, v) => (v.fee > max ? v.fee : max), 0n)
    const verifiers = picked.map((v) => v.account!.toLowerCase()).sort() as Address[]
    const budget =
      BigInt(job.segments) * job.rewardPerSegment + BigInt(verifiers.length) * verifierFee
    // The escrow's deadline in the chain's time: as far from the chain's clock as the job's
    // deadline is from ours (a chain's clock may run ahead of or behind this machine's).
    const chainNow = await payments.chainTime()
    const opened = await payments.openJob(
      {
        jobId: hex(job.jobId),
        deadline: chainNow + Math.max(1, Math.ceil((job.deadline - this.clock()) / 1000)),
        claimWindow: policy.claimWindowS,
        segments: job.segments,
        quorum: Math.min(policy.quorum, verifiers.length),
        pricePerSegment: job.rewardPerSegment,
        verifierFee,
        verifiers,
      },
      budget,
      signal !== undefined ? { signal } : {},
    )
    const need: NeedEscrow = {
      chainId: payments.chainId,
      contract: payments.escrow.toLowerCase(),
      client: account,
      collateral: policy.collateral.toString(),
      verifiers,
    }
    this.jobs.set(job.jobId, {
      jobKey: opened.jobKey,
      need,
      verifiers: picked,
      verifierFee,
      provers: new Map(),
      offered: new Map(),
      signing: new Set(),
    })
    this.persist(job.jobId)
    store.upsertEarning(
      { jobId: job.jobId, role: 'client', account },
      {
        chainId: payments.chainId,
        escrow: payments.escrow,
        earnedWei: budget.toString(),
        status: 'locked',
        addTx: { kind: 'open', hash: opened.hash },
      },
    )
    this.options.logger.info('job opened on the escrow', {
      jobId: job.jobId,
      jobKey: opened.jobKey,
      budget: budget.toString(),
      verifiers: picked.map((v) => v.peer),
      gasUsed: opened.gasUsed.toString(),
    })
    return need
  }

  /** Why an offer for an escrowed job cannot get a deal, or undefined when it can. */
  async offerProblem(
    jobId: string,
    from: string,
    payee: PayeeBody | undefined,
  ): Promise<string | undefined> {
    const job = this.jobs.get(jobId)
    if (job === undefined) return undefined
    if (payee === undefined) return 'this job pays through the escrow: an offer names its payee'
    const problem = await payeeProblem(from, payee)
    if (problem !== undefined) return `the payee binding does not hold: ${problem}`
    const account = payee.account.toLowerCase()
    if (account === job.need.client) return "the payee is the client's own account"
    if (job.need.verifiers.includes(account) || job.verifiers.some((v) => v.peer === from))
      return "the payee is one of the job's verifiers"
    for (const [peer, known] of job.provers)
      if (known === account && peer !== from) return 'another prover is paid to this account'
    job.offered.delete(from)
    job.offered.set(from, account as Address)
    while (job.offered.size > 1024) job.offered.delete(job.offered.keys().next().value!)
    return undefined
  }

  /** The client made a deal with `prover`: the account its offer named is the one it is paid to. */
  dealt(jobId: string, prover: string): void {
    const job = this.jobs.get(jobId)
    const account = job?.offered.get(prover)
    if (job === undefined || account === undefined || job.provers.get(prover) === account) return
    job.provers.set(prover, account)
    this.persist(jobId)
  }

  /** Writes the job's escrow state into its `extra`, beside what the client keeps there. */
  private persist(jobId: string): void {
    const job = this.jobs.get(jobId)
    const store = this.options.store
    const record = store.getJob(jobId)
    if (job === undefined || record === undefined) return
    const escrow: PersistedEscrow = {
      jobKey: job.jobKey,
      need: job.need,
      verifiers: job.verifiers.map((v) => ({
        peer: v.peer,
        fee: v.fee.toString(),
        capacity: v.capacity,
        ...(v.account !== undefined ? { account: v.account } : {}),
        ...(v.addrs !== undefined ? { addrs: [...v.addrs] } : {}),
      })),
      verifierFee: job.verifierFee.toString(),
      provers: Object.fromEntries(job.provers),
    }
    store.updateJob(jobId, {
      extra: { ...record.extra, escrow: JSON.parse(JSON.stringify(escrow)) },
    })
  }

  /**
   * Takes an escrowed job back after a restart, from its `extra.escrow`: its verifiers, its
   * provers' accounts, and its settlement if it was made. Returns whether the job is escrowed.
   */
  restore(jobId: string): boolean {
    const extra = this.options.store.getJob(jobId)?.extra as
      | { escrow?: PersistedEscrow; settlement?: { payouts: { payee: string; amount: string }[] } }
      | undefined
    const saved = extra?.escrow
    if (saved === undefined) return false
    const job: EscrowedJob = {
      jobKey: saved.jobKey,
      need: saved.need,
      verifiers: saved.verifiers.map((v) => ({
        peer: v.peer,
        fee: BigInt(v.fee),
        capacity: v.capacity,
        ...(v.account !== undefined ? { account: v.account } : {}),
        ...(v.addrs !== undefined ? { addrs: v.addrs } : {}),
        at: 0,
      })),
      verifierFee: BigInt(saved.verifierFee),
      provers: new Map(Object.entries(saved.provers) as [string, Address][]),
      offered: new Map(),
      signing: new Set(),
    }
    const payouts = extra?.settlement?.payouts
    if (payouts !== undefined && payouts.length > 0)
      job.tree = settlementTree(
        payouts.map((p) => ({ payee: p.payee as Address, amount: BigInt(p.amount) })),
      )
    this.jobs.set(jobId, job)
    return true
  }

  /**
   * After a restart: every segment credited before it gets its acceptance, if its signing was cut
   * short (the credit was in the store, the acceptance not yet).
   */
  acceptMissing(
    jobId: string,
    credited: readonly { prover: string; segment: number; amount: bigint }[],
  ): void {
    const job = this.jobs.get(jobId)
    if (job === undefined) return
    for (const { prover, segment, amount } of credited) {
      const account = job.provers.get(prover)
      if (account === undefined) continue
      const have = this.options.store
        .getAcceptances(jobId, account)
        .some((a) => a.segment === segment)
      if (!have)
        void this.accept(jobId, prover, segment, amount).catch((err: Error) =>
          this.options.logger.warn('acceptance not signed', { jobId, segment, error: err.message }),
        )
    }
  }

  /** Signs the acceptance of a credited segment; the prover fetches it with its payout. */
  accept(jobId: string, prover: string, segment: number, amount: bigint): Promise<void> {
    const job = this.jobs.get(jobId)
    const account = job?.provers.get(prover)
    if (job === undefined || account === undefined) return Promise.resolve()
    const signing = this.sign(job, jobId, account, segment, amount)
    // The settlement waits for every acceptance being signed: its root sums them.
    job.signing.add(signing)
    void signing.finally(() => job.signing.delete(signing)).catch(() => {})
    return signing
  }

  private async sign(
    job: EscrowedJob,
    jobId: string,
    account: Address,
    segment: number,
    amount: bigint,
  ): Promise<void> {
    const signature = await this.options.payments.signAcceptance({
      jobKey: job.jobKey,
      segment,
      prover: account,
      amount,
    })
    this.options.store.addAcceptances(jobId, account, [
      { segment, amountWei: amount.toString(), signature },
    ])
  }

  /** A payee asks for its acceptances and, once settled, its leaf of the root. */
  onPayoutRequest(message: MessageOf<'payout-request'>, from: string): Reply {
    const { jobId, from: first } = message.body
    // A job that finished before a restart is not running, but its payees may still ask.
    const job = this.jobs.get(jobId) ?? (this.restore(jobId) ? this.jobs.get(jobId) : undefined)
    if (job === undefined)
      return { type: 'decline', body: { jobId, reason: 'no escrowed job of that ID here' } }
    const account =
      job.provers.get(from) ??
      (job.verifiers.find((v) => v.peer === from)?.account as Address | undefined)
    if (account === undefined)
      return { type: 'decline', body: { jobId, reason: 'nothing is owed to this peer' } }
    const rows = this.options.store.getAcceptances(jobId, account, {
      ...(first > 0 ? { after: first - 1 } : {}),
      limit: MAX_ACCEPTANCES + 1,
    })
    const body: PayoutBody = {
      jobId,
      acceptances: rows.slice(0, MAX_ACCEPTANCES).map((r) => ({
        segment: r.segment,
        amount: r.amountWei,
        signature: r.signature.toLowerCase(),
      })),
      more: rows.length > MAX_ACCEPTANCES,
    }
    const tree = job.tree
    if (tree !== undefined && tree.payouts.some((p) => p.payee.toLowerCase() === account)) {
      const leaf = tree.proof(account)
      const forged = this.options.forgeLeafOf === from
      body.settlement = {
        root: bare(tree.root),
        amount: (forged ? leaf.amount * 10n : leaf.amount).toString(),
        proof: leaf.proof.map(bare),
      }
    }
    return { type: 'payout', body }
  }

  /**
   * One root for the whole job: each prover's accepted amounts and each agreeing verifier's fee,
   * signed by this client and by at least a quorum of the job's verifiers, sent to the escrow.
   * A settlement that cannot be made (too few signatures, a refusal) is recorded and leaves the
   * provers their acceptances (the dispute path).
   */
  async settle(input: SettlementInput): Promise<void> {
    const job = this.jobs.get(input.jobId)
    if (job === undefined) return
    const { payments, store, logger } = this.options
    await Promise.allSettled([...job.signing])
    const payouts: Payout[] = []
    for (const [peer, account] of job.provers) {
      if (peer === this.options.omitFromSettlement) continue
      const amount = store
        .getAcceptances(input.jobId, account)
        .reduce((sum, a) => sum + BigInt(a.amountWei), 0n)
      if (amount > 0n) payouts.push({ payee: account, amount })
    }
    const signers = job.verifiers.filter((v) => input.agreeing.includes(v.peer))
    for (const v of signers) payouts.push({ payee: v.account as Address, amount: v.fee })
    const clientAccount = payments.account.toLowerCase()
    const fail = (reason: string): void => {
      logger.warn('settlement not made', { jobId: input.jobId, reason })
      store.upsertEarning(
        { jobId: input.jobId, role: 'client', account: clientAccount },
        { reason: `no settlement: ${reason}` },
      )
    }
    if (payouts.length === 0) return fail('nobody earned anything')
    const tree = settlementTree(payouts)
    const settlement = {
      jobKey: job.jobKey,
      root: tree.root,
      total: tree.total,
      receiptDigest: hex(input.receiptDigest),
      journalDigest: hex(input.journalDigest),
    }
    const signatures = await input.askToSign(signers, {
      jobKey: bare(job.jobKey),
      root: bare(tree.root),
      total: tree.total,
    })
    const verifierSignatures: SignerSignature[] = []
    for (const v of signers) {
      const signature = signatures.get(v.peer)
      if (signature === undefined) continue
      // A signature the contract would refuse (high s, v not 27/28) or that does not parse would
      // make the whole settlement revert: it is left out, as if never given.
      const problem = signatureProblem(signature)
      const signer =
        problem === undefined
          ? await payments
              .settlementSigner({ ...settlement, signature: hex(signature) })
              .catch(() => undefined)
          : undefined
      if (signer === undefined || signer.toLowerCase() !== v.account) {
        logger.warn('a verifier signed the settlement with another key', {
          jobId: input.jobId,
          verifier: v.peer,
          signer: signer ?? problem ?? 'unreadable',
        })
        continue
      }
      verifierSignatures.push({ signer, signature: hex(signature) })
    }
    const quorum = Math.min(this.options.policy.quorum, job.verifiers.length)
    if (verifierSignatures.length < quorum)
      return fail(`${verifierSignatures.length} verifier signature(s), the quorum is ${quorum}`)
    const clientSignature = await payments.signSettlement(settlement)
    // Kept before it is sent: a payee that sees the settlement on chain and asks for its leaf
    // must get it, or it would take itself for left out.
    job.tree = tree
    try {
      const sent = await payments.settle({
        ...settlement,
        clientSignature,
        verifierSignatures: verifierSignatures.slice(0, quorum),
      })
      store.updateJob(input.jobId, {
        extra: {
          ...(store.getJob(input.jobId)?.extra ?? {}),
          settlement: {
            root: tree.root,
            payouts: tree.payouts.map((p) => ({ payee: p.payee, amount: p.amount.toString() })),
          },
        },
      })
      store.upsertEarning(
        { jobId: input.jobId, role: 'client', account: clientAccount },
        { addTx: { kind: 'settle', hash: sent.hash }, reason: null },
      )
      logger.info('job settled on the escrow', {
        jobId: input.jobId,
        root: tree.root,
        total: tree.total.toString(),
        payees: tree.payouts.length,
        gasUsed: sent.gasUsed.toString(),
      })
    } catch (err) {
      // Mined after all (a receipt wait that failed)? Then the tree stands.
      const onChain = await payments.getJob(job.jobKey).catch(() => undefined)
      if (onChain?.root.toLowerCase() !== tree.root.toLowerCase()) job.tree = undefined
      fail(isWholesumError(err) ? err.message : String(err))
    }
  }

  /** Refunds every locked budget whose claims closed; the escrow refuses the others for free. */
  async refundDue(): Promise<void> {
    if (this.refunding) return
    this.refunding = true
    try {
      await this.refundLocked()
    } catch (err) {
      this.options.logger.warn('refunds not tried', { error: (err as Error).message })
    } finally {
      this.refunding = false
    }
  }

  private async refundLocked(): Promise<void> {
    const { payments, store, logger } = this.options
    const account = payments.account.toLowerCase()
    for (const row of store.getEarnings({ role: 'client', status: ['locked'] })) {
      if (row.account !== account) continue
      const jobKey = payments.jobKey(account as Address, hex(row.jobId))
      try {
        const before = await payments.getJob(jobKey)
        if (before === undefined) continue
        const sent = await payments.refund(jobKey)
        store.upsertEarning(
          { jobId: row.jobId, role: 'client', account },
          {
            status: 'refunded',
            paidWei: (before.budget - before.paid).toString(),
            addTx: { kind: 'refund', hash: sent.hash },
          },
        )
        logger.info('budget refunded', {
          jobId: row.jobId,
          amount: (before.budget - before.paid).toString(),
        })
      } catch (err) {
        const reason = (err as { reason?: string }).reason
        if (reason === 'ClaimsOpen') continue
        if (reason === 'JobClosed') {
          // Anyone may send a refund; the escrow sent it to this client already.
          store.upsertEarning(
            { jobId: row.jobId, role: 'client', account },
            { status: 'refunded', reason: 'refunded by a transaction someone else sent' },
          )
          continue
        }
        logger.warn('refund failed', { jobId: row.jobId, error: (err as Error).message })
      }
    }
  }
}
