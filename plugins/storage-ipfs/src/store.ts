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
//   the node's block space (blockspace.ts): every block read is hashed again and a
//   mismatch ends the read with VerificationError. The bad block is not repaired or re-fetched.
//
// Garbage collection and the quota live in the node's block space (blockspace.ts). Every put and
// pin here holds a guard on it, so blocks it has touched survive a concurrent gc; a put that fails
// deletes the blocks it wrote itself, and neither a failed put nor a failed pin leaves a pin.

import {
  AbortError,
  InvalidInputError,
  isWholesumError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  type CidString,
  type StorageCallOptions,
  type StoragePlugin,
  type StorageStat,
} from '@wholesum/plugin-api'
import { unixfs, type UnixFS } from '@helia/unixfs'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { createUnsafe } from 'multiformats/block'
import { CID } from 'multiformats/cid'
import { blockSpaceOf, type IpfsHelia, type IpfsNode } from './node.ts'
import { BlockFetcher, raceSignal, readUnixfsFile } from './reader.ts'
import type { BlockSpace, GcResult, Guard, SpaceUsage } from './blockspace.ts'
import type { Connection } from '@libp2p/interface'

/** Kubo's `ipfs add` defaults: CIDv0, dag-pb leaves, 256 KiB fixed chunks, balanced, 174 links. */
export const KUBO_CHUNK_SIZE = 262_144
export const KUBO_MAX_CHILDREN = 174

export interface IpfsStoreOptions {
  /** Default for calls that read from the network: the longest wait for the next block. */
  readonly timeoutMs?: number
}

export const DEFAULT_TIMEOUT_MS = 30_000

/** Blocks fetched at once when `pin` walks a DAG that is not local. */
const PIN_FETCH_CONCURRENCY = 16

/** With no block for this long, `get` and `pin` ask again for what is missing (see BlockFetcher). */
const REWANT_MS = 2_000

type PinAddOptions = NonNullable<Parameters<IpfsHelia['pins']['add']>[1]>

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

/** What the node's connections did during a call, for the error message if it times out. */
interface PeerWatch {
  readonly lost: string[]
  connected(): number
  dispose(): void
}

function watchPeers(helia: IpfsHelia): PeerWatch | undefined {
  let libp2p: IpfsHelia['libp2p']
  try {
    libp2p = helia.libp2p
  } catch {
    return undefined // not started
  }
  const lost: string[] = []
  const onClose = (event: CustomEvent<Connection>): void => {
    const peer = event.detail.remotePeer.toString()
    if (!lost.includes(peer)) lost.push(peer)
  }
  libp2p.addEventListener('connection:close', onClose)
  return {
    lost,
    connected: () => libp2p.getConnections().length,
    dispose: () => libp2p.removeEventListener('connection:close', onClose),
  }
}

/**
 * An idle deadline plus the caller's signal. `touch()` pushes the deadline back (called on every
 * chunk), so `timeoutMs` bounds how long we wait for the next piece of data, not a whole transfer.
 */
class Deadline {
  readonly signal: AbortSignal
  readonly timeoutMs: number
  /** Bytes (or blocks, for pin) received so far; named in a timeout's message. */
  progress = 0
  private readonly controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private expired = false
  /** The abort reason when the deadline passes; `translate` replaces it with a full message. */
  private readonly expiry = new TimeoutError('no data in time')
  private readonly outer: AbortSignal | undefined
  private readonly peers: PeerWatch | undefined
  private readonly onOuterAbort = (): void => this.controller.abort(this.outer?.reason)

  constructor(timeoutMs: number, outer: AbortSignal | undefined, helia?: IpfsHelia) {
    this.timeoutMs = timeoutMs
    this.outer = outer
    this.signal = this.controller.signal
    this.peers = helia === undefined ? undefined : watchPeers(helia)
    if (outer?.aborted) this.controller.abort(outer.reason)
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true })
    this.touch()
  }

  touch(): void {
    clearTimeout(this.timer)
    if (this.controller.signal.aborted) return
    this.timer = setTimeout(() => {
      this.expired = true
      this.controller.abort(this.expiry)
    }, this.timeoutMs)
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.outer?.removeEventListener('abort', this.onOuterAbort)
    this.peers?.dispose()
  }

  /** Turns whatever Helia threw into the plugin API's error kinds. */
  translate(err: unknown, what: string, unit = 'bytes'): unknown {
    if (isWholesumError(err) && err !== this.expiry) return err
    if (this.expired) {
      let message = `${what}: no data within ${this.timeoutMs} ms after ${this.progress} ${unit}`
      if (this.peers !== undefined) {
        const { lost } = this.peers
        if (lost.length > 0) {
          message += `; peer${lost.length > 1 ? 's' : ''} ${lost.join(', ')} disconnected during the transfer`
        }
        message += `; ${this.peers.connected()} peer(s) connected now`
      }
      return new TimeoutError(message, { cause: err })
    }
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

/**
 * The blockstore one put writes through: it touches every block in the put's guard before the
 * block is checked or written, remembers which blocks were new (absent before this put wrote them),
 * and once closed it waits for writes still under way and refuses new ones, so a failed put can
 * delete exactly what it added.
 */
class WriteLog {
  readonly written: CID[] = []
  private readonly blockstore: IpfsHelia['blockstore']
  private readonly guard: Guard | undefined
  private readonly pending = new Set<Promise<unknown>>()
  private closed = false

  constructor(blockstore: IpfsHelia['blockstore'], guard: Guard | undefined) {
    this.blockstore = blockstore
    this.guard = guard
  }

  readonly view = {
    has: (cid: CID, options?: { signal?: AbortSignal }) => {
      this.guard?.touch(cid)
      return this.blockstore.has(cid, options)
    },
    get: (cid: CID, options?: { signal?: AbortSignal }) => {
      this.guard?.touch(cid)
      return this.blockstore.get(cid, options)
    },
    put: async (cid: CID, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<CID> => {
      if (this.closed) throw new AbortError('put: stopped after a failure')
      this.guard?.touch(cid)
      const write = (async () => {
        const existed = await this.blockstore.has(cid, options)
        await this.blockstore.put(cid, bytes, options)
        if (!existed) this.written.push(cid)
      })()
      this.pending.add(write)
      try {
        await write
      } finally {
        this.pending.delete(write)
      }
      return cid
    },
  }

  /** Stops new writes and waits for those under way to finish or fail. */
  async close(): Promise<void> {
    this.closed = true
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }
}

export class IpfsStore implements StoragePlugin {
  readonly helia: IpfsHelia
  readonly fs: UnixFS
  readonly timeoutMs: number
  /** Accounting, quota, guards and gc; undefined for a Helia that `startIpfsNode` did not start. */
  private readonly space: BlockSpace | undefined

  /** From a node (or its `helia`) started by `startIpfsNode`; any other Helia has no gc/quota. */
  constructor(node: IpfsHelia | IpfsNode, options: IpfsStoreOptions = {}) {
    this.helia = 'helia' in node ? node.helia : node
    this.fs = unixfs(this.helia)
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.space = blockSpaceOf(this.helia)
  }

  /**
   * Imports the bytes (Kubo's `ipfs add` defaults). If it fails (a bad source, an abort, the quota)
   * it deletes the blocks it wrote itself and pins nothing; blocks it shares with content that was
   * already stored, or that another put or pin in progress touched, stay.
   */
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
    const guard = this.space?.guard()
    const log = new WriteLog(this.helia.blockstore, guard)
    let cid: CID | undefined
    let pinned = false
    try {
      cid = await unixfs({ blockstore: log.view }).addByteStream(counted(), {
        cidVersion: 0,
        rawLeaves: false,
        chunker: fixedSize({ chunkSize: KUBO_CHUNK_SIZE }),
        layout: balanced({ maxChildrenPerNode: KUBO_MAX_CHILDREN }),
        signal,
      })
      // The importer may finish its last chunks after an abort: never pin what the caller dropped.
      if (signal?.aborted) throw new AbortError('put: aborted')
      if (options.pin === true) {
        pinned = await this.pinLocal(cid)
        if (signal?.aborted) throw new AbortError('put: aborted')
      }
      return cid.toString()
    } catch (err) {
      await log.close()
      if (pinned && cid !== undefined) await this.unpinQuietly(cid)
      await this.discard(log.written, guard)
      if (isWholesumError(err)) throw err
      if (signal?.aborted) throw new AbortError('put: aborted', { cause: err })
      throw err
    } finally {
      guard?.close()
    }
  }

  get(cid: CidString, options: StorageCallOptions = {}): AsyncIterable<Uint8Array> {
    // Parse before the first step so that a bad CID is reported even if nobody iterates.
    const parsed = parseCid(cid)
    const store = this
    return {
      async *[Symbol.asyncIterator]() {
        const deadline = new Deadline(
          options.timeoutMs ?? store.timeoutMs,
          options.signal,
          store.helia,
        )
        try {
          for await (const chunk of readUnixfsFile(store.helia, parsed, {
            signal: deadline.signal,
            onBlock: () => deadline.touch(),
            rewantMs: REWANT_MS,
          })) {
            deadline.touch()
            deadline.progress += chunk.byteLength
            options.onProgress?.({ bytes: deadline.progress })
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

  /**
   * Pins the DAG. Missing blocks are fetched from connected peers first (the idle timeout resets
   * on every block); only when every block is local is the pin recorded, so a pin that fails
   * leaves no pin. The blocks it fetched stay, unpinned: a retry resumes from them, and gc (or
   * the quota's gc) deletes them.
   */
  async pin(cid: CidString, options: StorageCallOptions = {}): Promise<void> {
    const parsed = parseCid(cid)
    if (await this.helia.pins.isPinned(parsed, { signal: options.signal })) return
    const guard = this.space?.guard()
    const deadline = new Deadline(options.timeoutMs ?? this.timeoutMs, options.signal, this.helia)
    try {
      await this.fetchDag(parsed, deadline, guard)
      await this.pinLocal(parsed)
    } catch (err) {
      throw deadline.translate(err, `pin ${cid}`, 'blocks')
    } finally {
      deadline.dispose()
      guard?.close()
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
   * every block of the DAG is in the local blockstore (walked offline; it reads every block);
   * `pinned` is a recursive pin on this node.
   */
  async stat(cid: CidString, options: StorageCallOptions = {}): Promise<StorageStat> {
    const parsed = parseCid(cid)
    const deadline = new Deadline(options.timeoutMs ?? this.timeoutMs, options.signal, this.helia)
    try {
      const stats = await raceSignal(
        this.fs.stat(parsed, { signal: deadline.signal }),
        deadline.signal,
      )
      let local = false
      if (await this.helia.blockstore.has(parsed)) {
        // Offline, the extended stat skips missing blocks instead of failing (@helia/unixfs 8):
        // the DAG is whole when the data it found adds up to the file's size.
        try {
          const found = await this.fs.stat(parsed, {
            extended: true,
            offline: true,
            signal: deadline.signal,
          })
          local = found.localSize === found.size
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

  /**
   * Deletes every block that no pin holds and no put or pin in progress has touched, and says
   * what it freed. Unpinned content is fair game as soon as the put that stored it returned.
   */
  async gc(): Promise<GcResult> {
    return await this.requireSpace('gc').gc()
  }

  /** Bytes and blocks stored under `blocks/`, and the quota (undefined: none). */
  usage(): SpaceUsage {
    return this.requireSpace('usage').usage()
  }

  private requireSpace(what: string): BlockSpace {
    if (this.space === undefined) {
      throw new UnavailableError(`${what}: this Helia was not started by startIpfsNode`)
    }
    return this.space
  }

  /**
   * Pins a DAG whose blocks are all local. Helia marks blocks pinned as it walks, so a walk that
   * stopped half way would leave marks behind: it runs offline and without the caller's signal,
   * after everything was fetched. Returns false when someone else pinned it first.
   */
  private async pinLocal(cid: CID): Promise<boolean> {
    const offline: PinAddOptions & { offline: boolean } = { offline: true }
    try {
      for await (const _ of this.helia.pins.add(cid, offline)) {
        // drain
      }
      return true
    } catch (err) {
      if ((err as { name?: unknown }).name === 'AlreadyPinnedError') return false
      throw err
    }
  }

  private async unpinQuietly(cid: CID): Promise<void> {
    try {
      for await (const _ of this.helia.pins.rm(cid)) {
        // drain
      }
    } catch {
      // nothing more to undo
    }
  }

  /** Deletes blocks a failed put added, unless pinned or touched by another operation. */
  private async discard(cids: readonly CID[], guard: Guard | undefined): Promise<void> {
    const space = this.space
    if (space === undefined || cids.length === 0) return
    await space.pass(async () => {
      for (const cid of cids) {
        if (await this.helia.pins.isPinned(cid)) continue
        await space.remove(cid, guard)
      }
    })
  }

  /**
   * Makes every block of the DAG local, fetching up to PIN_FETCH_CONCURRENCY at once, each touched
   * in the pin's guard first (and asked for again after REWANT_MS without any block). On a failure
   * it aborts the other fetches and throws at once.
   */
  private async fetchDag(root: CID, deadline: Deadline, guard: Guard | undefined): Promise<void> {
    const stop = new AbortController()
    const signal = AbortSignal.any([deadline.signal, stop.signal])
    const seen = new Set<string>([root.toString()])
    const queue: CID[] = [root]
    let active = 0
    let failure: { err: unknown } | undefined

    const fetcher = new BlockFetcher(this.helia, signal, {
      rewantMs: REWANT_MS,
      onBlock: () => deadline.touch(),
    })
    const fetchOne = async (cid: CID): Promise<CID[]> => {
      guard?.touch(cid)
      const bytes = await raceSignal(fetcher.fetch(cid), signal)
      deadline.progress++
      const block = createUnsafe({ cid, bytes, codec: await this.helia.getCodec(cid.code) })
      return [...block.links()].map(([, link]) => link)
    }

    await new Promise<void>((resolve, reject) => {
      const pump = (): void => {
        if (failure !== undefined) {
          if (active === 0) reject(failure.err)
          return
        }
        if (queue.length === 0 && active === 0) return resolve()
        while (active < PIN_FETCH_CONCURRENCY && queue.length > 0) {
          const cid = queue.shift()!
          active++
          fetchOne(cid).then(
            (links) => {
              active--
              for (const link of links) {
                const key = link.toString()
                if (seen.has(key)) continue
                seen.add(key)
                queue.push(link)
              }
              pump()
            },
            (err: unknown) => {
              active--
              if (failure === undefined) {
                failure = { err }
                stop.abort(err)
              }
              pump()
            },
          )
        }
      }
      pump()
    }).finally(() => fetcher.close())
  }
}

/** Hands a buffer to the importer in chunk-sized views (no copies). */
async function* sliceBytes(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += KUBO_CHUNK_SIZE) {
    yield bytes.subarray(offset, Math.min(offset + KUBO_CHUNK_SIZE, bytes.byteLength))
  }
}
