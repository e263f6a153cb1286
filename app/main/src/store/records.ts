// The shapes the job store keeps: jobs, segments, deals, receipts, events and a prover's work.

export const JOB_ROLES = ['client', 'prover'] as const
export type JobRole = (typeof JOB_ROLES)[number]

export const JOB_STATUSES = [
  'executing',
  'proving',
  'joining',
  'assembling',
  'verifying',
  'done',
  'failed',
  'cancelled',
] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

/** A job in one of these states is finished; a restarted node resumes none of its work. */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['done', 'failed', 'cancelled']

export const SEGMENT_STATUSES = ['open', 'claimed', 'proved'] as const
export type SegmentStatus = (typeof SEGMENT_STATUSES)[number]

export const DEAL_STATUSES = ['active', 'revoked', 'expired'] as const
export type DealStatus = (typeof DEAL_STATUSES)[number]

export const RECEIPT_KINDS = ['segment', 'succinct', 'composite'] as const
export type ReceiptKind = (typeof RECEIPT_KINDS)[number]

/** The prover's units of work: prove a segment, lift it, join a pair, wrap in a SNARK. */
export const WORK_STAGES = ['prove', 'lift', 'join', 'snark'] as const
export type WorkStage = (typeof WORK_STAGES)[number]

export const WORK_STATUSES = ['proving', 'proved', 'notified', 'failed'] as const
export type WorkStatus = (typeof WORK_STATUSES)[number]

export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue }
export type JsonObject = { readonly [key: string]: JsonValue }

/**
 * One job, on the client that owns it (`role: 'client'`) or on a prover working for it
 * (`role: 'prover'`, with `clientPeer`). Times are ms since the epoch; IDs are lowercase hex.
 */
export interface JobRecord {
  readonly jobId: string
  readonly role: JobRole
  readonly imageId: string
  readonly programCid: string
  readonly inputCid: string
  readonly manifestCid?: string
  readonly po2: number
  /** How many segments the execution made. */
  readonly segments: number
  readonly status: JobStatus
  /** Decimal string in the payment token's base unit. */
  readonly rewardPerSegment: string
  readonly deadline: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly error?: string
  readonly receiptCid?: string
  readonly journalCid?: string
  readonly stdoutCid?: string
  readonly stderrCid?: string
  readonly logsCid?: string
  /** The job's owner, on a prover's row: whom to notify. */
  readonly clientPeer?: string
  readonly nonce: string
  /** Whatever else the engine needs to restore this job; JSON. */
  readonly extra: JsonObject
}

/** What `createJob` takes: `createdAt` defaults to now, `updatedAt` to `createdAt`. */
export type NewJob = Omit<JobRecord, 'createdAt' | 'updatedAt' | 'extra'> & {
  readonly createdAt?: number
  readonly extra?: JsonObject
}

/** Fields `updateJob` may change; `null` clears an optional field. */
export interface JobPatch {
  readonly status?: JobStatus
  readonly segments?: number
  readonly deadline?: number
  readonly manifestCid?: string | null
  readonly error?: string | null
  readonly receiptCid?: string | null
  readonly journalCid?: string | null
  readonly stdoutCid?: string | null
  readonly stderrCid?: string | null
  readonly logsCid?: string | null
  readonly extra?: JsonObject
  /** Default: the store's clock. */
  readonly updatedAt?: number
}

export interface JobFilter {
  readonly role?: JobRole
  /** Any of these statuses; an empty list matches nothing. */
  readonly status?: readonly JobStatus[]
}

export interface SegmentRecord {
  readonly jobId: string
  readonly idx: number
  readonly segmentCid: string
  /** Digest of the claim the client computed when it executed the job; a receipt must match it. */
  readonly expectedClaim: string
  readonly status: SegmentStatus
  readonly claimedBy?: string
  readonly claimExpires?: number
  readonly receiptCid?: string
  readonly provedBy?: string
  readonly provedAt?: number
  /** Claims made on this segment. */
  readonly attempts: number
  /** Receipts for this segment that were rejected. */
  readonly rejects: number
}

/** A segment as `createJob` takes it; it starts open, with no attempts and no rejects. */
export interface NewSegment {
  readonly idx: number
  readonly segmentCid: string
  readonly expectedClaim: string
}

/** Fields `updateSegment` may change; `null` clears an optional field. */
export interface SegmentPatch {
  readonly segmentCid?: string
  readonly expectedClaim?: string
  readonly status?: SegmentStatus
  readonly claimedBy?: string | null
  readonly claimExpires?: number | null
  readonly receiptCid?: string | null
  readonly provedBy?: string | null
  readonly provedAt?: number | null
  readonly attempts?: number
  readonly rejects?: number
}

export interface ProvedDelivery {
  readonly receiptCid: string
  readonly prover: string
  /** Default: the store's clock. */
  readonly at?: number
}

export interface DealRecord {
  readonly jobId: string
  readonly prover: string
  readonly pricePerSegment: string
  readonly signedAt: number
  readonly expires: number
  readonly status: DealStatus
  /** Receipts from this prover that were rejected. */
  readonly strikes: number
  /** Segments credited to this prover (first valid delivery). */
  readonly accepted: number
}

/** What `upsertDeal` takes; an update keeps the deal's strikes and accepted counts. */
export interface DealInput {
  readonly jobId: string
  readonly prover: string
  readonly pricePerSegment: string
  readonly signedAt: number
  readonly expires: number
  /** Default `active`. */
  readonly status?: DealStatus
}

export interface ReceiptRecord {
  readonly receiptCid: string
  readonly jobId: string
  readonly kind: ReceiptKind
  readonly idx?: number
  readonly prover?: string
  readonly verified: boolean
  readonly createdAt: number
}

/** What `addReceipt` takes: `createdAt` defaults to now. */
export type NewReceipt = Omit<ReceiptRecord, 'createdAt'> & { readonly createdAt?: number }

export interface EventRecord {
  readonly id: number
  readonly jobId: string
  readonly at: number
  readonly type: string
  readonly data: JsonValue
}

export interface EventQuery {
  /** Only events after this ID (exclusive); IDs grow with every append. */
  readonly afterId?: number
  /** At most this many events; default 1000. */
  readonly limit?: number
}

/** One unit of a prover's work for a job, keyed by (jobId, stage, idx). */
export interface WorkRecord {
  readonly jobId: string
  readonly stage: WorkStage
  /** Segment index for prove/lift; the engine's node number in the join tree for join. */
  readonly idx: number
  readonly status: WorkStatus
  readonly receiptCid?: string
  readonly startedAt: number
  /** When the work was proved or failed. */
  readonly finishedAt?: number
  readonly error?: string
}

export type WorkOutcome =
  | { readonly status: 'proved'; readonly receiptCid: string; readonly at?: number }
  | { readonly status: 'failed'; readonly error: string; readonly at?: number }
  | { readonly status: 'notified' }

/**
 * What a pin is kept for. `work`: what proving a job needs (program, input, segments, manifest, a
 * prover's delivered receipts); `output`: what the job owner gets (receipt, journal, stdout,
 * stderr, events).
 */
export const PIN_CLASSES = ['work', 'output'] as const
export type PinClass = (typeof PIN_CLASSES)[number]

/** A CID this node pinned in its storage for a job, and when it let go of it. */
export interface PinRecord {
  readonly jobId: string
  readonly cid: string
  readonly class: PinClass
  readonly pinnedAt: number
  readonly releasedAt?: number
}

/** An unreleased pin with what retention needs to know about its job. */
export interface HeldPin extends PinRecord {
  /**
   * When the job stopped needing it: a finished job's last update, a prover's job whose deadline
   * passed, or (for a job no longer in the store) when it was pinned. Undefined: still running.
   */
  readonly endedAt: number | undefined
  /** The job's role, when the job is still in the store. */
  readonly role: JobRole | undefined
}

/** Who a ledger row is about: a prover or verifier paid by the escrow, or the client that funds it. */
export const EARNING_ROLES = ['prover', 'verifier', 'client'] as const
export type EarningRole = (typeof EARNING_ROLES)[number]

/** Where a prover's or verifier's pay stands (docs/payments.md, "The earnings ledger"). */
export const PAYEE_EARNING_STATUSES = [
  'earning',
  'pending',
  'paid',
  'partly-paid',
  'slashed',
  'refused',
  'unpaid',
] as const
/** Where a client's budget stands: locked in the escrow, or refunded after the claim window. */
export const CLIENT_EARNING_STATUSES = ['locked', 'refunded'] as const
export const EARNING_STATUSES = [...PAYEE_EARNING_STATUSES, ...CLIENT_EARNING_STATUSES] as const
export type EarningStatus = (typeof EARNING_STATUSES)[number]
/** Statuses whose unpaid remainder (earned − paid − slashed) is still expected. */
export const PENDING_EARNING_STATUSES: readonly EarningStatus[] = [
  'earning',
  'pending',
  'partly-paid',
]

/** A transaction that moved this row's money: `kind` is what it did (`open`, `claim`, `refund`…). */
export interface EarningTx {
  readonly kind: string
  /** 0x and 64 lowercase hex digits. */
  readonly hash: string
}

/** One row of the ledger's key: one party of one job, by its EVM account. */
export interface EarningKey {
  readonly jobId: string
  readonly role: EarningRole
  /** EVM address; stored as 0x and 40 lowercase hex digits. */
  readonly account: string
}

/**
 * What one party earned, is owed, was paid or lost in one job. Amounts are decimal strings of wei.
 * For the client, `earnedWei` is the budget it locked and `paidWei` what was refunded.
 */
export interface EarningRecord extends EarningKey {
  /** The party's libp2p peer ID. */
  readonly peer?: string
  /** For a prover or verifier, the client's peer ID; a client's row has none. */
  readonly counterparty?: string
  readonly chainId?: number
  /** The escrow contract's address. */
  readonly escrow?: string
  /** Segments accepted (a prover's row only). */
  readonly segments?: number
  /** What the work is worth (accepted segments × price, or the verifier fee); the client's budget. */
  readonly earnedWei: string
  /** Received so far; for the client, refunded. */
  readonly paidWei: string
  readonly slashedWei: string
  readonly status: EarningStatus
  /** Why, in words, when not paid. */
  readonly reason?: string
  /** In the order they were recorded. */
  readonly txHashes: readonly EarningTx[]
  readonly createdAt: number
  readonly updatedAt: number
}

/**
 * What `upsertEarning` may set; `null` clears an optional field. A new row starts `earning` (a
 * client's `locked`), with zero amounts and, for a prover, zero segments.
 */
export interface EarningPatch {
  readonly peer?: string | null
  readonly counterparty?: string | null
  readonly chainId?: number | null
  readonly escrow?: string | null
  readonly segments?: number
  readonly earnedWei?: string
  readonly paidWei?: string
  readonly slashedWei?: string
  readonly status?: EarningStatus
  readonly reason?: string | null
  /** Appended to `txHashes` unless that hash is already there. */
  readonly addTx?: EarningTx
}

export interface EarningFilter {
  readonly jobId?: string
  readonly role?: EarningRole
  /** Any of these statuses; an empty list matches nothing. */
  readonly status?: readonly EarningStatus[]
}

/** One role's sums over the matching rows, decimal strings of wei. */
export interface EarningSums {
  readonly entries: number
  readonly earnedWei: string
  readonly paidWei: string
  readonly slashedWei: string
  /** earned − paid − slashed (never below zero) of rows still `earning`, `pending` or `partly-paid`. */
  readonly pendingWei: string
}

export type EarningTotals = Readonly<Record<EarningRole, EarningSums>>

/** The client's EIP-712 acceptance of one segment, as a prover received it (or a client signed it). */
export interface AcceptanceRecord {
  readonly jobId: string
  readonly segment: number
  /** The prover's EVM address, lowercase. */
  readonly account: string
  readonly amountWei: string
  /** 0x and 130 lowercase hex digits (r, s, v). */
  readonly signature: string
  readonly receivedAt: number
}

/** What `addAcceptances` takes for each segment. */
export interface NewAcceptance {
  readonly segment: number
  readonly amountWei: string
  readonly signature: string
}

export interface AcceptanceQuery {
  /** Only segments above this one (exclusive). */
  readonly after?: number
  /** At most this many; default all. */
  readonly limit?: number
}

export const ATTESTATION_VERDICTS = ['valid', 'invalid'] as const
export type AttestationVerdict = (typeof ATTESTATION_VERDICTS)[number]

/** What one verifier said about a job's final receipt, with the signed message it came in. */
export interface AttestationRecord {
  readonly jobId: string
  /** The verifier's peer ID. */
  readonly verifier: string
  /** The verifier's EVM address, lowercase, when it gave one. */
  readonly account?: string
  readonly verdict: AttestationVerdict
  /** SHA-256 of the receipt's bytes: 64 lowercase hex digits (a 0x given is dropped). */
  readonly receiptDigest: string
  readonly journalDigest?: string
  readonly reason?: string
  /** The verifier's signature over the job's Settlement, once it gave one. */
  readonly settlementSignature?: string
  /** The signed message exactly as received, so its signature can be checked again later. */
  readonly envelope: Uint8Array
  /** Whether the verdict agreed with the client's own check; absent when the client made none. */
  readonly agrees?: boolean
  readonly receivedAt: number
}

/** What `putAttestation` takes: optional fields may be left out or null; `receivedAt` defaults to now. */
export interface NewAttestation {
  readonly jobId: string
  readonly verifier: string
  readonly account?: string | null
  readonly verdict: AttestationVerdict
  readonly receiptDigest: string
  readonly journalDigest?: string | null
  readonly reason?: string | null
  readonly settlementSignature?: string | null
  readonly envelope: Uint8Array
  readonly agrees?: boolean | null
  readonly receivedAt?: number
}
