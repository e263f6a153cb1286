// Reads a UnixFS file's bytes in order, with a bounded read-ahead of blocks.
//
// This replaces `@helia/unixfs`'s `cat` for `get`. Its exporter (ipfs-unixfs-exporter 16.2.2) walks
// each child of a node in `void childQueue.add(...)`, so when a block below the first level fails
// to load (a timeout, a peer gone, a block missing offline) the caller gets the error and the
// process also gets an unhandled rejection, which ends a Node process by default (reproduced here:
// a 48 MiB file with one deep leaf missing, read offline). It also reads ahead without limit into
// an unbounded queue, so a slow consumer makes it buffer the whole file. Files of up to 174 chunks
// (43.5 MiB with Kubo's defaults) have one level of links and were not affected by the first.
//
// Every block still comes through Helia's blockstore, which hashes network blocks (and our block
// space re-hashes disk reads), and is reached from the root through hash links.

import { InvalidInputError, NotFoundError, VerificationError } from '@wholesum/plugin-api'
import type { CID } from 'multiformats/cid'

const DAG_PB = 0x70
const RAW = 0x55

/** UnixFS node types (unixfs.proto). */
const UNIXFS_RAW = 0
const UNIXFS_DIRECTORY = 1
const UNIXFS_FILE = 2
const UNIXFS_HAMT = 5

export interface BlockSource {
  blockstore: {
    get(
      cid: CID,
      options?: { signal?: AbortSignal },
    ): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  }
  getCodec(code: number):
    | Promise<{ decode(bytes: Uint8Array): unknown }>
    | {
        decode(bytes: Uint8Array): unknown
      }
}

export interface ReadOptions {
  readonly signal?: AbortSignal
  /** Blocks requested ahead of the one being read (default 32). */
  readonly readAhead?: number
  /** Called for every block that arrives (progress, even before it yields data). */
  readonly onBlock?: () => void
  /** Ask again for missing blocks after this long without any block arriving (default 2000). */
  readonly rewantMs?: number
}

interface PbLink {
  Hash: CID
}
interface PbNode {
  Data?: Uint8Array
  Links: PbLink[]
}

interface UnixfsData {
  type: number
  data: Uint8Array | undefined
  fileSize: number | undefined
  blockSizes: number[]
}

/** Parses the few fields of a UnixFS `Data` message that reading a file needs. */
export function parseUnixfsData(bytes: Uint8Array): UnixfsData {
  let at = 0
  const varint = (): number => {
    let value = 0
    let scale = 1
    for (;;) {
      if (at >= bytes.length) throw new Error('truncated varint')
      const byte = bytes[at++]!
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return value
      scale *= 128
      if (scale > 2 ** 63) throw new Error('varint too long')
    }
  }
  const out: UnixfsData = { type: -1, data: undefined, fileSize: undefined, blockSizes: [] }
  while (at < bytes.length) {
    const key = varint()
    const field = Math.floor(key / 8)
    const wire = key & 7
    if (wire === 0) {
      const value = varint()
      if (field === 1) out.type = value
      else if (field === 3) out.fileSize = value
      else if (field === 4) out.blockSizes.push(value)
    } else if (wire === 2) {
      const length = varint()
      if (at + length > bytes.length) throw new Error('truncated field')
      const value = bytes.subarray(at, at + length)
      at += length
      if (field === 2) out.data = value
      else if (field === 4) {
        // packed blocksizes
        const end = at
        at -= length
        while (at < end) out.blockSizes.push(varint())
      }
    } else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else throw new Error(`unsupported wire type ${wire}`)
  }
  if (at !== bytes.length) throw new Error('truncated message')
  return out
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts. Helia's bitswap
 * answers an aborted want only after it has told the peer (`sendMessagesDebounced` waits for the
 * previous send), and a send to a peer that stopped reading hangs: a want aborted by our deadline
 * rejected about 10 s late when the peer was paused. The caller moves on at once; the late
 * settlement is caught here.
 */
export async function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return await promise
  promise.catch(() => {})
  signal.throwIfAborted()
  let onAbort!: () => void
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

async function collect(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of source) parts.push(part)
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
}

/**
 * Fetches blocks for one call, and asks again for those still missing when nothing has arrived for
 * `rewantMs`. Helia's bitswap (4.0.19) can lose a want for good: a serving Helia keeps a block it
 * sent in our ledger as `sent` and swallows a new want for it (purging the stale entry only after
 * that message), so a block that reached us when nobody waited for it any more (after a timeout
 * or an abort) is never sent again for the next request; and a want made while an earlier want of
 * the same block is being cancelled joins the cancelled entry and is never sent. Seen here: a pin
 * retried after a paused peer resumed got nothing for 10 s. Asking again (cancel, then a new want
 * after a short pause) reaches the peer once the stale state is gone.
 */
interface Wanted {
  readonly cid: CID
  /** The request under way; replaced by a re-want. */
  attempt: AbortController
  readonly resolve: (bytes: Uint8Array) => void
  readonly reject: (err: unknown) => void
}

export class BlockFetcher {
  private readonly source: BlockSource
  private readonly signal: AbortSignal
  private readonly rewantMs: number
  private readonly onBlock: (() => void) | undefined
  private readonly pending = new Set<Wanted>()
  private lastArrival = performance.now()
  private readonly timer: ReturnType<typeof setInterval>

  constructor(
    source: BlockSource,
    signal: AbortSignal,
    options: { rewantMs: number; onBlock?: () => void },
  ) {
    this.source = source
    this.signal = signal
    this.rewantMs = options.rewantMs
    this.onBlock = options.onBlock
    this.timer = setInterval(() => this.rewant(), Math.max(50, Math.floor(this.rewantMs / 2)))
    this.timer.unref()
  }

  /** The block's bytes; any failure but a re-want's own cancel rejects it. */
  fetch(cid: CID): Promise<Uint8Array> {
    const result = new Promise<Uint8Array>((resolve, reject) => {
      const wanted: Wanted = { cid, attempt: new AbortController(), resolve, reject }
      this.pending.add(wanted)
      this.request(wanted)
    })
    result.catch(() => {}) // awaited by the caller; an early failure must not go unhandled
    return result
  }

  /** Stops re-wanting and aborts the requests still out. */
  close(): void {
    clearInterval(this.timer)
    for (const wanted of this.pending) wanted.attempt.abort()
    this.pending.clear()
  }

  private request(wanted: Wanted): void {
    const attempt = wanted.attempt
    const signal = AbortSignal.any([this.signal, attempt.signal])
    collect(this.source.blockstore.get(wanted.cid, { signal })).then(
      (bytes) => {
        if (attempt !== wanted.attempt) return // superseded: the newer request answers
        this.pending.delete(wanted)
        this.lastArrival = performance.now()
        this.onBlock?.()
        wanted.resolve(bytes)
      },
      (err: unknown) => {
        if (attempt !== wanted.attempt) return // cancelled by a re-want
        this.pending.delete(wanted)
        wanted.reject(err)
      },
    )
  }

  private rewant(): void {
    if (this.signal.aborted || this.pending.size === 0) return
    if (performance.now() - this.lastArrival < this.rewantMs) return
    this.lastArrival = performance.now() // one round per idle period
    for (const wanted of this.pending) {
      const old = wanted.attempt
      const next = new AbortController()
      wanted.attempt = next
      old.abort()
      // Let bitswap drop the cancelled entry (it sends after a 10 ms debounce) before asking again.
      setTimeout(() => {
        if (!this.signal.aborted && wanted.attempt === next && this.pending.has(wanted)) {
          this.request(wanted)
        }
      }, 50).unref()
    }
  }
}

/** The bytes a node contributes itself, and its children in order. */
function decodeNode(
  cid: CID,
  bytes: Uint8Array,
  codec: { decode(bytes: Uint8Array): unknown } | undefined,
): { data: Uint8Array | undefined; links: CID[]; fileSize: number | undefined } {
  if (cid.code === RAW) return { data: bytes, links: [], fileSize: bytes.byteLength }
  if (cid.code !== DAG_PB || codec === undefined) {
    throw new NotFoundError(`${cid} is not UnixFS (codec 0x${cid.code.toString(16)})`)
  }
  const node = codec.decode(bytes) as PbNode
  if (node.Data === undefined) throw new NotFoundError(`${cid} is not UnixFS: no Data`)
  let unixfs: UnixfsData
  try {
    unixfs = parseUnixfsData(node.Data)
  } catch (err) {
    throw new NotFoundError(`${cid} is not UnixFS: ${(err as Error).message}`, { cause: err })
  }
  if (unixfs.type === UNIXFS_DIRECTORY || unixfs.type === UNIXFS_HAMT) {
    throw new InvalidInputError('INVALID_INPUT', `${cid} is a UnixFS directory, not a file`)
  }
  if (unixfs.type !== UNIXFS_FILE && unixfs.type !== UNIXFS_RAW) {
    throw new InvalidInputError('INVALID_INPUT', `${cid} is UnixFS type ${unixfs.type}, not a file`)
  }
  if (node.Links.length !== unixfs.blockSizes.length) {
    throw new VerificationError(
      `${cid}: ${node.Links.length} links but ${unixfs.blockSizes.length} block sizes`,
    )
  }
  return {
    data: unixfs.data,
    links: node.Links.map((link) => link.Hash),
    fileSize: unixfs.fileSize,
  }
}

/**
 * Yields the file's bytes in order: depth first through the links, each node's own data before its
 * children's. Up to `readAhead` blocks after the current one are requested at once; the rest wait.
 * When the reader stops (done, failed or abandoned) it aborts the requests still out, and a failed
 * request never goes unhandled.
 */
export async function* readUnixfsFile(
  source: BlockSource,
  root: CID,
  options: ReadOptions = {},
): AsyncGenerator<Uint8Array> {
  const readAhead = Math.max(1, options.readAhead ?? 32)
  const stop = new AbortController()
  const signal =
    options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
  const dagPb = await source.getCodec(DAG_PB)

  const fetcher = new BlockFetcher(source, signal, {
    rewantMs: options.rewantMs ?? 2_000,
    ...(options.onBlock !== undefined ? { onBlock: options.onBlock } : {}),
  })
  interface Pending {
    cid: CID
    bytes?: Promise<Uint8Array>
  }
  const start = (item: Pending): void => {
    item.bytes ??= fetcher.fetch(item.cid)
  }

  const queue: Pending[] = [{ cid: root }]
  let expected: number | undefined
  let read = 0
  let first = true
  try {
    while (queue.length > 0) {
      const ahead = Math.min(readAhead + 1, queue.length)
      for (let i = 0; i < ahead; i++) start(queue[i]!)
      const item = queue.shift()!
      const node = decodeNode(item.cid, await raceSignal(item.bytes!, signal), dagPb)
      if (first) {
        expected = node.fileSize
        first = false
      }
      if (node.links.length > 0) queue.unshift(...node.links.map((cid) => ({ cid })))
      if (node.data !== undefined && node.data.byteLength > 0) {
        read += node.data.byteLength
        yield node.data
      }
    }
    if (expected !== undefined && read !== expected) {
      throw new VerificationError(
        `${root}: file size is ${expected} B but its blocks hold ${read} B`,
      )
    }
  } finally {
    fetcher.close()
    stop.abort()
  }
}
