// StoragePlugin over an embedded Helia node, producing the same CIDs as Kubo's `ipfs add`.
//
// What is verified where:
// - put: the importer hashes every block it writes (sha2-256); the returned CID is the root of
//   that DAG. Nothing is read back.
// - get / pin / stat over the network: Helia's bitswap broker (helia's networked storage) hashes
//   every block it receives and rejects one whose digest does not match the CID it asked for,
//   before the block is stored or handed to the exporter. The UnixFS exporter then walks the DAG
//   from the root CID, so every yielded byte is reached through a chain of verified links.
// - get from the local blockstore: Helia and blockstore-fs do not re-hash blocks read from disk, so
//   node.ts wraps the store (VerifyingFsBlockstore): every block read is hashed again and a
//   mismatch ends the read with VerificationError. The bad block is not repaired or re-fetched.

import {
  AbortError,
  InvalidInputError,
  isWholesumError,
  NotFoundError,
  TimeoutError,
  type CidString,
  type StorageCallOptions,
  type StoragePlugin,
  type StorageStat,
} from '@wholesum/plugin-api'
import { unixfs, type UnixFS } from '@helia/unixfs'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import type { IpfsHelia } from './node.ts'

/** Kubo's `ipfs add` defaults: CIDv0, dag-pb leaves, 256 KiB fixed chunks, balanced, 174 links. */
export const KUBO_CHUNK_SIZE = 262_144
export const KUBO_MAX_CHILDREN = 174

export interface IpfsStoreOptions {
  /** Default for calls that read from the network: the longest wait for the next block. */
  readonly timeoutMs?: number
}

export const DEFAULT_TIMEOUT_MS = 30_000

export function parseCid(cid: CidString): CID {
  if (typeof cid !== 'string' || cid.length === 0) {
    throw new InvalidInputError('INVALID_INPUT', `not a CID: ${JSON.stringify(cid)}`)
  }
  try {
    return CID.parse(cid)
  } catch (err) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `not a CID: ${JSON.stringify(cid)} (${(err as Error).message})`,
      {
        cause: err,
      },
    )
  }
}

/**
 * An idle deadline plus the caller's signal. `touch()` pushes the deadline back (called on every
 * chunk), so `timeoutMs` bounds how long we wait for the next piece of data, not a whole transfer.
 */
class Deadline {
  readonly signal: AbortSignal
  readonly timeoutMs: number
  private readonly controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private expired = false
  private readonly outer: AbortSignal | undefined
  private readonly onOuterAbort = (): void => this.controller.abort(this.outer?.reason)

  constructor(timeoutMs: number, outer: AbortSignal | undefined) {
    this.timeoutMs = timeoutMs
    this.outer = outer
    this.signal = this.controller.signal
    if (outer?.aborted) this.controller.abort(outer.reason)
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true })
    this.touch()
  }

  touch(): void {
    clearTimeout(this.timer)
    if (this.controller.signal.aborted) return
    this.timer = setTimeout(() => {
      this.expired = true
      this.controller.abort(new TimeoutError(`no data for ${this.timeoutMs} ms`))
    }, this.timeoutMs)
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.outer?.removeEventListener('abort', this.onOuterAbort)
  }

  /** Turns whatever Helia threw into the plugin API's error kinds. */
  translate(err: unknown, what: string): unknown {
    if (isWholesumError(err)) return err
    if (this.expired)
      return new TimeoutError(`${what}: no data within ${this.timeoutMs} ms`, { cause: err })
    if (this.outer?.aborted) return new AbortError(`${what}: aborted`, { cause: err })
    const name = (err as { name?: unknown } | null)?.name
    if (name === 'AbortError') return new AbortError(`${what}: aborted`, { cause: err })
    if (name === 'NotFoundError' || name === 'NotUnixFSError')
      return new NotFoundError(`${what}: ${(err as Error).message}`, { cause: err })
    return err
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

export class IpfsStore implements StoragePlugin {
  readonly helia: IpfsHelia
  readonly fs: UnixFS
  readonly timeoutMs: number

  constructor(helia: IpfsHelia, options: IpfsStoreOptions = {}) {
    this.helia = helia
    this.fs = unixfs(helia)
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  async put(
    data: Uint8Array | AsyncIterable<Uint8Array>,
    options: StorageCallOptions & { pin?: boolean } = {},
  ): Promise<CidString> {
    let source: AsyncIterable<Uint8Array>
    if (data instanceof Uint8Array) source = sliceBytes(data)
    else if (isAsyncIterable(data)) source = data
    else
      throw new InvalidInputError(
        'INVALID_INPUT',
        'put expects a Uint8Array or an AsyncIterable<Uint8Array>',
      )

    const total = data instanceof Uint8Array ? data.byteLength : undefined
    const onProgress = options.onProgress
    let bytes = 0
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        if (!(chunk instanceof Uint8Array)) {
          throw new InvalidInputError(
            'INVALID_INPUT',
            `put: stream yielded ${typeof chunk}, not a Uint8Array`,
          )
        }
        bytes += chunk.byteLength
        yield chunk
        onProgress?.(total === undefined ? { bytes } : { bytes, total })
      }
    }

    const signal = options.signal
    if (signal?.aborted) throw new AbortError('put: aborted')
    let cid: CID
    try {
      cid = await this.fs.addByteStream(counted(), {
        cidVersion: 0,
        rawLeaves: false,
        chunker: fixedSize({ chunkSize: KUBO_CHUNK_SIZE }),
        layout: balanced({ maxChildrenPerNode: KUBO_MAX_CHILDREN }),
        signal,
      })
    } catch (err) {
      if (err instanceof InvalidInputError) throw err
      if (signal?.aborted) throw new AbortError('put: aborted', { cause: err })
      throw err
    }
    // The importer may finish its last chunks after an abort: never pin what the caller dropped.
    if (signal?.aborted) throw new AbortError('put: aborted')
    if (options.pin === true) await this.pin(cid.toString(), options)
    return cid.toString()
  }

  get(cid: CidString, options: StorageCallOptions = {}): AsyncIterable<Uint8Array> {
    // Parse before the first step so that a bad CID is reported even if nobody iterates.
    const parsed = parseCid(cid)
    const store = this
    return {
      async *[Symbol.asyncIterator]() {
        const deadline = new Deadline(options.timeoutMs ?? store.timeoutMs, options.signal)
        let bytes = 0
        try {
          for await (const chunk of store.fs.cat(parsed, { signal: deadline.signal })) {
            deadline.touch()
            bytes += chunk.byteLength
            options.onProgress?.({ bytes })
            yield chunk
            deadline.touch()
          }
        } catch (err) {
          throw deadline.translate(err, `get ${cid}`)
        } finally {
          deadline.dispose()
        }
      },
    }
  }

  /** True when the root block is in the local blockstore (no network lookup). */
  async has(cid: CidString, options: StorageCallOptions = {}): Promise<boolean> {
    const parsed = parseCid(cid)
    return await this.helia.blockstore.has(parsed, { signal: options.signal })
  }

  /** Pins the DAG, fetching missing blocks from connected peers first (so it is then local). */
  async pin(cid: CidString, options: StorageCallOptions = {}): Promise<void> {
    const parsed = parseCid(cid)
    if (await this.helia.pins.isPinned(parsed, { signal: options.signal })) return
    const deadline = new Deadline(options.timeoutMs ?? this.timeoutMs, options.signal)
    try {
      for await (const _ of this.helia.pins.add(parsed, { signal: deadline.signal })) {
        deadline.touch()
      }
    } catch (err) {
      throw deadline.translate(err, `pin ${cid}`)
    } finally {
      deadline.dispose()
    }
  }

  async unpin(cid: CidString, options: StorageCallOptions = {}): Promise<void> {
    const parsed = parseCid(cid)
    if (!(await this.helia.pins.isPinned(parsed, { signal: options.signal }))) {
      throw new NotFoundError(`unpin ${cid}: not pinned`)
    }
    for await (const _ of this.helia.pins.rm(parsed, { signal: options.signal })) {
      // drain
    }
  }

  /**
   * `size` is the UnixFS file size (read from the root block, fetched if needed); `local` means
   * every block of the DAG is in the local blockstore; `pinned` is a recursive pin on this node.
   */
  async stat(cid: CidString, options: StorageCallOptions = {}): Promise<StorageStat> {
    const parsed = parseCid(cid)
    const deadline = new Deadline(options.timeoutMs ?? this.timeoutMs, options.signal)
    try {
      const stats = await this.fs.stat(parsed, { signal: deadline.signal })
      let local = false
      if (await this.helia.blockstore.has(parsed)) {
        try {
          await this.fs.stat(parsed, { extended: true, offline: true, signal: deadline.signal })
          local = true
        } catch {
          local = false
        }
      }
      const pinned = await this.helia.pins.isPinned(parsed, { signal: deadline.signal })
      return { cid: parsed.toString(), size: Number(stats.size), pinned, local }
    } catch (err) {
      throw deadline.translate(err, `stat ${cid}`)
    } finally {
      deadline.dispose()
    }
  }
}

/** Hands a buffer to the importer in chunk-sized views (no copies). */
async function* sliceBytes(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += KUBO_CHUNK_SIZE) {
    yield bytes.subarray(offset, Math.min(offset + KUBO_CHUNK_SIZE, bytes.byteLength))
  }
}
