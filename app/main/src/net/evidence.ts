// Checks the benchmark receipt an offer names: fetched from the offering prover, verified on its
// own by the prover plugin, its po2 read from the verified seal. The market then counts the offer's
// reported Hz only when this says `verified`, and declines an offer whose receipt is a lie.

import { randomBytes } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Redial } from './transfer.ts'
import {
  isWholesumError,
  type CidString,
  type ProverPlugin,
  type StoragePlugin,
} from '@wholesum/plugin-api'
import type { EvidenceCheck } from '../pipeline/market.ts'
import { fetchFromHolder } from './transfer.ts'

export interface EvidenceCheckerOptions {
  readonly storage: StoragePlugin
  readonly peers: Redial
  readonly prover: Pick<ProverPlugin, 'inspectSegment'>
  /** Scratch space for fetched receipts (each is deleted once checked). */
  readonly workDir: string
  /** Idle time after which a fetch counts as unreachable (default 5 s). */
  readonly fetchTimeoutMs?: number
  /** Receipts larger than this are invalid (default 16 MiB: a po2 22 segment receipt is < 2 MiB). */
  readonly maxBytes?: number
  /** Checks remembered per receipt CID, so a prover's many offers cost one check (default 512). */
  readonly cacheSize?: number
  /** Checks run at once; more wait, so a flood of offers cannot flood the worker (default 2). */
  readonly concurrency?: number
}

export class EvidenceChecker {
  private readonly options: EvidenceCheckerOptions
  /** Settled checks by CID, oldest first (a Map keeps insertion order). */
  private readonly cache = new Map<string, EvidenceCheck>()
  private readonly inFlight = new Map<string, Promise<EvidenceCheck>>()
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(options: EvidenceCheckerOptions) {
    this.options = options
  }

  /** Never rejects: every outcome is an `EvidenceCheck`. */
  async check(prover: string, receiptCid: CidString | undefined): Promise<EvidenceCheck> {
    if (receiptCid === undefined) return { status: 'absent' }
    const cached = this.cache.get(receiptCid)
    if (cached !== undefined) return cached
    const pending = this.inFlight.get(receiptCid)
    if (pending !== undefined) return await pending
    const run = this.limited(() => this.fetchAndInspect(prover, receiptCid))
    this.inFlight.set(receiptCid, run)
    try {
      const result = await run
      // An unreachable receipt may be reachable later: only a verdict on the bytes is kept.
      if (result.status !== 'unreachable') this.remember(receiptCid, result)
      return result
    } finally {
      this.inFlight.delete(receiptCid)
    }
  }

  private async fetchAndInspect(prover: string, receiptCid: CidString): Promise<EvidenceCheck> {
    const dir = join(this.options.workDir, 'evidence')
    const file = join(dir, `${randomBytes(8).toString('hex')}.receipt`)
    try {
      try {
        await mkdir(dir, { recursive: true })
        await fetchFromHolder(
          this.options.storage,
          this.options.peers,
          { peerId: prover },
          receiptCid,
          file,
          {
            maxBytes: this.options.maxBytes ?? 16 * 1024 * 1024,
            timeoutMs: this.options.fetchTimeoutMs ?? 5_000,
          },
        )
      } catch (err) {
        const reason = (err as Error).message
        // Too large, not a CID, or blocks that do not match it: the prover's own doing. Silence
        // may be the network's.
        const lies = ['RESOURCE_LIMIT', 'INVALID_INPUT', 'VERIFICATION_FAILED']
        if (isWholesumError(err) && lies.includes(err.code)) {
          return { status: 'invalid', reason }
        }
        return { status: 'unreachable', reason }
      }
      try {
        const evidence = await this.options.prover.inspectSegment({ receipt: file })
        return { status: 'verified', po2: evidence.po2, claimDigest: evidence.claimDigest }
      } catch (err) {
        if (isWholesumError(err) && err.code === 'VERIFICATION_FAILED') {
          return { status: 'invalid', reason: err.message }
        }
        // The worker itself failed: nothing is known about the receipt.
        return { status: 'unreachable', reason: `not checked: ${(err as Error).message}` }
      }
    } finally {
      await rm(file, { force: true })
    }
  }

  private remember(cid: string, result: EvidenceCheck): void {
    this.cache.set(cid, result)
    const limit = this.options.cacheSize ?? 512
    while (this.cache.size > limit) this.cache.delete(this.cache.keys().next().value!)
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    const limit = this.options.concurrency ?? 2
    while (this.running >= limit) await new Promise<void>((r) => this.waiting.push(r))
    this.running += 1
    try {
      return await work()
    } finally {
      this.running -= 1
      this.waiting.shift()?.()
    }
  }
}
