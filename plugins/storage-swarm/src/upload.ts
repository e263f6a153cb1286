// Streaming upload: the object goes to Bee in 512 KiB segments, and the top of its chunk tree is
// built here, so nothing holds the whole object and the result is the reference POST /bytes gives.
//
// bee-js's `uploadData` (POST /bytes) takes only a whole Uint8Array. But a Swarm chunk tree is made
// of whole subtrees: 128 leaves of 4096 bytes (512 KiB) form one level-1 chunk, and a POST /bytes of
// exactly those bytes returns that chunk's address. So each 512 KiB segment is one `uploadData`
// call (Bee splits and hashes it, in Go), and the chunks above the segments (128 references each,
// hashed here with bee-js's BMT) go up with `uploadChunk`. Bee's rule for a lone rightmost
// reference (carried up a level, not wrapped) is applied here too. The tests check the result
// against Bee's own POST /bytes of the same bytes and against Bee's test vectors.
//
// Trust: the segment references are computed by the Bee node the user runs; the plugin checks that
// Bee agrees on every chunk it builds itself. Reads verify everything (download.ts).

import {
  InvalidInputError,
  ResourceLimitError,
  VerificationError,
  type TransferProgress,
} from '@wholesum/plugin-api'
import {
  BRANCHES,
  CHUNK_SIZE,
  REFERENCE_SIZE,
  SPAN_SIZE,
  chunkAddress,
  type ChildPlan,
} from './chunk-tree.ts'
import type { Deadline } from './deadline.ts'

/** One level-1 subtree: 128 leaves of 4096 bytes. */
export const SEGMENT_BYTES = BRANCHES * CHUNK_SIZE

export interface TreeSink {
  /** Stores up to SEGMENT_BYTES as a /bytes tree; resolves to its root reference (hex). */
  putSegment(bytes: Uint8Array): Promise<string>
  /** Stores one chunk (span ‖ payload); resolves to the address the node computed (hex). */
  putChunk(chunk: Uint8Array): Promise<string>
}

export interface TreeUploadOptions {
  /** Refuse (ResourceLimitError) once more than this many bytes arrive. */
  readonly maxBytes: number
  /** Segment uploads in flight at once (each holds SEGMENT_BYTES of memory). */
  readonly concurrency: number
  readonly total?: number
  /** Bytes Bee has acknowledged so far. */
  readonly onProgress?: (progress: TransferProgress) => void
  readonly deadline: Deadline
  /** For messages, e.g. `put`. */
  readonly what: string
}

export interface TreeUploadResult {
  readonly reference: string
  readonly size: number
  readonly segments: number
}

/**
 * Builds the levels above `children` (left to right, all full subtrees of one capacity but the
 * last) up to one root, storing each new intermediate chunk through `sink`.
 */
export async function buildUpperTree(
  children: readonly ChildPlan[],
  sink: Pick<TreeSink, 'putChunk'>,
  onChunk?: () => void,
): Promise<ChildPlan> {
  let level = [...children]
  while (level.length > 1) {
    const next: ChildPlan[] = []
    for (let at = 0; at < level.length; at += BRANCHES) {
      const group = level.slice(at, at + BRANCHES)
      if (group.length === 1) {
        // Bee carries a lone rightmost reference up a level instead of wrapping it.
        next.push(group[0]!)
        continue
      }
      const chunk = new Uint8Array(SPAN_SIZE + group.length * REFERENCE_SIZE)
      let span = 0n
      group.forEach((child, i) => {
        chunk.set(Buffer.from(child.reference, 'hex'), SPAN_SIZE + i * REFERENCE_SIZE)
        span += child.span
      })
      new DataView(chunk.buffer).setBigUint64(0, span, true)
      const reference = await chunkAddress(span, chunk.subarray(SPAN_SIZE))
      const nodeSays = await sink.putChunk(chunk)
      if (nodeSays !== reference) {
        throw new VerificationError(
          `Bee stored an intermediate chunk as ${nodeSays}, but it hashes to ${reference}`,
        )
      }
      onChunk?.()
      next.push({ reference, span })
    }
    level = next
  }
  return level[0]!
}

export async function uploadTree(
  source: AsyncIterable<Uint8Array>,
  sink: TreeSink,
  options: TreeUploadOptions,
): Promise<TreeUploadResult> {
  const { deadline, what, concurrency } = options
  const segments: ChildPlan[] = []
  const inflight = new Set<Promise<void>>()
  // Set by the first failed segment upload (an object, so TypeScript sees writes from callbacks).
  const state: { failure?: { error: unknown } } = {}
  const rethrow = (): void => {
    if (state.failure !== undefined) throw state.failure.error
  }
  let acknowledged = 0
  const progress = (): void =>
    options.onProgress?.(
      options.total === undefined
        ? { bytes: acknowledged }
        : { bytes: acknowledged, total: options.total },
    )

  async function send(bytes: Uint8Array): Promise<void> {
    rethrow()
    deadline.check(what)
    const index = segments.length
    segments.push({ reference: '', span: BigInt(bytes.byteLength) })
    const settled = sink.putSegment(bytes).then(
      (reference) => {
        segments[index] = { reference, span: BigInt(bytes.byteLength) }
        acknowledged += bytes.byteLength
        deadline.touch()
        progress()
      },
      (error: unknown) => {
        state.failure ??= { error }
      },
    )
    inflight.add(settled)
    void settled.then(() => inflight.delete(settled))
    while (inflight.size >= concurrency) await Promise.race(inflight)
    rethrow()
  }

  let size = 0
  let segment = new Uint8Array(SEGMENT_BYTES)
  let filled = 0
  const pieces = source[Symbol.asyncIterator]()
  try {
    for (;;) {
      // Time spent waiting for the caller's next piece is not Bee's: the idle clock stops.
      deadline.pause()
      const next = await pieces.next()
      deadline.touch()
      if (next.done === true) break
      const piece: unknown = next.value
      if (!(piece instanceof Uint8Array)) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `${what}: stream yielded ${typeof piece}, not a Uint8Array`,
        )
      }
      size += piece.byteLength
      if (size > options.maxBytes) {
        throw new ResourceLimitError(
          `${what}: object is over maxObjectBytes (${options.maxBytes} bytes); raise the ` +
            'storage-swarm setting `maxObjectBytes` to store larger objects',
        )
      }
      deadline.check(what)
      for (let at = 0; at < piece.byteLength;) {
        const n = Math.min(piece.byteLength - at, SEGMENT_BYTES - filled)
        segment.set(piece.subarray(at, at + n), filled)
        filled += n
        at += n
        if (filled === SEGMENT_BYTES) {
          await send(segment)
          segment = new Uint8Array(SEGMENT_BYTES)
          filled = 0
        }
      }
    }
    // The last, partial segment (or the one empty segment of an empty object).
    if (filled > 0 || size === 0) await send(segment.subarray(0, filled))
    await Promise.all(inflight)
    rethrow()
    const root = await buildUpperTree(segments, sink, () => deadline.touch())
    return { reference: root.reference, size, segments: segments.length }
  } catch (err) {
    // Tell a generator source that we stopped reading (runs its finally blocks).
    await pieces.return?.(undefined).catch(() => undefined)
    throw err
  } finally {
    // On failure, let uploads already sent settle so none rejects unobserved later.
    await Promise.allSettled(inflight)
  }
}
