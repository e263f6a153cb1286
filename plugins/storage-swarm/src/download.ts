// Verified download: every byte handed to the caller has been checked against the reference.
//
// The root chunk and every intermediate chunk come from `GET /chunks/{address}` and must hash (BMT)
// to the address their parent names; the data itself streams from `GET /bytes/{reference}` in one
// request, is cut into leaf-sized pieces, and each piece must hash to the leaf address its verified
// parent lists before it is yielded. Together that is a Merkle proof for every leaf up to the
// reference: a node (or anything between us and it) that changes, drops or adds a byte ends the read
// with VerificationError, at the latest at the leaf that differs. Memory stays at one tree path.

import { UnavailableError, VerificationError } from '@wholesum/plugin-api'
import {
  CHUNK_SIZE,
  childrenOf,
  chunkAddress,
  hasRedundancyLevel,
  parseChunk,
  type ChildPlan,
  type ParsedChunk,
} from './chunk-tree.ts'

export interface ChunkSource {
  /** `GET /chunks/{reference}`: the chunk's span ‖ payload. */
  getChunk(reference: string): Promise<Uint8Array>
  /** `GET /bytes/{reference}`: the joined data, as it streams in. */
  getBytes(reference: string): Promise<AsyncIterable<Uint8Array>>
}

/** Fetches one chunk and checks that it hashes to the address it was asked for. */
export async function fetchVerifiedChunk(
  source: ChunkSource,
  reference: string,
  what: string,
): Promise<ParsedChunk> {
  const data = await source.getChunk(reference)
  const chunk = parseChunk(data)
  if (chunk === undefined) {
    throw new VerificationError(
      `${what}: chunk ${reference} is malformed (${data.byteLength} bytes)`,
    )
  }
  const address = await chunkAddress(chunk.span, chunk.payload)
  if (address !== reference) {
    throw new VerificationError(`${what}: the chunk served for ${reference} hashes to ${address}`)
  }
  if (hasRedundancyLevel(chunk.span)) {
    throw new UnavailableError(
      `${what}: ${reference} is erasure-coded (Swarm redundancy); this store reads plain /bytes trees only`,
    )
  }
  return chunk
}

/** The first `span` bytes of a leaf payload; bytes the BMT padded with zeros are zeros. */
function leafData(chunk: ParsedChunk): Uint8Array {
  const size = Number(chunk.span)
  if (chunk.payload.byteLength >= size) return chunk.payload.subarray(0, size)
  const out = new Uint8Array(size)
  out.set(chunk.payload)
  return out
}

/** The leaves below a verified intermediate chunk, in order, fetching verified intermediates. */
async function* leavesOf(
  chunk: ParsedChunk,
  source: ChunkSource,
  what: string,
): AsyncGenerator<ChildPlan> {
  for (const child of childrenOf(chunk.span, chunk.payload)) {
    if (child.span <= BigInt(CHUNK_SIZE)) {
      yield child
      continue
    }
    const inner = await fetchVerifiedChunk(source, child.reference, what)
    if (inner.span !== child.span) {
      throw new VerificationError(
        `${what}: chunk ${child.reference} spans ${inner.span} bytes where its parent implies ${child.span}`,
      )
    }
    yield* leavesOf(inner, source, what)
  }
}

/** A FIFO of byte pieces from which exact-length pieces are taken (views when possible). */
class ByteQueue {
  private pieces: Uint8Array[] = []
  private head = 0
  length = 0

  push(piece: Uint8Array): void {
    if (piece.byteLength === 0) return
    this.pieces.push(piece)
    this.length += piece.byteLength
  }

  take(size: number): Uint8Array {
    const first = this.pieces[0]!
    if (first.byteLength - this.head >= size) {
      const out = first.subarray(this.head, this.head + size)
      this.advance(size)
      return out
    }
    const out = new Uint8Array(size)
    for (let at = 0; at < size;) {
      const piece = this.pieces[0]!
      const n = Math.min(size - at, piece.byteLength - this.head)
      out.set(piece.subarray(this.head, this.head + n), at)
      at += n
      this.advance(n)
    }
    return out
  }

  private advance(n: number): void {
    this.head += n
    this.length -= n
    if (this.head === this.pieces[0]!.byteLength) {
      this.pieces.shift()
      this.head = 0
    }
  }
}

export interface VerifiedReadOptions {
  readonly what: string
  /** Called whenever data arrives or a chunk is fetched (to push an idle deadline back). */
  readonly onActivity?: () => void
}

/**
 * Yields the object under `reference`, whose root chunk (already fetched and verified) is `root`,
 * checking each leaf before it is yielded.
 */
export async function* verifiedRead(
  reference: string,
  root: ParsedChunk,
  source: ChunkSource,
  options: VerifiedReadOptions,
): AsyncGenerator<Uint8Array> {
  const { what } = options
  if (root.span <= BigInt(CHUNK_SIZE)) {
    // A single chunk: its bytes are the payload we already verified.
    if (root.span > 0n) yield leafData(root)
    return
  }
  const stream = (await source.getBytes(reference))[Symbol.asyncIterator]()
  const queue = new ByteQueue()
  let offset = 0
  let ended = false
  try {
    for await (const leaf of leavesOf(root, source, what)) {
      options.onActivity?.()
      const size = Number(leaf.span)
      while (queue.length < size && !ended) {
        const next = await stream.next()
        options.onActivity?.()
        if (next.done === true) ended = true
        else queue.push(next.value)
      }
      if (queue.length < size) {
        throw new VerificationError(
          `${what}: the data ends after ${offset + queue.length} bytes, but the verified tree holds ${root.span}`,
        )
      }
      const piece = queue.take(size)
      const address = await chunkAddress(leaf.span, piece)
      if (address !== leaf.reference) {
        throw new VerificationError(
          `${what}: bytes ${offset}–${offset + size - 1} hash to ${address}, not to the leaf ${leaf.reference} that the verified tree names`,
        )
      }
      offset += size
      yield piece
    }
    while (!ended && queue.length === 0) {
      const next = await stream.next()
      if (next.done === true) ended = true
      else queue.push(next.value)
    }
    if (queue.length > 0) {
      throw new VerificationError(
        `${what}: the data runs past the ${root.span} bytes of the verified tree`,
      )
    }
  } finally {
    // Ends the HTTP response if the caller stopped early or the check failed.
    if (!ended) await stream.return?.(undefined)
  }
}
