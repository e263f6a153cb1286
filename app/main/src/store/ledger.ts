// The payments ledger inside the job store: what each party of a job earned, is owed, was paid or
// lost; the client's acceptances a prover holds; what the verifiers attested. JobStore lends it its
// connection, so every write here shares the store's transactions, durability and errors.

import type { SQLInputValue, StatementSync } from 'node:sqlite'
import { InvalidInputError, NotFoundError } from '@wholesum/plugin-api'
import {
  ATTESTATION_VERDICTS,
  CLIENT_EARNING_STATUSES,
  EARNING_ROLES,
  EARNING_STATUSES,
  PAYEE_EARNING_STATUSES,
  PENDING_EARNING_STATUSES,
  type AcceptanceQuery,
  type AcceptanceRecord,
  type AttestationRecord,
  type EarningFilter,
  type EarningKey,
  type EarningPatch,
  type EarningRecord,
  type EarningRole,
  type EarningSums,
  type EarningTotals,
  type EarningTx,
  type NewAcceptance,
  type NewAttestation,
} from './records.ts'
import { toAcceptance, toAttestation, toEarning } from './rows.ts'
import * as check from './validate.ts'

/** What the ledger needs of the store that holds it. */
export interface LedgerAccess {
  readonly path: string
  /** A prepared statement (cached by the store); fails with CLOSED once the store is closed. */
  stmt(sql: string): StatementSync
  /** Runs a read, turning SQLite failures into JobStoreErrors that say what was being done. */
  guard<T>(doing: string, fn: () => T): T
  /** Runs `fn` as one atomic unit (a savepoint inside an outer transaction). */
  transaction<T>(fn: () => T): T
  /** The store's clock, checked. */
  clock(): number
}

const MAX_UINT32 = 2 ** 32 - 1
const MAX_UINT128 = (1n << 128n) - 1n

/** The columns of an earnings row that a patch or a default decides. */
interface EarningColumns {
  peer: string | null
  counterparty: string | null
  chainId: number | null
  escrow: string | null
  segments: number | null
  earnedWei: string
  paidWei: string
  slashedWei: string
  status: string
  reason: string | null
}

type PatchField = Exclude<keyof EarningPatch, 'addTx'>

/** How each patchable field is checked, for a row of `role`; `null` clears the optional ones. */
const EARNING_PATCH: Readonly<
  Record<PatchField, (value: unknown, what: string, role: EarningRole) => SQLInputValue>
> = {
  peer: (v, w) => (v === null ? null : check.peer(v, w)),
  counterparty: (v, w, role) => {
    if (v === null) return null
    if (role === 'client') {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `${w} is the client's peer on a prover's or verifier's row; a client's own row has none`,
      )
    }
    return check.peer(v, w)
  },
  chainId: (v, w) => (v === null ? null : check.chainId(v, w)),
  escrow: (v, w) => (v === null ? null : check.address(v, w)),
  segments: (v, w, role) => {
    if (role !== 'prover') {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `${w} counts a prover's accepted segments; a ${role}'s row has none`,
      )
    }
    return check.count(v, w)
  },
  earnedWei: (v, w) => check.wei(v, w),
  paidWei: (v, w) => check.wei(v, w),
  slashedWei: (v, w) => check.wei(v, w),
  status: (v, w, role) =>
    check.oneOf(v, role === 'client' ? CLIENT_EARNING_STATUSES : PAYEE_EARNING_STATUSES, w),
  reason: (v, w) => (v === null ? null : check.errorText(v, w)),
}

function isPatchField(key: string): key is PatchField {
  return Object.prototype.hasOwnProperty.call(EARNING_PATCH, key)
}

function objectOf(value: unknown, what: string): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError('INVALID_INPUT', `${what} must be an object`)
  }
  return value
}

function checkTx(value: unknown, what: string): EarningTx {
  const tx = objectOf(value, what) as { kind?: unknown; hash?: unknown }
  return {
    kind: check.txKind(tx.kind, `${what}.kind`),
    hash: check.txHash(tx.hash, `${what}.hash`),
  }
}

/** The columns of a new row of `role` before its first patch. */
function freshColumns(role: EarningRole): EarningColumns {
  return {
    peer: null,
    counterparty: null,
    chainId: null,
    escrow: null,
    segments: role === 'prover' ? 0 : null,
    earnedWei: '0',
    paidWei: '0',
    slashedWei: '0',
    status: role === 'client' ? 'locked' : 'earning',
    reason: null,
  }
}

function columnsOf(record: EarningRecord): EarningColumns {
  return {
    peer: record.peer ?? null,
    counterparty: record.counterparty ?? null,
    chainId: record.chainId ?? null,
    escrow: record.escrow ?? null,
    segments: record.segments ?? null,
    earnedWei: record.earnedWei,
    paidWei: record.paidWei,
    slashedWei: record.slashedWei,
    status: record.status,
    reason: record.reason ?? null,
  }
}

interface RunningSums {
  entries: number
  earned: bigint
  paid: bigint
  slashed: bigint
  pending: bigint
}

const noSums = (): RunningSums => ({ entries: 0, earned: 0n, paid: 0n, slashed: 0n, pending: 0n })

/** Per role, the sums of the given rows (bigint arithmetic: wei overflow a double's 2^53). */
export function sumEarnings(records: readonly EarningRecord[]): EarningTotals {
  const sums = { prover: noSums(), verifier: noSums(), client: noSums() }
  for (const r of records) {
    const s = sums[r.role]
    const earned = BigInt(r.earnedWei)
    const paid = BigInt(r.paidWei)
    const slashed = BigInt(r.slashedWei)
    s.entries += 1
    s.earned += earned
    s.paid += paid
    s.slashed += slashed
    if (PENDING_EARNING_STATUSES.includes(r.status)) {
      const left = earned - paid - slashed
      if (left > 0n) s.pending += left
    }
  }
  const asStrings = (s: RunningSums): EarningSums => ({
    entries: s.entries,
    earnedWei: s.earned.toString(),
    paidWei: s.paid.toString(),
    slashedWei: s.slashed.toString(),
    pendingWei: s.pending.toString(),
  })
  return {
    prover: asStrings(sums.prover),
    verifier: asStrings(sums.verifier),
    client: asStrings(sums.client),
  }
}

export class PaymentLedger {
  readonly #store: LedgerAccess

  constructor(store: LedgerAccess) {
    this.#store = store
  }

  // ---- earnings ----

  /**
   * Creates the row of one party of a job, or changes it: the fields the patch gives are set
   * (null clears an optional one), `addTx` is appended unless its hash is there already, and
   * `updatedAt` is stamped. A transaction hash recorded once under another kind is refused.
   */
  upsertEarning(key: EarningKey, patch: EarningPatch): EarningRecord {
    const what = objectOf(key, 'key') as EarningKey
    const jobId = check.hex(what.jobId, 'key.jobId')
    const role = check.oneOf(what.role, EARNING_ROLES, 'key.role')
    const account = check.address(what.account, 'key.account')
    const changes: Partial<Record<PatchField, SQLInputValue>> = {}
    let addTx: EarningTx | undefined
    for (const [field, value] of Object.entries(objectOf(patch, 'patch'))) {
      if (value === undefined) continue
      if (field === 'addTx') {
        addTx = checkTx(value, 'patch.addTx')
      } else if (isPatchField(field)) {
        changes[field] = EARNING_PATCH[field](value, `patch.${field}`, role)
      } else {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `patch.${field} cannot be set (settable: ${[...Object.keys(EARNING_PATCH), 'addTx'].join(', ')})`,
        )
      }
    }
    return this.#store.transaction(() => {
      const now = this.#store.clock()
      const current = this.#earning(jobId, role, account)
      const row: EarningColumns = {
        ...(current === undefined ? freshColumns(role) : columnsOf(current)),
        ...(changes as Partial<EarningColumns>),
      }
      const txs = [...(current?.txHashes ?? [])]
      if (addTx !== undefined) {
        const known = txs.find((tx) => tx.hash === addTx.hash)
        if (known === undefined) txs.push(addTx)
        else if (known.kind !== addTx.kind) {
          throw new InvalidInputError(
            'INVALID_INPUT',
            `transaction ${addTx.hash} is already recorded as ${known.kind} for ${role} ${account} of job ${jobId}; it cannot also be ${addTx.kind}`,
          )
        }
      }
      this.#store
        .stmt(
          `INSERT INTO earnings (jobId, role, account, peer, counterparty, chainId, escrow, segments,
             earnedWei, paidWei, slashedWei, status, reason, txHashes, createdAt, updatedAt)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (jobId, role, account) DO UPDATE SET peer = excluded.peer,
             counterparty = excluded.counterparty, chainId = excluded.chainId,
             escrow = excluded.escrow, segments = excluded.segments,
             earnedWei = excluded.earnedWei, paidWei = excluded.paidWei,
             slashedWei = excluded.slashedWei, status = excluded.status, reason = excluded.reason,
             txHashes = excluded.txHashes, updatedAt = excluded.updatedAt`,
        )
        .run(
          jobId,
          role,
          account,
          row.peer,
          row.counterparty,
          row.chainId,
          row.escrow,
          row.segments,
          row.earnedWei,
          row.paidWei,
          row.slashedWei,
          row.status,
          row.reason,
          JSON.stringify(txs),
          now,
          now,
        )
      const written = this.#earning(jobId, role, account)
      if (written === undefined) throw new Error(`earning of ${role} ${account} was not written`)
      return written
    })
  }

  /** Rows of the ledger, newest first, optionally of one job, one role and any of some statuses. */
  getEarnings(filter: EarningFilter = {}): EarningRecord[] {
    const f = objectOf(filter, 'filter') as EarningFilter
    const jobId = f.jobId === undefined ? null : check.hex(f.jobId, 'filter.jobId')
    const role = f.role === undefined ? null : check.oneOf(f.role, EARNING_ROLES, 'filter.role')
    let statuses: string | null = null
    if (f.status !== undefined) {
      if (!Array.isArray(f.status)) {
        throw new InvalidInputError('INVALID_INPUT', 'filter.status must be an array of statuses')
      }
      statuses = JSON.stringify(
        f.status.map((s, i) => check.oneOf(s, EARNING_STATUSES, `filter.status[${i}]`)),
      )
    }
    return this.#store.guard('reading earnings', () =>
      this.#store
        .stmt(
          `SELECT * FROM earnings
           WHERE (?1 IS NULL OR jobId = ?1)
             AND (?2 IS NULL OR role = ?2)
             AND (?3 IS NULL OR status IN (SELECT value FROM json_each(?3)))
           ORDER BY createdAt DESC, jobId, role, account`,
        )
        .all(jobId, role, statuses)
        .map((row) => toEarning(this.#store.path, row)),
    )
  }

  /** Per role, the sums of the rows `getEarnings(filter)` gives. */
  earningTotals(filter: EarningFilter = {}): EarningTotals {
    return sumEarnings(this.getEarnings(filter))
  }

  // ---- acceptances ----

  /**
   * Keeps the client's acceptances of `account`'s segments; an acceptance of a segment already
   * held for that account is ignored (the first one stands). Returns how many were new.
   */
  addAcceptances(jobId: string, account: string, list: readonly NewAcceptance[]): number {
    const id = check.hex(jobId, 'jobId')
    const prover = check.address(account, 'account')
    if (!Array.isArray(list)) {
      throw new InvalidInputError('INVALID_INPUT', 'acceptances must be an array')
    }
    const rows = list.map((item, i) => {
      const a = objectOf(item, `acceptances[${i}]`) as NewAcceptance
      const segment = check.count(a.segment, `acceptances[${i}].segment`)
      if (segment > MAX_UINT32) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `acceptances[${i}].segment must fit a uint32; got ${segment}`,
        )
      }
      const amount = check.wei(a.amountWei, `acceptances[${i}].amountWei`)
      if (BigInt(amount) > MAX_UINT128) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `acceptances[${i}].amountWei must fit a uint128 (what an Acceptance signs); got ${amount}`,
        )
      }
      return [segment, amount, check.signature(a.signature, `acceptances[${i}].signature`)] as const
    })
    return this.#store.transaction(() => {
      const at = this.#store.clock()
      const insert = this.#store.stmt(
        `INSERT INTO acceptances (jobId, segment, account, amountWei, signature, receivedAt)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (jobId, segment, account) DO NOTHING`,
      )
      let added = 0
      for (const [segment, amount, sig] of rows) {
        added += Number(insert.run(id, segment, prover, amount, sig, at).changes)
      }
      return added
    })
  }

  /** A job's acceptances by segment (of one account, if given), a page at a time after a segment. */
  getAcceptances(
    jobId: string,
    account?: string,
    options: AcceptanceQuery = {},
  ): AcceptanceRecord[] {
    const id = check.hex(jobId, 'jobId')
    const prover = account === undefined ? null : check.address(account, 'account')
    const query = objectOf(options, 'options') as AcceptanceQuery
    const after = query.after === undefined ? -1 : check.count(query.after, 'options.after')
    const limit = query.limit === undefined ? -1 : check.count(query.limit, 'options.limit')
    return this.#store.guard('reading acceptances', () =>
      this.#store
        .stmt(
          `SELECT * FROM acceptances
           WHERE jobId = ?1 AND (?2 IS NULL OR account = ?2) AND segment > ?3
           ORDER BY segment, account LIMIT ?4`,
        )
        .all(id, prover, after, limit)
        .map((row) => toAcceptance(this.#store.path, row)),
    )
  }

  // ---- attestations ----

  /**
   * Records what a verifier said about a job's final receipt, replacing what it said before. A
   * settlement signature already kept survives a record without one while the digests it signed
   * are unchanged.
   */
  putAttestation(record: NewAttestation): AttestationRecord {
    const r = objectOf(record, 'attestation') as NewAttestation
    const optional = <T>(value: T | null | undefined, checkValue: (v: T) => SQLInputValue) =>
      value === undefined || value === null ? null : checkValue(value)
    const jobId = check.hex(r.jobId, 'attestation.jobId')
    const verifier = check.peer(r.verifier, 'attestation.verifier')
    const values: SQLInputValue[] = [
      jobId,
      verifier,
      optional(r.account, (v) => check.address(v, 'attestation.account')),
      check.oneOf(r.verdict, ATTESTATION_VERDICTS, 'attestation.verdict'),
      check.bytes32(r.receiptDigest, 'attestation.receiptDigest'),
      optional(r.journalDigest, (v) => check.bytes32(v, 'attestation.journalDigest')),
      optional(r.reason, (v) => check.errorText(v, 'attestation.reason')),
      optional(r.settlementSignature, (v) => check.signature(v, 'attestation.settlementSignature')),
      check.envelope(r.envelope, 'attestation.envelope'),
      optional(r.agrees, (v) => (check.boolean(v, 'attestation.agrees') ? 1 : 0)),
      r.receivedAt === undefined
        ? this.#store.clock()
        : check.time(r.receivedAt, 'attestation.receivedAt'),
    ]
    return this.#store.transaction(() => {
      this.#store
        .stmt(
          `INSERT INTO attestations (jobId, verifier, account, verdict, receiptDigest, journalDigest,
             reason, settlementSignature, envelope, agrees, receivedAt)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (jobId, verifier) DO UPDATE SET account = excluded.account,
             verdict = excluded.verdict, reason = excluded.reason, envelope = excluded.envelope,
             agrees = excluded.agrees, receivedAt = excluded.receivedAt,
             settlementSignature = CASE
               WHEN excluded.settlementSignature IS NOT NULL THEN excluded.settlementSignature
               WHEN attestations.receiptDigest = excluded.receiptDigest
                 AND attestations.journalDigest IS excluded.journalDigest
                 THEN attestations.settlementSignature
             END,
             receiptDigest = excluded.receiptDigest, journalDigest = excluded.journalDigest`,
        )
        .run(...values)
      return this.#attestation(jobId, verifier)
    })
  }

  /** A job's attestations, in the order they were received. */
  getAttestations(jobId: string): AttestationRecord[] {
    const id = check.hex(jobId, 'jobId')
    return this.#store.guard('reading attestations', () =>
      this.#store
        .stmt('SELECT * FROM attestations WHERE jobId = ? ORDER BY receivedAt, verifier')
        .all(id)
        .map((row) => toAttestation(this.#store.path, row)),
    )
  }

  /** Keeps a verifier's signature over the job's Settlement with its attestation. */
  setAttestationSignature(jobId: string, verifier: string, signature: string): AttestationRecord {
    const id = check.hex(jobId, 'jobId')
    const peer = check.peer(verifier, 'verifier')
    const sig = check.signature(signature, 'signature')
    return this.#store.transaction(() => {
      const { changes } = this.#store
        .stmt('UPDATE attestations SET settlementSignature = ? WHERE jobId = ? AND verifier = ?')
        .run(sig, id, peer)
      if (changes === 0) throw new NotFoundError(`no attestation of ${peer} on job ${id}`)
      return this.#attestation(id, peer)
    })
  }

  // ---- internals ----

  #earning(jobId: string, role: EarningRole, account: string): EarningRecord | undefined {
    const row = this.#store
      .stmt('SELECT * FROM earnings WHERE jobId = ? AND role = ? AND account = ?')
      .get(jobId, role, account)
    return row === undefined ? undefined : toEarning(this.#store.path, row)
  }

  #attestation(jobId: string, verifier: string): AttestationRecord {
    const row = this.#store
      .stmt('SELECT * FROM attestations WHERE jobId = ? AND verifier = ?')
      .get(jobId, verifier)
    if (row === undefined) throw new NotFoundError(`no attestation of ${verifier} on job ${jobId}`)
    return toAttestation(this.#store.path, row)
  }
}
