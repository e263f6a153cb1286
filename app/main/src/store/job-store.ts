// The persistent job store: one SQLite file (WAL, synchronous=FULL) holding what a restart must resume.

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import { InvalidInputError, NotFoundError } from '@wholesum/plugin-api'
import { JobStoreError, sqliteCode, storeFailure } from './errors.ts'
import {
  DEAL_STATUSES,
  JOB_ROLES,
  JOB_STATUSES,
  PIN_CLASSES,
  RECEIPT_KINDS,
  SEGMENT_STATUSES,
  TERMINAL_JOB_STATUSES,
  WORK_STAGES,
  type AcceptanceQuery,
  type AcceptanceRecord,
  type AttestationRecord,
  type DealInput,
  type DealRecord,
  type EarningFilter,
  type EarningKey,
  type EarningPatch,
  type EarningRecord,
  type EarningTotals,
  type EventQuery,
  type EventRecord,
  type HeldPin,
  type JobFilter,
  type JobPatch,
  type JobRecord,
  type JsonValue,
  type NewAcceptance,
  type NewAttestation,
  type NewJob,
  type NewReceipt,
  type NewSegment,
  type PinClass,
  type PinRecord,
  type ProvedDelivery,
  type ReceiptRecord,
  type SegmentPatch,
  type SegmentRecord,
  type SegmentStatus,
  type WorkOutcome,
  type WorkRecord,
  type WorkStage,
} from './records.ts'
import {
  toDeal,
  toEvent,
  toHeldPin,
  toJob,
  toPin,
  toReceipt,
  toSegment,
  toWork,
  type Row,
} from './rows.ts'
import { PaymentLedger } from './ledger.ts'
import { migrate } from './schema.ts'
import * as check from './validate.ts'

export interface JobStoreOptions {
  /** How long a write waits for another connection's lock before failing with BUSY (ms). Default 5000. */
  readonly busyTimeoutMs?: number
  /** The clock for times a caller leaves out (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number
  /**
   * Run SQLite's `quick_check` on open and refuse a damaged file (CORRUPT) before anything is
   * written to it. Default true; it reads the whole file (about 50 ms for 27 MiB here).
   */
  readonly check?: boolean
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000
const DEFAULT_EVENT_PAGE = 1000
const MAX_EVENT_PAGE = 100_000
const SQLITE_CONSTRAINT = 19

/** Columns `updateJob` may set, with how to check a value; `null` clears the optional ones. */
const JOB_PATCH: Readonly<Record<keyof JobPatch, (value: unknown, what: string) => SQLInputValue>> =
  {
    status: (v, w) => check.oneOf(v, JOB_STATUSES, w),
    segments: (v, w) => check.count(v, w),
    deadline: (v, w) => check.time(v, w),
    manifestCid: (v, w) => (v === null ? null : check.cid(v, w)),
    error: (v, w) => (v === null ? null : check.errorText(v, w)),
    receiptCid: (v, w) => (v === null ? null : check.cid(v, w)),
    journalCid: (v, w) => (v === null ? null : check.cid(v, w)),
    stdoutCid: (v, w) => (v === null ? null : check.cid(v, w)),
    stderrCid: (v, w) => (v === null ? null : check.cid(v, w)),
    logsCid: (v, w) => (v === null ? null : check.cid(v, w)),
    extra: (v, w) => check.jsonObject(v, w),
    updatedAt: (v, w) => check.time(v, w),
  }

const SEGMENT_PATCH: Readonly<
  Record<keyof SegmentPatch, (value: unknown, what: string) => SQLInputValue>
> = {
  segmentCid: (v, w) => check.cid(v, w),
  expectedClaim: (v, w) => check.hex(v, w),
  status: (v, w) => check.oneOf(v, SEGMENT_STATUSES, w),
  claimedBy: (v, w) => (v === null ? null : check.peer(v, w)),
  claimExpires: (v, w) => (v === null ? null : check.time(v, w)),
  receiptCid: (v, w) => (v === null ? null : check.cid(v, w)),
  provedBy: (v, w) => (v === null ? null : check.peer(v, w)),
  provedAt: (v, w) => (v === null ? null : check.time(v, w)),
  attempts: (v, w) => check.count(v, w),
  rejects: (v, w) => check.count(v, w),
}

function hasOwn<T extends object>(table: T, key: string): key is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(table, key)
}

/** Checks a patch against its column table; returns the columns (sorted) and their values. */
function patchColumns(
  table: Readonly<Record<string, (value: unknown, what: string) => SQLInputValue>>,
  patch: object,
  what: string,
): { columns: string[]; values: SQLInputValue[] } {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new InvalidInputError('INVALID_INPUT', `${what} must be an object`)
  }
  const entries = Object.entries(patch)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1))
  const columns: string[] = []
  const values: SQLInputValue[] = []
  for (const [key, value] of entries) {
    if (!hasOwn(table, key)) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `${what}.${key} cannot be changed (changeable: ${Object.keys(table).join(', ')})`,
      )
    }
    const checkValue = table[key]
    if (checkValue === undefined) continue
    columns.push(key)
    values.push(checkValue(value, `${what}.${key}`))
  }
  return { columns, values }
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/**
 * Jobs, their segments, deals, receipts and event log, and a prover's work, in one SQLite file.
 * Every method is synchronous and returns only once its change is durable (WAL, synchronous=FULL),
 * so a caller may acknowledge what the store has accepted. Several JobStores (in one process or
 * several) may share a file: writes take SQLite's write lock and wait up to the busy timeout.
 */
/** Validates a client's segment records for job `jobId` of `count` segments; returns SQL rows. */
function segmentRows(
  jobId: string,
  count: number,
  segments: readonly NewSegment[],
): SQLInputValue[][] {
  const seen = new Set<number>()
  return segments.map((segment, i): SQLInputValue[] => {
    const idx = check.count(segment.idx, `segments[${i}].idx`)
    if (idx >= count) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `segments[${i}].idx is ${idx}, but job ${jobId} has only ${count} segments`,
      )
    }
    if (seen.has(idx)) {
      throw new InvalidInputError('INVALID_INPUT', `segments[${i}].idx ${idx} appears twice`)
    }
    seen.add(idx)
    return [
      jobId,
      idx,
      check.cid(segment.segmentCid, `segments[${i}].segmentCid`),
      check.hex(segment.expectedClaim, `segments[${i}].expectedClaim`),
    ]
  })
}

export class JobStore implements Disposable {
  /** The file, as given to `open`. */
  readonly path: string
  readonly #db: DatabaseSync
  readonly #now: () => number
  readonly #statements = new Map<string, StatementSync>()
  readonly #version: number
  readonly #ledger: PaymentLedger
  #depth = 0
  #closed = false

  private constructor(path: string, db: DatabaseSync, version: number, now: () => number) {
    this.path = path
    this.#db = db
    this.#version = version
    this.#now = now
    this.#ledger = new PaymentLedger({
      path,
      stmt: (sql) => this.#stmt(sql),
      guard: (doing, fn) => this.#guard(doing, fn),
      transaction: (fn) => this.transaction(fn),
      clock: () => this.#clock(),
    })
  }

  /**
   * Opens (creating if needed) the store at `path`, upgrading an older schema. Fails with a
   * JobStoreError when the file is not an SQLite database, belongs to another program, or was
   * written by a newer Wholesum. `':memory:'` gives a private in-memory store (for tests).
   */
  static open(path: string, options: JobStoreOptions = {}): JobStore {
    if (typeof path !== 'string' || path.length === 0) {
      throw new InvalidInputError('INVALID_INPUT', 'job store path must be a non-empty string')
    }
    const busyTimeoutMs = check.count(
      options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      'busyTimeoutMs',
    )
    const now = options.now ?? Date.now
    const inMemory = path === ':memory:'
    if (!inMemory) {
      try {
        mkdirSync(dirname(path), { recursive: true })
      } catch (err) {
        throw new JobStoreError(
          'CANNOT_OPEN',
          path,
          `cannot create the folder of job store ${path}: ${(err as Error).message}`,
          { cause: err },
        )
      }
    }
    let db: DatabaseSync
    try {
      db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true })
    } catch (err) {
      throw storeFailure(err, path, 'opening')
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`)
      const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.['journal_mode']
      if (!inMemory && mode !== 'wal') {
        throw new JobStoreError(
          'FAILED',
          path,
          `job store ${path} cannot use write-ahead logging (journal mode stays ${String(mode)}); is it on a network file system?`,
        )
      }
      db.exec('PRAGMA synchronous = FULL')
      db.exec('PRAGMA foreign_keys = ON')
      if (options.check ?? true) quickCheck(db, path)
      const version = migrate(db, path, check.time(now(), 'clock'))
      return new JobStore(path, db, version, now)
    } catch (err) {
      db.close()
      throw storeFailure(err, path, 'opening')
    }
  }

  /** The schema version of the file (this build's SCHEMA_VERSION once opened). */
  get schemaVersion(): number {
    return this.#version
  }

  /** The connection's settings as SQLite reports them (for diagnostics and tests). */
  pragmas(): {
    journalMode: string
    synchronous: number
    foreignKeys: boolean
    busyTimeoutMs: number
  } {
    return this.#guard('reading settings', () => {
      const read = (name: string): unknown => {
        const row = this.#stmt(`PRAGMA ${name}`).get()
        return row === undefined ? undefined : Object.values(row)[0]
      }
      return {
        journalMode: String(read('journal_mode')),
        synchronous: Number(read('synchronous')),
        foreignKeys: Number(read('foreign_keys')) === 1,
        busyTimeoutMs: Number(read('busy_timeout')),
      }
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Closes the file; later calls fail with a CLOSED JobStoreError. Closing twice is harmless. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#statements.clear()
    this.#db.close()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /**
   * Runs `fn` as one atomic unit: all its writes land, or none. Nests (inner calls become
   * savepoints). `fn` must be synchronous; a promise returned from it is refused, because its
   * later writes would escape the transaction.
   */
  transaction<T>(fn: () => T): T {
    return this.#guard('running a transaction', () => {
      const db = this.#open()
      const depth = this.#depth
      const savepoint = `wholesum_${depth}`
      db.exec(depth === 0 ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`)
      this.#depth = depth + 1
      let result: T
      try {
        result = fn()
        if (isThenable(result)) {
          throw new TypeError('JobStore.transaction takes a synchronous function, got a promise')
        }
      } catch (err) {
        this.#depth = depth
        if (db.isTransaction) {
          db.exec(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`)
        }
        throw err
      }
      this.#depth = depth
      try {
        db.exec(depth === 0 ? 'COMMIT' : `RELEASE ${savepoint}`)
      } catch (err) {
        if (depth === 0 && db.isTransaction) db.exec('ROLLBACK')
        throw err
      }
      return result
    })
  }

  // ---- jobs ----

  /** Records a job with all its segments, atomically. Fails if the job ID exists. */
  createJob(job: NewJob, segments: readonly NewSegment[] = []): JobRecord {
    const jobId = check.hex(job.jobId, 'job.jobId')
    const role = check.oneOf(job.role, JOB_ROLES, 'job.role')
    const count = check.count(job.segments, 'job.segments')
    const createdAt =
      job.createdAt === undefined ? this.#clock() : check.time(job.createdAt, 'job.createdAt')
    const clientPeer =
      job.clientPeer === undefined ? null : check.peer(job.clientPeer, 'job.clientPeer')
    if (role === 'prover' && clientPeer === null) {
      throw new InvalidInputError('INVALID_INPUT', `job.clientPeer is required on a prover's job`)
    }
    const values: SQLInputValue[] = [
      jobId,
      role,
      check.hex(job.imageId, 'job.imageId'),
      check.cid(job.programCid, 'job.programCid'),
      check.cid(job.inputCid, 'job.inputCid'),
      optional(job.manifestCid, (v) => check.cid(v, 'job.manifestCid')),
      check.po2(job.po2, 'job.po2'),
      count,
      check.oneOf(job.status, JOB_STATUSES, 'job.status'),
      check.decimal(job.rewardPerSegment, 'job.rewardPerSegment'),
      check.time(job.deadline, 'job.deadline'),
      createdAt,
      createdAt,
      optional(job.error, (v) => check.errorText(v, 'job.error')),
      optional(job.receiptCid, (v) => check.cid(v, 'job.receiptCid')),
      optional(job.journalCid, (v) => check.cid(v, 'job.journalCid')),
      optional(job.stdoutCid, (v) => check.cid(v, 'job.stdoutCid')),
      optional(job.stderrCid, (v) => check.cid(v, 'job.stderrCid')),
      optional(job.logsCid, (v) => check.cid(v, 'job.logsCid')),
      clientPeer,
      check.nonce(job.nonce, 'job.nonce'),
      check.jsonObject(job.extra ?? {}, 'job.extra'),
    ]
    if (!Array.isArray(segments)) {
      throw new InvalidInputError('INVALID_INPUT', 'segments must be an array')
    }
    if (
      role === 'client'
        ? segments.length !== count
        : segments.length !== 0 && segments.length !== count
    ) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `job ${jobId} has ${count} segments but ${segments.length} segment records were given` +
          (role === 'client'
            ? ' (a client knows every segment it executed)'
            : ' (give none or all)'),
      )
    }
    const rows = segmentRows(jobId, count, segments)
    return this.transaction(() => {
      if (this.#stmt('SELECT 1 FROM jobs WHERE jobId = ?').get(jobId) !== undefined) {
        throw new InvalidInputError('INVALID_INPUT', `job ${jobId} already exists`)
      }
      this.#stmt(
        `INSERT INTO jobs (jobId, role, imageId, programCid, inputCid, manifestCid, po2, segments,
           status, rewardPerSegment, deadline, createdAt, updatedAt, error, receiptCid, journalCid,
           stdoutCid, stderrCid, logsCid, clientPeer, nonce, extra)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(...values)
      const insert = this.#stmt(
        'INSERT INTO segments (jobId, idx, segmentCid, expectedClaim) VALUES (?, ?, ?, ?)',
      )
      for (const row of rows) insert.run(...row)
      return this.#job(jobId)
    })
  }

  /**
   * A client job created while it was still executing gets its segments once execution is done,
   * with its manifest, atomically; it moves on to `proving`. Fails unless the job is a client job
   * in `executing` with no segments yet.
   */
  recordExecution(jobId: string, manifestCid: string, segments: readonly NewSegment[]): JobRecord {
    const id = check.hex(jobId, 'jobId')
    const cid = check.cid(manifestCid, 'manifestCid')
    if (!Array.isArray(segments)) {
      throw new InvalidInputError('INVALID_INPUT', 'segments must be an array')
    }
    const rows = segmentRows(id, segments.length, segments)
    return this.transaction(() => {
      const job = this.#job(id)
      if (job.role !== 'client' || job.status !== 'executing' || job.segments !== 0) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `job ${id} is a ${job.role} job in ${job.status} with ${job.segments} segments; ` +
            'only an executing client job without segments takes its execution',
        )
      }
      const insert = this.#stmt(
        'INSERT INTO segments (jobId, idx, segmentCid, expectedClaim) VALUES (?, ?, ?, ?)',
      )
      for (const row of rows) insert.run(...row)
      this.#stmt(
        `UPDATE jobs SET segments = ?, manifestCid = ?, status = 'proving', updatedAt = ? WHERE jobId = ?`,
      ).run(segments.length, cid, this.#clock(), id)
      return this.#job(id)
    })
  }

  getJob(jobId: string): JobRecord | undefined {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('reading a job', () => {
      const row = this.#stmt('SELECT * FROM jobs WHERE jobId = ?').get(id)
      return row === undefined ? undefined : toJob(this.path, row)
    })
  }

  /** Jobs, oldest first, optionally only one role and any of some statuses. */
  listJobs(filter: JobFilter = {}): JobRecord[] {
    const role =
      filter.role === undefined ? null : check.oneOf(filter.role, JOB_ROLES, 'filter.role')
    let statuses: string | null = null
    if (filter.status !== undefined) {
      if (!Array.isArray(filter.status)) {
        throw new InvalidInputError('INVALID_INPUT', 'filter.status must be an array of statuses')
      }
      statuses = JSON.stringify(
        filter.status.map((s, i) => check.oneOf(s, JOB_STATUSES, `filter.status[${i}]`)),
      )
    }
    return this.#guard('listing jobs', () =>
      this.#stmt(
        `SELECT * FROM jobs
         WHERE (?1 IS NULL OR role = ?1)
           AND (?2 IS NULL OR status IN (SELECT value FROM json_each(?2)))
         ORDER BY createdAt, jobId`,
      )
        .all(role, statuses)
        .map((row) => toJob(this.path, row)),
    )
  }

  /** Changes some of a job's fields and stamps `updatedAt`; returns the job as stored. */
  updateJob(jobId: string, patch: JobPatch): JobRecord {
    const id = check.hex(jobId, 'jobId')
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new InvalidInputError('INVALID_INPUT', 'patch must be an object')
    }
    const stamped = { ...patch, updatedAt: patch.updatedAt ?? this.#clock() }
    const { columns, values } = patchColumns(JOB_PATCH, stamped, 'patch')
    return this.transaction(() => {
      const set = columns.map((c) => `${c} = ?`).join(', ')
      const { changes } = this.#stmt(`UPDATE jobs SET ${set} WHERE jobId = ?`).run(...values, id)
      if (changes === 0) throw new NotFoundError(`job ${id} not found`)
      return this.#job(id)
    })
  }

  /** Forgets a job and everything recorded for it (segments, deals, receipts, events, work). */
  deleteJob(jobId: string): boolean {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('deleting a job', () => {
      const { changes } = this.#stmt('DELETE FROM jobs WHERE jobId = ?').run(id)
      return changes > 0
    })
  }

  // ---- segments ----

  /** A job's segments by index; empty for an unknown job. */
  getSegments(jobId: string): SegmentRecord[] {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('reading segments', () =>
      this.#stmt('SELECT * FROM segments WHERE jobId = ? ORDER BY idx')
        .all(id)
        .map((row) => toSegment(this.path, row)),
    )
  }

  getSegment(jobId: string, idx: number): SegmentRecord | undefined {
    const id = check.hex(jobId, 'jobId')
    const index = check.count(idx, 'idx')
    return this.#guard('reading a segment', () => {
      const row = this.#stmt('SELECT * FROM segments WHERE jobId = ? AND idx = ?').get(id, index)
      return row === undefined ? undefined : toSegment(this.path, row)
    })
  }

  /** How many of a job's segments are open, claimed and proved. */
  segmentCounts(jobId: string): Record<SegmentStatus, number> {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('counting segments', () => {
      const counts: Record<SegmentStatus, number> = { open: 0, claimed: 0, proved: 0 }
      const rows = this.#stmt(
        'SELECT status, count(*) AS n FROM segments WHERE jobId = ? GROUP BY status',
      ).all(id)
      for (const row of rows) {
        const status = check.oneOf(row['status'], SEGMENT_STATUSES, 'segments.status')
        counts[status] = Number(row['n'])
      }
      return counts
    })
  }

  /**
   * Sets some of a segment's fields as given (no rules applied); returns the segment as stored.
   * To credit a delivery use `markProved`, which enforces first-writer-wins.
   */
  updateSegment(jobId: string, idx: number, patch: SegmentPatch): SegmentRecord {
    const id = check.hex(jobId, 'jobId')
    const index = check.count(idx, 'idx')
    const { columns, values } = patchColumns(SEGMENT_PATCH, patch, 'patch')
    return this.transaction(() => {
      if (columns.length > 0) {
        const set = columns.map((c) => `${c} = ?`).join(', ')
        this.#stmt(`UPDATE segments SET ${set} WHERE jobId = ? AND idx = ?`).run(
          ...values,
          id,
          index,
        )
      }
      return this.#segment(id, index)
    })
  }

  /**
   * Credits the first valid delivery of a segment: marks it proved by `prover` with that receipt,
   * and counts it on the prover's deal (if there is one), atomically. Returns false, changing
   * nothing, when the segment was already proved (by anyone), so a second delivery earns nothing.
   */
  markProved(jobId: string, idx: number, delivery: ProvedDelivery): boolean {
    const id = check.hex(jobId, 'jobId')
    const index = check.count(idx, 'idx')
    const receiptCid = check.cid(delivery.receiptCid, 'delivery.receiptCid')
    const prover = check.peer(delivery.prover, 'delivery.prover')
    const at = delivery.at === undefined ? this.#clock() : check.time(delivery.at, 'delivery.at')
    return this.transaction(() => {
      const { changes } = this.#stmt(
        `UPDATE segments SET status = 'proved', receiptCid = ?, provedBy = ?, provedAt = ?, claimExpires = NULL
         WHERE jobId = ? AND idx = ? AND status != 'proved'`,
      ).run(receiptCid, prover, at, id, index)
      if (changes === 0) {
        this.#segment(id, index)
        return false
      }
      this.#stmt('UPDATE deals SET accepted = accepted + 1 WHERE jobId = ? AND prover = ?').run(
        id,
        prover,
      )
      return true
    })
  }

  // ---- deals ----

  /** Records a signed deal, or updates its terms and status; strikes and accepted counts stay. */
  upsertDeal(deal: DealInput): DealRecord {
    const id = check.hex(deal.jobId, 'deal.jobId')
    const prover = check.peer(deal.prover, 'deal.prover')
    const values: SQLInputValue[] = [
      id,
      prover,
      check.decimal(deal.pricePerSegment, 'deal.pricePerSegment'),
      check.time(deal.signedAt, 'deal.signedAt'),
      check.time(deal.expires, 'deal.expires'),
      check.oneOf(deal.status ?? 'active', DEAL_STATUSES, 'deal.status'),
    ]
    return this.transaction(() => {
      this.#child(id, () =>
        this.#stmt(
          `INSERT INTO deals (jobId, prover, pricePerSegment, signedAt, expires, status)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (jobId, prover) DO UPDATE SET pricePerSegment = excluded.pricePerSegment,
             signedAt = excluded.signedAt, expires = excluded.expires, status = excluded.status`,
        ).run(...values),
      )
      return this.#deal(id, prover)
    })
  }

  /** A job's deals, in the order they were signed. */
  getDeals(jobId: string): DealRecord[] {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('reading deals', () =>
      this.#stmt('SELECT * FROM deals WHERE jobId = ? ORDER BY signedAt, prover')
        .all(id)
        .map((row) => toDeal(this.path, row)),
    )
  }

  /**
   * Records a rejected receipt against a prover's deal and returns its strikes. With `idx`, also
   * counts the reject on that segment. What a rejection does to claims is the work ledger's rule
   * (`pipeline/work-ledger.ts`); the client records its outcome with `updateSegment`.
   */
  strike(jobId: string, prover: string, idx?: number): number {
    const id = check.hex(jobId, 'jobId')
    const by = check.peer(prover, 'prover')
    const index = idx === undefined ? undefined : check.count(idx, 'idx')
    return this.transaction(() => {
      const row = this.#stmt(
        'UPDATE deals SET strikes = strikes + 1 WHERE jobId = ? AND prover = ? RETURNING strikes',
      ).get(id, by)
      if (row === undefined) throw new NotFoundError(`no deal with ${by} on job ${id}`)
      if (index !== undefined) {
        this.#segment(id, index)
        this.#stmt('UPDATE segments SET rejects = rejects + 1 WHERE jobId = ? AND idx = ?').run(
          id,
          index,
        )
      }
      return check.count(row['strikes'], 'deals.strikes')
    })
  }

  // ---- receipts ----

  /** Records a receipt; returns false (changing nothing) if its CID is already recorded. */
  addReceipt(receipt: NewReceipt): boolean {
    const id = check.hex(receipt.jobId, 'receipt.jobId')
    const values: SQLInputValue[] = [
      check.cid(receipt.receiptCid, 'receipt.receiptCid'),
      id,
      check.oneOf(receipt.kind, RECEIPT_KINDS, 'receipt.kind'),
      optional(receipt.idx, (v) => check.count(v, 'receipt.idx')),
      optional(receipt.prover, (v) => check.peer(v, 'receipt.prover')),
      check.boolean(receipt.verified, 'receipt.verified') ? 1 : 0,
      receipt.createdAt === undefined
        ? this.#clock()
        : check.time(receipt.createdAt, 'receipt.createdAt'),
    ]
    return this.#guard('adding a receipt', () =>
      this.#child(id, () => {
        const { changes } = this.#stmt(
          `INSERT INTO receipts (receiptCid, jobId, kind, idx, prover, verified, createdAt)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (receiptCid) DO NOTHING`,
        ).run(...values)
        return changes > 0
      }),
    )
  }

  getReceipt(receiptCid: string): ReceiptRecord | undefined {
    const cid = check.cid(receiptCid, 'receiptCid')
    return this.#guard('reading a receipt', () => {
      const row = this.#stmt('SELECT * FROM receipts WHERE receiptCid = ?').get(cid)
      return row === undefined ? undefined : toReceipt(this.path, row)
    })
  }

  /** A job's receipts, oldest first. */
  getReceipts(jobId: string): ReceiptRecord[] {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('reading receipts', () =>
      this.#stmt('SELECT * FROM receipts WHERE jobId = ? ORDER BY createdAt, receiptCid')
        .all(id)
        .map((row) => toReceipt(this.path, row)),
    )
  }

  setReceiptVerified(receiptCid: string, verified: boolean): void {
    const cid = check.cid(receiptCid, 'receiptCid')
    const flag = check.boolean(verified, 'verified') ? 1 : 0
    this.#guard('marking a receipt', () => {
      const { changes } = this.#stmt('UPDATE receipts SET verified = ? WHERE receiptCid = ?').run(
        flag,
        cid,
      )
      if (changes === 0) throw new NotFoundError(`receipt ${cid} not found`)
    })
  }

  // ---- events ----

  /** Appends to a job's event log; returns the event's ID (IDs only grow). */
  appendEvent(jobId: string, type: string, data: JsonValue = null, at?: number): number {
    const id = check.hex(jobId, 'jobId')
    const values: SQLInputValue[] = [
      id,
      at === undefined ? this.#clock() : check.time(at, 'at'),
      check.eventType(type, 'type'),
      check.json(data, 'data'),
    ]
    return this.#guard('appending an event', () =>
      this.#child(id, () =>
        Number(
          this.#stmt('INSERT INTO events (jobId, at, type, data) VALUES (?, ?, ?, ?)').run(
            ...values,
          ).lastInsertRowid,
        ),
      ),
    )
  }

  /** A job's events in the order they were appended, a page at a time (see EventQuery). */
  events(jobId: string, query: EventQuery = {}): EventRecord[] {
    const id = check.hex(jobId, 'jobId')
    const afterId = query.afterId === undefined ? 0 : check.count(query.afterId, 'query.afterId')
    const limit =
      query.limit === undefined ? DEFAULT_EVENT_PAGE : check.count(query.limit, 'query.limit')
    if (limit > MAX_EVENT_PAGE) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `query.limit must be at most ${MAX_EVENT_PAGE}; got ${limit}`,
      )
    }
    return this.#guard('reading events', () =>
      this.#stmt('SELECT * FROM events WHERE jobId = ? AND id > ? ORDER BY id LIMIT ?')
        .all(id, afterId, limit)
        .map((row) => toEvent(this.path, row)),
    )
  }

  // ---- prover work ----

  /**
   * Records that this prover started a unit of work (or restarts one that was interrupted or
   * failed). Returns false, changing nothing, when that work is already proved or notified.
   */
  startWork(jobId: string, stage: WorkStage, idx: number, startedAt?: number): boolean {
    const id = check.hex(jobId, 'jobId')
    const kind = check.oneOf(stage, WORK_STAGES, 'stage')
    const index = check.count(idx, 'idx')
    const at = startedAt === undefined ? this.#clock() : check.time(startedAt, 'startedAt')
    return this.transaction(() =>
      this.#child(id, () => {
        const { changes } = this.#stmt(
          `INSERT INTO prover_work (jobId, stage, idx, status, startedAt) VALUES (?, ?, ?, 'proving', ?)
           ON CONFLICT (jobId, stage, idx) DO UPDATE SET status = 'proving',
             startedAt = excluded.startedAt, finishedAt = NULL, error = NULL, receiptCid = NULL
           WHERE status IN ('proving', 'failed')`,
        ).run(id, kind, index, at)
        return changes > 0
      }),
    )
  }

  /**
   * Ends a unit of work: `proved` (with its receipt) or `failed` from `proving`, then `notified`
   * once the client has the notice. Any other step is refused. Returns the work as stored.
   */
  finishWork(jobId: string, stage: WorkStage, idx: number, outcome: WorkOutcome): WorkRecord {
    const id = check.hex(jobId, 'jobId')
    const kind = check.oneOf(stage, WORK_STAGES, 'stage')
    const index = check.count(idx, 'idx')
    const status = check.oneOf(outcome.status, ['proved', 'failed', 'notified'], 'outcome.status')
    const at =
      outcome.status === 'notified' || outcome.at === undefined
        ? this.#clock()
        : check.time(outcome.at, 'outcome.at')
    const receiptCid =
      outcome.status === 'proved' ? check.cid(outcome.receiptCid, 'outcome.receiptCid') : null
    const error =
      outcome.status === 'failed' ? check.errorText(outcome.error, 'outcome.error') : null
    return this.transaction(() => {
      const current = this.#work(id, kind, index)
      const from = status === 'notified' ? ['proved', 'notified'] : ['proving']
      if (!from.includes(current.status)) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `work ${kind} ${index} of job ${id} is ${current.status}; it cannot become ${status}`,
        )
      }
      if (status === 'notified') {
        this.#stmt(
          `UPDATE prover_work SET status = 'notified' WHERE jobId = ? AND stage = ? AND idx = ?`,
        ).run(id, kind, index)
      } else {
        this.#stmt(
          `UPDATE prover_work SET status = ?, receiptCid = ?, error = ?, finishedAt = ?
           WHERE jobId = ? AND stage = ? AND idx = ?`,
        ).run(status, receiptCid, error, at, id, kind, index)
      }
      return this.#work(id, kind, index)
    })
  }

  /** A job's units of work, by stage and index. */
  getWork(jobId: string): WorkRecord[] {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('reading work', () =>
      this.#stmt('SELECT * FROM prover_work WHERE jobId = ? ORDER BY stage, idx')
        .all(id)
        .map((row) => toWork(this.path, row)),
    )
  }

  /**
   * What a restarted prover resumes, oldest first: work still `proving` (interrupted: prove it
   * again) and work `proved` but not `notified` (send the notice again), of jobs not finished.
   */
  pendingWork(): WorkRecord[] {
    const terminal = JSON.stringify(TERMINAL_JOB_STATUSES)
    return this.#guard('reading pending work', () =>
      this.#stmt(
        `SELECT w.* FROM prover_work w JOIN jobs j ON j.jobId = w.jobId
         WHERE w.status IN ('proving', 'proved')
           AND j.status NOT IN (SELECT value FROM json_each(?))
         ORDER BY w.startedAt, w.jobId, w.stage, w.idx`,
      )
        .all(terminal)
        .map((row) => toWork(this.path, row)),
    )
  }

  // ---- pins ----

  /**
   * Records that `cids` were pinned for a job, atomically. Pinning a CID again for the same job
   * makes it held again; a CID recorded as both keeps the longer-lived class (`output`).
   */
  recordPins(jobId: string, pinClass: PinClass, cids: readonly string[], at?: number): void {
    const id = check.hex(jobId, 'jobId')
    const klass = check.oneOf(pinClass, PIN_CLASSES, 'pinClass')
    const checked = cids.map((c, i) => check.cid(c, `cids[${i}]`))
    const pinnedAt = at === undefined ? this.#clock() : check.time(at, 'at')
    this.transaction(() =>
      this.#guard('recording pins', () => {
        this.#job(id)
        const insert = this.#stmt(
          `INSERT INTO pins (jobId, cid, class, pinnedAt) VALUES (?, ?, ?, ?)
           ON CONFLICT (jobId, cid) DO UPDATE SET
             releasedAt = NULL,
             pinnedAt = excluded.pinnedAt,
             class = CASE WHEN pins.class = 'output' THEN 'output' ELSE excluded.class END`,
        )
        for (const cid of checked) insert.run(id, cid, klass, pinnedAt)
      }),
    )
  }

  /** A job's pins, held and released, in the order they were pinned. */
  getPins(jobId: string): PinRecord[] {
    const id = check.hex(jobId, 'jobId')
    return this.#guard('reading pins', () =>
      this.#stmt('SELECT * FROM pins WHERE jobId = ? ORDER BY pinnedAt, cid')
        .all(id)
        .map((row) => toPin(this.path, row)),
    )
  }

  /**
   * Every pin not yet released, with when its job stopped needing it (see HeldPin.endedAt): a
   * finished job's last update; a prover's unfinished job once its deadline passed (`now`); the
   * pin's own time for a job no longer in the store.
   */
  heldPins(now: number): HeldPin[] {
    const at = check.time(now, 'now')
    const terminal = JSON.stringify(TERMINAL_JOB_STATUSES)
    return this.#guard('reading held pins', () =>
      this.#stmt(
        `SELECT p.*, j.role AS role,
           CASE
             WHEN j.jobId IS NULL THEN p.pinnedAt
             WHEN j.status IN (SELECT value FROM json_each(?)) THEN j.updatedAt
             WHEN j.role = 'prover' AND j.deadline <= ? THEN j.deadline
           END AS endedAt
         FROM pins p LEFT JOIN jobs j ON j.jobId = p.jobId
         WHERE p.releasedAt IS NULL
         ORDER BY p.jobId, p.pinnedAt, p.cid`,
      )
        .all(terminal, at)
        .map((row) => toHeldPin(this.path, row)),
    )
  }

  /**
   * Marks a job's pins released and says which of the CIDs no other job still holds: only those
   * may be unpinned from storage (two jobs can share a program, or an output).
   */
  releasePins(jobId: string, cids: readonly string[], at?: number): string[] {
    const id = check.hex(jobId, 'jobId')
    const checked = cids.map((c, i) => check.cid(c, `cids[${i}]`))
    const releasedAt = at === undefined ? this.#clock() : check.time(at, 'at')
    return this.transaction(() =>
      this.#guard('releasing pins', () => {
        const release = this.#stmt(
          'UPDATE pins SET releasedAt = ? WHERE jobId = ? AND cid = ? AND releasedAt IS NULL',
        )
        const heldElsewhere = this.#stmt(
          'SELECT 1 FROM pins WHERE cid = ? AND jobId != ? AND releasedAt IS NULL LIMIT 1',
        )
        const free: string[] = []
        for (const cid of checked) {
          if (release.run(releasedAt, id, cid).changes === 0) continue
          if (heldElsewhere.get(cid, id) === undefined) free.push(cid)
        }
        return free
      }),
    )
  }

  // ---- payments: earnings, acceptances, attestations (see ledger.ts) ----

  /**
   * Creates or changes the ledger row of one party of a job: the patch's fields are set (null
   * clears one), `addTx` is appended once. A new row starts `earning` (a client's: `locked`).
   */
  upsertEarning(key: EarningKey, patch: EarningPatch): EarningRecord {
    return this.#ledger.upsertEarning(key, patch)
  }

  /** Ledger rows, newest first, optionally of one job, one role and any of some statuses. */
  getEarnings(filter?: EarningFilter): EarningRecord[] {
    return this.#ledger.getEarnings(filter)
  }

  /** Per role, sums of earned, paid, slashed and still pending wei over the rows `filter` picks. */
  earningTotals(filter?: EarningFilter): EarningTotals {
    return this.#ledger.earningTotals(filter)
  }

  /** Keeps the client's acceptances of `account`'s segments; returns how many were new. */
  addAcceptances(jobId: string, account: string, list: readonly NewAcceptance[]): number {
    return this.#ledger.addAcceptances(jobId, account, list)
  }

  /** A job's acceptances by segment, of one account if given, after a segment and up to a limit. */
  getAcceptances(jobId: string, account?: string, options?: AcceptanceQuery): AcceptanceRecord[] {
    return this.#ledger.getAcceptances(jobId, account, options)
  }

  /** Records (or replaces) what a verifier attested about a job's final receipt. */
  putAttestation(record: NewAttestation): AttestationRecord {
    return this.#ledger.putAttestation(record)
  }

  /** A job's attestations, in the order they were received. */
  getAttestations(jobId: string): AttestationRecord[] {
    return this.#ledger.getAttestations(jobId)
  }

  /** Keeps a verifier's Settlement signature with its attestation; NotFoundError without one. */
  setAttestationSignature(jobId: string, verifier: string, signature: string): AttestationRecord {
    return this.#ledger.setAttestationSignature(jobId, verifier, signature)
  }

  // ---- internals ----

  #open(): DatabaseSync {
    if (this.#closed)
      throw new JobStoreError('CLOSED', this.path, `job store ${this.path} is closed`)
    return this.#db
  }

  #stmt(sql: string): StatementSync {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#open().prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  #guard<T>(doing: string, fn: () => T): T {
    this.#open()
    try {
      return fn()
    } catch (err) {
      throw storeFailure(err, this.path, doing)
    }
  }

  /** The injected clock, checked: a clock that gives no ms-since-epoch is a programming error. */
  #clock(): number {
    return check.time(this.#now(), 'clock')
  }

  /** Runs an insert into a table that references jobs, naming the job when it does not exist. */
  #child<T>(jobId: string, fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      if (sqliteCode(err) === SQLITE_CONSTRAINT && /FOREIGN KEY/i.test((err as Error).message)) {
        throw new NotFoundError(`job ${jobId} not found`, { cause: err })
      }
      throw err
    }
  }

  #job(jobId: string): JobRecord {
    const row = this.#stmt('SELECT * FROM jobs WHERE jobId = ?').get(jobId)
    if (row === undefined) throw new NotFoundError(`job ${jobId} not found`)
    return toJob(this.path, row)
  }

  #segment(jobId: string, idx: number): SegmentRecord {
    const row: Row | undefined = this.#stmt(
      'SELECT * FROM segments WHERE jobId = ? AND idx = ?',
    ).get(jobId, idx)
    if (row === undefined) throw new NotFoundError(`segment ${idx} of job ${jobId} not found`)
    return toSegment(this.path, row)
  }

  #deal(jobId: string, prover: string): DealRecord {
    const row = this.#stmt('SELECT * FROM deals WHERE jobId = ? AND prover = ?').get(jobId, prover)
    if (row === undefined) throw new NotFoundError(`no deal with ${prover} on job ${jobId}`)
    return toDeal(this.path, row)
  }

  #work(jobId: string, stage: WorkStage, idx: number): WorkRecord {
    const row = this.#stmt(
      'SELECT * FROM prover_work WHERE jobId = ? AND stage = ? AND idx = ?',
    ).get(jobId, stage, idx)
    if (row === undefined) throw new NotFoundError(`no ${stage} work ${idx} on job ${jobId}`)
    return toWork(this.path, row)
  }
}

function optional<T>(value: T | undefined, checkValue: (value: T) => SQLInputValue): SQLInputValue {
  return value === undefined || value === null ? null : checkValue(value)
}

/** Refuses a file whose pages SQLite finds damaged, naming the first problems it reports. */
function quickCheck(db: DatabaseSync, path: string): void {
  const problems = db
    .prepare('PRAGMA quick_check(5)')
    .all()
    .map((row) => String(Object.values(row)[0]))
  if (problems.length === 1 && problems[0] === 'ok') return
  throw new JobStoreError(
    'CORRUPT',
    path,
    `job store ${path} is damaged: ${problems.join('; ')}; move it aside (with its -wal file) to start a new store`,
  )
}
