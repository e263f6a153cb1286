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
