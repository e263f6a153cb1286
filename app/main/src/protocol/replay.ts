// Remembers which signed messages were already delivered, in bounded memory, failing closed.

import { createHash } from 'node:crypto'
import { MessageError } from './errors.ts'
import { DEFAULT_CLOCK_WINDOW_MS } from './messages.ts'

/** What the guard needs of a message that passed every other check: its envelope's header. */
export interface SeenMessage {
  /** Sender peer ID. */
  readonly from: string
  readonly seq: number
  readonly ts: number
}

/** A message's identity: SHA-256 of its encoded envelope, lowercase hex. */
export function messageId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * 'ok': first delivery, now remembered. 'duplicate': exactly this message again (a retry or a
 * second gossip path; a responder may repeat its earlier answer). 'replay': this sender's seq was
 * used by another message, is below the sender's window, or cannot be proved fresh.
 */
export type ReplayVerdict = 'ok' | 'replay' | 'duplicate'

export interface ReplayGuardOptions {
  /**
   * The clock when the guard starts: messages made before it are refused (see below). Pass it:
   * without it a restarted node accepts replays of what it accepted in its last window.
   */
  now?: number
  /** Must be at least the codec's clock window; default DEFAULT_CLOCK_WINDOW_MS. */
  windowMs?: number
  /** Senders remembered at once; default 10,000. */
  maxSenders?: number
  /** Sequence numbers remembered per sender (its window); default 256. */
  maxSeqsPerSender?: number
  /** Sequence numbers remembered over all senders; default 200,000. */
  maxEntries?: number
}

interface SenderRecord {
  /** Remembered seqs, ascending. */
  seqs: number[]
  ids: Map<number, string>
  /** Seqs at or below this were forgotten to stay within the window: refused. */
  floorSeq: number
  /** Messages with ts below this may predate the record: refused. */
  floorTs: number
  /** Newest ts accepted from this sender; the record expires at maxTs + windowMs. */
  maxTs: number
}

/**
 * A message is accepted at most once. Per sender the guard keeps the last `maxSeqsPerSender`
 * sequence numbers with their message IDs, and refuses any seq at or below the oldest one
 * forgotten. A sender's record is dropped once all its messages are stale (newest ts + window
 * < now), since the codec refuses stale messages before they reach the guard.
 *
 * When memory runs out (too many senders or entries) the least recently active sender is
 * forgotten and the guard refuses, from any sender it has no record for, every message made
 * at or before that sender's newest ts: it cannot tell those from replays. The same rule at
 * start (`now`) makes a restarted node refuse replays of what it accepted before it stopped.
 * Under a flood honest, slightly late messages may be refused; replays never pass.
 */
export class ReplayGuard {
  readonly windowMs: number
  readonly maxSenders: number
  readonly maxSeqsPerSender: number
  readonly maxEntries: number
  /** Insertion order = least recently active first. */
  readonly #senders = new Map<string, SenderRecord>()
  #entries = 0
  #floorTs: number

  constructor(options: ReplayGuardOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_CLOCK_WINDOW_MS
    this.maxSenders = options.maxSenders ?? 10_000
    this.maxSeqsPerSender = options.maxSeqsPerSender ?? 256
    this.maxEntries = options.maxEntries ?? 200_000
    for (const [name, value] of Object.entries({
      windowMs: this.windowMs,
      maxSenders: this.maxSenders,
      maxSeqsPerSender: this.maxSeqsPerSender,
      maxEntries: this.maxEntries,
    })) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`ReplayGuard ${name} must be a positive integer, got ${value}`)
    }
    if (this.maxSeqsPerSender > this.maxEntries)
      throw new RangeError('ReplayGuard maxSeqsPerSender must not exceed maxEntries')
    this.#floorTs = options.now ?? Number.NEGATIVE_INFINITY
  }

  /** Senders remembered now. */
  get senders(): number {
    return this.#senders.size
  }

  /** Sequence numbers remembered now, over all senders. */
  get entries(): number {
    return this.#entries
  }

  /**
   * Remembers a first delivery; throws MessageError 'replay' or 'duplicate' otherwise. `bytes`
   * is the whole encoded envelope; `message` its decoded, verified header.
   */
  check(message: SeenMessage, bytes: Uint8Array, now: number): void {
    const verdict = this.admit(message, messageId(bytes), now)
    if (verdict !== 'ok') {
      const { from, seq } = message
      throw new MessageError(verdict, `seq ${seq} from ${from}: ${verdict}`)
    }
  }

  /** Decides on one message, identified by `id` (messageId of its bytes); remembers it if 'ok'. */
  admit(message: SeenMessage, id: string, now: number): ReplayVerdict {
    this.#expireOldest(now)
    const { from, seq, ts } = message
    // Already stale by this clock: its sender's record may be gone, so it cannot be proved new.
    if (ts + this.windowMs < now) return 'replay'
    let record = this.#senders.get(from)
    if (record) {
      const seen = record.ids.get(seq)
      if (seen !== undefined) return seen === id ? 'duplicate' : 'replay'
      if (seq <= record.floorSeq || ts < record.floorTs) return 'replay'
      this.#senders.delete(from) // re-inserted below: now the most recently active
    } else {
      if (ts < this.#floorTs) return 'replay'
      record = { seqs: [], ids: new Map(), floorSeq: -1, floorTs: this.#floorTs, maxTs: ts }
    }
    this.#senders.set(from, record)
    insertSorted(record.seqs, seq)
    record.ids.set(seq, id)
    record.maxTs = Math.max(record.maxTs, ts)
    this.#entries++
    while (record.seqs.length > this.maxSeqsPerSender) {
      const oldest = record.seqs.shift()!
      record.ids.delete(oldest)
      record.floorSeq = Math.max(record.floorSeq, oldest)
      this.#entries--
    }
    while (this.#senders.size > this.maxSenders || this.#entries > this.maxEntries)
      this.#forgetLeastRecent()
    return 'ok'
  }

  /** Drops every sender whose messages are all stale; check() does this lazily. */
  prune(now: number): void {
    for (const [from, record] of this.#senders) {
      if (record.maxTs + this.windowMs < now) this.#drop(from, record)
    }
  }

  #expireOldest(now: number): void {
    for (const [from, record] of this.#senders) {
      if (record.maxTs + this.windowMs >= now) return
      this.#drop(from, record)
    }
  }

  #forgetLeastRecent(): void {
    const first = this.#senders.entries().next()
    if (first.done) return
    const [from, record] = first.value
    this.#floorTs = Math.max(this.#floorTs, record.maxTs + 1)
    this.#drop(from, record)
  }

  #drop(from: string, record: SenderRecord): void {
    this.#senders.delete(from)
    this.#entries -= record.seqs.length
  }
}

function insertSorted(sorted: number[], value: number): void {
  let lo = 0
  let hi = sorted.length
  if (hi === 0 || sorted[hi - 1]! < value) {
    sorted.push(value)
    return
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < value) lo = mid + 1
    else hi = mid
  }
  sorted.splice(lo, 0, value)
}
