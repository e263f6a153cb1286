// The node's blocks on disk: verified reads, bytes in use, the quota, and garbage collection that
// never deletes a block an operation in progress relies on.
//
// Helia's own `helia.gc()` deletes every unpinned block, including those a put is still writing
// (checked with helia 7.1.15: a put paused half way lost its blocks to `helia.gc()`, and its pin
// then waited for them on the network until it timed out). Here every put and pin holds a `Guard`
// and touches each block through it before it checks, writes or reads that block; deletions skip
// touched blocks. A touch and a deletion's check each run synchronously, and writes and deletions
// of one block take turns (reads wait for the turn under way), so either the deletion sees the
// touch and keeps the block, or the toucher finds the block gone and writes or fetches it again.

import { createHash } from 'node:crypto'
import { readdir, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import { ResourceLimitError, VerificationError } from '@wholesum/plugin-api'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

export interface SpaceUsage {
  /** Bytes of block files under `blocks/` (their contents; file system overhead not included). */
  readonly usedBytes: number
  /** Number of block files. */
  readonly blocks: number
  /** The limit on `usedBytes`, or undefined when there is none. */
  readonly quotaBytes: number | undefined
}

export interface GcResult {
  /** Blocks deleted and the bytes they held. */
  readonly blocks: number
  readonly bytes: number
  /** Blocks kept because a pin holds them. */
  readonly pinned: number
  /** Blocks kept because a put or pin in progress touched them. */
  readonly inUse: number
  readonly ms: number
}

/** An operation in progress (a put, a pin): the blocks it touched are never deleted under it. */
export interface Guard {
  /** Call before the block is first checked, written or read by the operation. */
  touch(cid: CID): void
  close(): void
}

class OpenGuard implements Guard {
  readonly touched = new Set<string>()
  private readonly onClose: (guard: OpenGuard) => void
  private closed = false
  constructor(onClose: (guard: OpenGuard) => void) {
    this.onClose = onClose
  }
  touch(cid: CID): void {
    if (!this.closed) this.touched.add(keyOf(cid))
  }
  close(): void {
    if (this.closed) return
    this.closed = true
    this.onClose(this)
  }
}

const SHA2_256 = 0x12
const IDENTITY = 0x00

/** blockstore-fs's default file layout, given to it explicitly so that we can find a block's file. */
const LAYOUT = new NextToLast()

function keyOf(cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('hex')
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

export interface BlockSpaceInit {
  /** Re-hash every block read from disk (default true). */
  readonly verifyReads?: boolean
  /** Limit on the bytes of block files; undefined: none. */
  readonly quotaBytes?: number
}

/**
 * A blockstore-fs that checks what it reads, counts what it holds and guards what is in use.
 *
 * - Reads: blockstore-fs trusts its own files; this one re-hashes every block it reads and throws
 *   VerificationError when the bytes no longer match the CID (bit rot, a tampered file).
 * - Accounting: `scan()` sums the block files at start; writes and deletions keep the sum.
 * - Quota: a write that would pass `quotaBytes` first runs `gc()`, then, if it still does not fit,
 *   fails with ResourceLimitError. Every write is checked, whether a put or a fetch from a peer.
 * - Deletion (`delete`, `gc`, a failed put's clean-up) skips blocks a guard has touched.
 */
export class BlockSpace extends FsBlockstore {
  quotaBytes: number | undefined
  /** Set by the node once Helia exists: whether a pin holds the block. */
  isPinned: (cid: CID) => Promise<boolean> = async () => false

  private readonly verify: boolean
  private used = 0
  private count = 0
  private reserved = 0
  private readonly guards = new Set<OpenGuard>()
  /** Guards closed while a deletion pass ran; they keep protecting until the passes end. */
  private retired: OpenGuard[] = []
  private passes = 0
  /** Per block: the tail of its chain of writes and deletions (one at a time). */
  private readonly turns = new Map<string, Promise<void>>()
  private sweep: Promise<GcResult> | undefined
  private nextSweep: Promise<GcResult> | undefined

  constructor(location: string, init: BlockSpaceInit = {}) {
    super(location, { shardingStrategy: LAYOUT })
    this.verify = init.verifyReads !== false
    this.quotaBytes = init.quotaBytes
  }

  /** Sums the block files and removes temporary files a crashed write left behind. */
  async scan(): Promise<void> {
    let used = 0
    let count = 0
    const entries = await readdir(this.path, { recursive: true, withFileTypes: true })
    for (const entry of entries) {
      if (!entry.isFile()) continue
      const file = join(entry.parentPath, entry.name)
      // blockstore-fs writes through steno: `.<name>.data.tmp`, then a rename.
      if (entry.name.startsWith('.') && entry.name.endsWith('.tmp')) {
        await unlink(file).catch(() => {})
        continue
      }
      if (!entry.name.endsWith(LAYOUT.extension)) continue
      const info = await stat(file).catch(() => undefined)
      if (info === undefined) continue
      used += info.size
      count++
    }
    this.used = used
    this.count = count
  }

  usage(): SpaceUsage {
    return { usedBytes: this.used, blocks: this.count, quotaBytes: this.quotaBytes }
  }

  guard(): Guard {
    const guard = new OpenGuard((closed) => {
      this.guards.delete(closed)
      if (this.passes > 0) this.retired.push(closed)
    })
    this.guards.add(guard)
    return guard
  }

  // --- the Blockstore interface ---

  override async has(key: CID, options?: AbortOptions): Promise<boolean> {
    await this.settled(keyOf(key))
    return await super.has(key, options)
  }

  override async *get(key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    await this.settled(keyOf(key))
    const parts: Uint8Array[] = []
    for await (const part of super.get(key, options)) parts.push(part)
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    if (this.verify) {
      const { code, digest } = key.multihash
      let ok: boolean
      if (code === SHA2_256) ok = createHash('sha256').update(bytes).digest().equals(digest)
      else if (code === IDENTITY) ok = Buffer.from(bytes).equals(digest)
      else throw new VerificationError(`block ${key}: unsupported hash 0x${code.toString(16)}`)
      if (!ok) throw new VerificationError(`block ${key} on disk does not match its CID`)
    }
    yield bytes
  }

  override async put(key: CID, val: Uint8Array, options?: AbortOptions): Promise<CID> {
    const k = keyOf(key)
    await this.settled(k)
    if (await super.has(key, options)) return key
    const size = val.byteLength
    await this.admit(size)
    try {
      await this.inTurn(k, async () => {
        if (await super.has(key, options)) return
        await super.put(key, val, options)
        this.used += size
        this.count++
      })
    } finally {
      this.reserved -= size
    }
    return key
  }

  /** Deletes the block unless a guard touched it (then it stays, silently). */
  override async delete(key: CID, _options?: AbortOptions): Promise<void> {
    await this.remove(key)
  }

  // --- deletion ---

  /**
   * Deletes one block unless an open guard (other than `except`) touched it. Returns the bytes
   * freed, or undefined when the block was kept. Pins are the caller's business.
   */
  async remove(key: CID, except?: Guard): Promise<number | undefined> {
    const k = keyOf(key)
    return await this.inTurn(k, async () => {
      if (this.isGuarded(k, except)) return undefined
      const { dir, file } = LAYOUT.encode(key)
      const path = join(this.path, dir, file)
      const info = await stat(path).catch(() => undefined)
      if (info === undefined) return 0
      try {
        await unlink(path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
        throw err
      }
      this.used -= info.size
      this.count--
      return info.size
    })
  }

  /**
   * Runs `fn` as a deletion pass: guards closed meanwhile keep protecting until it ends, so a
   * block that was unpinned when checked and then pinned by a guard that closed is never deleted.
   */
  async pass<T>(fn: () => Promise<T>): Promise<T> {
    this.passes++
    try {
      return await fn()
    } finally {
      if (--this.passes === 0) this.retired = []
    }
  }

  /**
   * Deletes every block that no pin holds and no guard touched. One sweep at a time: a call while
   * one runs waits for it and then runs the next (calls that arrive together share that one).
   */
  async gc(): Promise<GcResult> {
    if (this.sweep === undefined) {
      this.sweep = this.runSweep().finally(() => (this.sweep = undefined))
      return await this.sweep
    }
    this.nextSweep ??= this.sweep
      .catch(() => undefined)
      .then(() => {
        this.nextSweep = undefined
        return this.gc()
      })
    return await this.nextSweep
  }

  private async runSweep(): Promise<GcResult> {
    const started = performance.now()
    let blocks = 0
    let bytes = 0
    let pinned = 0
    let inUse = 0
    const one = async (cid: CID): Promise<void> => {
      if (this.isGuarded(keyOf(cid))) {
        inUse++
        return
      }
      if (await this.isPinned(cid)) {
        pinned++
        return
      }
      const freed = await this.remove(cid)
      if (freed === undefined) inUse++
      else if (freed > 0) {
        blocks++
        bytes += freed
      }
    }
    await this.pass(async () => {
      let batch: CID[] = []
      // FsBlockstore.getAll lists the files; the lazy `bytes` of each pair is never opened.
      for await (const { cid } of super.getAll()) {
        batch.push(cid)
        if (batch.length === 32) {
          await Promise.all(batch.map(one))
          batch = []
        }
      }
      await Promise.all(batch.map(one))
    })
    return { blocks, bytes, pinned, inUse, ms: performance.now() - started }
  }

  // --- guards, turns and the quota ---

  private isGuarded(k: string, except?: Guard): boolean {
    for (const guard of this.guards) if (guard !== except && guard.touched.has(k)) return true
    for (const guard of this.retired) if (guard !== except && guard.touched.has(k)) return true
    return false
  }

  /** Waits until no write or deletion of the block is under way. */
  private async settled(k: string): Promise<void> {
    const tail = this.turns.get(k)
    if (tail !== undefined) await tail
  }

  private async inTurn<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const before = this.turns.get(k)
    let done!: () => void
    const mine = new Promise<void>((resolve) => (done = resolve))
    const tail = before === undefined ? mine : before.then(() => mine)
    this.turns.set(k, tail)
    try {
      if (before !== undefined) await before
      return await fn()
    } finally {
      done()
      if (this.turns.get(k) === tail) this.turns.delete(k)
    }
  }

  /** Reserves room for a new block, collecting garbage first if the quota would be passed. */
  private async admit(size: number): Promise<void> {
    const quota = this.quotaBytes
    if (quota !== undefined && this.used + this.reserved + size > quota) {
      await this.gc()
      if (this.used + this.reserved + size > quota) {
        throw new ResourceLimitError(
          `storage quota (quotaBytes ${quota}, ${mib(quota)}) reached: ${mib(this.used)} in ` +
            `blocks after garbage collection, ${mib(this.reserved)} being written, ` +
            `a block of ${size} B does not fit`,
        )
      }
    }
    this.reserved += size
  }
}
