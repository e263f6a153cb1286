// Typed mappers from SQLite rows to store records; a value of the wrong type means a damaged file.

import type { SQLOutputValue } from 'node:sqlite'
import { JobStoreError } from './errors.ts'
import {
  ATTESTATION_VERDICTS,
  DEAL_STATUSES,
  EARNING_ROLES,
  EARNING_STATUSES,
  JOB_ROLES,
  JOB_STATUSES,
  PIN_CLASSES,
  RECEIPT_KINDS,
  SEGMENT_STATUSES,
  WORK_STAGES,
  WORK_STATUSES,
  type AcceptanceRecord,
  type AttestationRecord,
  type DealRecord,
  type EarningRecord,
  type EarningTx,
  type EventRecord,
  type HeldPin,
  type JobRecord,
  type JsonObject,
  type JsonValue,
  type PinRecord,
  type ReceiptRecord,
  type SegmentRecord,
  type WorkRecord,
} from './records.ts'

export type Row = Record<string, SQLOutputValue>

/** Reads one row's columns by type, naming table and column when a value is not what it must be. */
class Columns {
  readonly #row: Row
  readonly #table: string
  readonly #path: string

  constructor(path: string, table: string, row: Row) {
    this.#path = path
    this.#table = table
    this.#row = row
  }

  #corrupt(column: string, expected: string): never {
    const value = this.#row[column]
    throw new JobStoreError(
      'CORRUPT',
      this.#path,
      `job store ${this.#path}: ${this.#table}.${column} should be ${expected}, holds ${
        typeof value === 'string' ? JSON.stringify(value) : String(value)
      }`,
    )
  }

  text(column: string): string {
    const value = this.#row[column]
    if (typeof value !== 'string') this.#corrupt(column, 'text')
    return value
  }

  optText(column: string): string | undefined {
    const value = this.#row[column]
    if (value === null || value === undefined) return undefined
    if (typeof value !== 'string') this.#corrupt(column, 'text or null')
    return value
  }

  int(column: string): number {
    const value = this.#row[column]
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      this.#corrupt(column, 'an integer')
    return value
  }

  optInt(column: string): number | undefined {
    const value = this.#row[column]
    if (value === null || value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      this.#corrupt(column, 'an integer or null')
    }
    return value
  }

  oneOf<T extends string>(column: string, allowed: readonly T[]): T {
    const value = this.text(column)
    if (!(allowed as readonly string[]).includes(value)) {
      this.#corrupt(column, `one of ${allowed.join(', ')}`)
    }
    return value as T
  }

  json(column: string): JsonValue {
    const value = this.text(column)
    try {
      return JSON.parse(value) as JsonValue
    } catch {
      return this.#corrupt(column, 'JSON')
    }
  }

  bytes(column: string): Uint8Array {
    const value = this.#row[column]
    if (!(value instanceof Uint8Array)) this.#corrupt(column, 'a blob')
    return value
  }

  /** A 0/1 flag that may be NULL (unknown). */
  optFlag(column: string): boolean | undefined {
    const value = this.optInt(column)
    if (value === undefined) return undefined
    if (value !== 0 && value !== 1) this.#corrupt(column, '0, 1 or null')
    return value === 1
  }

  jsonObject(column: string): JsonObject {
    const value = this.json(column)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.#corrupt(column, 'a JSON object')
    }
    return value as JsonObject
  }
}

/** Adds `key: value` only when the value is present, so absent columns are absent properties. */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

export function toJob(path: string, row: Row): JobRecord {
  const c = new Columns(path, 'jobs', row)
  return {
    jobId: c.text('jobId'),
    role: c.oneOf('role', JOB_ROLES),
    imageId: c.text('imageId'),
    programCid: c.text('programCid'),
    inputCid: c.text('inputCid'),
    ...opt('manifestCid', c.optText('manifestCid')),
    po2: c.int('po2'),
    segments: c.int('segments'),
    status: c.oneOf('status', JOB_STATUSES),
    rewardPerSegment: c.text('rewardPerSegment'),
    deadline: c.int('deadline'),
    createdAt: c.int('createdAt'),
    updatedAt: c.int('updatedAt'),
    ...opt('error', c.optText('error')),
    ...opt('receiptCid', c.optText('receiptCid')),
    ...opt('journalCid', c.optText('journalCid')),
    ...opt('stdoutCid', c.optText('stdoutCid')),
    ...opt('stderrCid', c.optText('stderrCid')),
    ...opt('logsCid', c.optText('logsCid')),
    ...opt('clientPeer', c.optText('clientPeer')),
    nonce: c.text('nonce'),
    extra: c.jsonObject('extra'),
  }
}

export function toSegment(path: string, row: Row): SegmentRecord {
  const c = new Columns(path, 'segments', row)
  return {
    jobId: c.text('jobId'),
    idx: c.int('idx'),
    segmentCid: c.text('segmentCid'),
    expectedClaim: c.text('expectedClaim'),
    status: c.oneOf('status', SEGMENT_STATUSES),
    ...opt('claimedBy', c.optText('claimedBy')),
    ...opt('claimExpires', c.optInt('claimExpires')),
    ...opt('receiptCid', c.optText('receiptCid')),
    ...opt('provedBy', c.optText('provedBy')),
    ...opt('provedAt', c.optInt('provedAt')),
    attempts: c.int('attempts'),
    rejects: c.int('rejects'),
  }
}

export function toDeal(path: string, row: Row): DealRecord {
  const c = new Columns(path, 'deals', row)
  return {
    jobId: c.text('jobId'),
    prover: c.text('prover'),
    pricePerSegment: c.text('pricePerSegment'),
    signedAt: c.int('signedAt'),
    expires: c.int('expires'),
    status: c.oneOf('status', DEAL_STATUSES),
    strikes: c.int('strikes'),
    accepted: c.int('accepted'),
  }
}

export function toReceipt(path: string, row: Row): ReceiptRecord {
  const c = new Columns(path, 'receipts', row)
  const verified = c.int('verified')
  return {
    receiptCid: c.text('receiptCid'),
    jobId: c.text('jobId'),
    kind: c.oneOf('kind', RECEIPT_KINDS),
    ...opt('idx', c.optInt('idx')),
    ...opt('prover', c.optText('prover')),
    verified: verified === 1,
    createdAt: c.int('createdAt'),
  }
}

export function toEvent(path: string, row: Row): EventRecord {
  const c = new Columns(path, 'events', row)
  return {
    id: c.int('id'),
    jobId: c.text('jobId'),
    at: c.int('at'),
    type: c.text('type'),
    data: c.json('data'),
  }
}

export function toWork(path: string, row: Row): WorkRecord {
  const c = new Columns(path, 'prover_work', row)
  return {
    jobId: c.text('jobId'),
    stage: c.oneOf('stage', WORK_STAGES),
    idx: c.int('idx'),
    status: c.oneOf('status', WORK_STATUSES),
    ...opt('receiptCid', c.optText('receiptCid')),
    startedAt: c.int('startedAt'),
    ...opt('finishedAt', c.optInt('finishedAt')),
    ...opt('error', c.optText('error')),
  }
}

export function toPin(path: string, row: Row): PinRecord {
  const c = new Columns(path, 'pins', row)
  return {
    jobId: c.text('jobId'),
    cid: c.text('cid'),
    class: c.oneOf('class', PIN_CLASSES),
    pinnedAt: c.int('pinnedAt'),
    ...opt('releasedAt', c.optInt('releasedAt')),
  }
}

export function toHeldPin(path: string, row: Row): HeldPin {
  const c = new Columns(path, 'pins', row)
  const role = c.optText('role')
  return {
    ...toPin(path, row),
    endedAt: c.optInt('endedAt'),
    role: role === undefined ? undefined : c.oneOf('role', JOB_ROLES),
  }
}

export function toEarning(path: string, row: Row): EarningRecord {
  const c = new Columns(path, 'earnings', row)
  return {
    jobId: c.text('jobId'),
    role: c.oneOf('role', EARNING_ROLES),
    account: c.text('account'),
    ...opt('peer', c.optText('peer')),
    ...opt('counterparty', c.optText('counterparty')),
    ...opt('chainId', c.optInt('chainId')),
    ...opt('escrow', c.optText('escrow')),
    ...opt('segments', c.optInt('segments')),
    earnedWei: c.text('earnedWei'),
    paidWei: c.text('paidWei'),
    slashedWei: c.text('slashedWei'),
    status: c.oneOf('status', EARNING_STATUSES),
    ...opt('reason', c.optText('reason')),
    txHashes: txList(path, c.json('txHashes')),
    createdAt: c.int('createdAt'),
    updatedAt: c.int('updatedAt'),
  }
}

function txList(path: string, value: JsonValue): EarningTx[] {
  const isTx = (item: JsonValue): item is { kind: string; hash: string } =>
    typeof item === 'object' &&
    item !== null &&
    !Array.isArray(item) &&
    typeof (item as { kind?: unknown }).kind === 'string' &&
    typeof (item as { hash?: unknown }).hash === 'string'
  if (!Array.isArray(value) || !value.every(isTx)) {
    throw new JobStoreError(
      'CORRUPT',
      path,
      `job store ${path}: earnings.txHashes should be a list of {kind, hash}, holds ${JSON.stringify(value)}`,
    )
  }
  return value.map((tx) => ({ kind: tx.kind, hash: tx.hash }))
}

export function toAcceptance(path: string, row: Row): AcceptanceRecord {
  const c = new Columns(path, 'acceptances', row)
  return {
    jobId: c.text('jobId'),
    segment: c.int('segment'),
    account: c.text('account'),
    amountWei: c.text('amountWei'),
    signature: c.text('signature'),
    receivedAt: c.int('receivedAt'),
  }
}

export function toAttestation(path: string, row: Row): AttestationRecord {
  const c = new Columns(path, 'attestations', row)
  return {
    jobId: c.text('jobId'),
    verifier: c.text('verifier'),
    ...opt('account', c.optText('account')),
    verdict: c.oneOf('verdict', ATTESTATION_VERDICTS),
    receiptDigest: c.text('receiptDigest'),
    ...opt('journalDigest', c.optText('journalDigest')),
    ...opt('reason', c.optText('reason')),
    ...opt('settlementSignature', c.optText('settlementSignature')),
    envelope: c.bytes('envelope'),
    ...opt('agrees', c.optFlag('agrees')),
    receivedAt: c.int('receivedAt'),
  }
}
