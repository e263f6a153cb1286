// Lets go of what finished jobs no longer need: once a job's retention passes, its pins are
// released in the job store, unpinned from storage (unless another job still holds the same CID),
// its work files deleted, and storage garbage-collected. The job store says what is held; the
// decision is `planRetention`; this class only carries it out, on a timer or when asked.

import { rm } from 'node:fs/promises'
import { isWholesumError, type CidString, type Logger } from '@wholesum/plugin-api'
import type { StorageState, SweepResult } from '@wholesum/api-client'
import type { HeldPin, JobRole, JobStore } from '../store/index.ts'
import { planRetention, type RetentionPolicy } from './retention.ts'

/** What of a storage plugin housekeeping uses; `gc` only where the plugin has one (IPFS). */
export interface CollectableStorage {
  unpin(cid: CidString): Promise<void>
  gc?(): Promise<{ readonly blocks: number; readonly bytes: number }>
}

export interface HousekeeperOptions {
  readonly store: JobStore
  readonly storage: CollectableStorage
  readonly policy: RetentionPolicy
  readonly logger: Logger
  /**
   * The files on disk to delete once a job's pins of a class are released: its work files
   * (segments, receipts in progress) for `work`, everything it left for `output`.
   */
  readonly files: (jobId: string, role: JobRole | undefined, released: HeldPin['class']) => string[]
  readonly now?: () => number
}

export interface SweepReport {
  /** Jobs some pins of which were released. */
  readonly jobs: number
  /** Pins released in the store, and CIDs unpinned from storage (shared CIDs stay pinned). */
  readonly released: number
  readonly unpinned: number
  /** What garbage collection freed (0 when the plugin has no gc). */
  readonly freedBytes: number
  readonly freedBlocks: number
  /** When the next held pin falls due, if any does. */
  readonly nextAt: number | undefined
}

/** The longest the timer sleeps: jobs that end meanwhile are picked up by then. */
export const MAX_SWEEP_INTERVAL_MS = 600_000

export class Housekeeper {
  readonly #options: HousekeeperOptions
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #running: Promise<SweepReport> | undefined
  #stopped = false

  constructor(options: HousekeeperOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Sweeps now and then again whenever a pin falls due (at least every 10 minutes), until stop. */
  start(): void {
    this.#stopped = false
    this.#schedule(0)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running?.catch(() => {})
  }

  /** One pass; concurrent calls share it. */
  async sweep(): Promise<SweepReport> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = undefined
    })
    return await this.#running
  }

  /** Pins held now, by class, and when the next of them falls due. */
  held(): { readonly work: number; readonly output: number; readonly nextAt: number | undefined } {
    const now = this.#now()
    const pins = this.#options.store.heldPins(now)
    const { nextAt } = planRetention(pins, now, this.#options.policy)
    const work = pins.filter((p) => p.class === 'work').length
    return { work, output: pins.length - work, nextAt }
  }

  /** What the API shows of storage: `usage` from the store (undefined: it cannot say). */
  state(
    usage: { usedBytes: number; blocks: number; quotaBytes: number | undefined } | undefined,
  ): StorageState {
    const held = this.held()
    const { workMs, outputsMs } = this.#options.policy
    return {
      usedBytes: usage?.usedBytes ?? null,
      blocks: usage?.blocks ?? null,
      quotaBytes: usage?.quotaBytes ?? null,
      held: { work: held.work, output: held.output },
      retention: {
        workHours: workMs / 3_600_000,
        outputsDays: outputsMs === undefined ? null : outputsMs / 86_400_000,
      },
      nextReleaseAt: held.nextAt ?? null,
    }
  }

  /** A sweep, reported as the API reports it. */
  async sweepForApi(): Promise<SweepResult> {
    const { nextAt, ...report } = await this.sweep()
    return { ...report, nextReleaseAt: nextAt ?? null }
  }

  /** A job just ended: sweep soon rather than at the next scheduled pass. */
  wake(): void {
    if (this.#stopped || this.#timer === undefined) return
    clearTimeout(this.#timer)
    this.#schedule(1_000)
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      void this.sweep()
        .then(
          (report) => report.nextAt,
          (err: unknown) => {
            this.#options.logger.warn('storage housekeeping failed', {
              error: (err as Error).message,
            })
            return undefined
          },
        )
        .then((nextAt) => {
          const until = nextAt === undefined ? MAX_SWEEP_INTERVAL_MS : nextAt - this.#now()
          this.#schedule(Math.max(1_000, Math.min(MAX_SWEEP_INTERVAL_MS, until)))
        })
    }, delayMs)
    this.#timer.unref()
  }

  async #sweep(): Promise<SweepReport> {
    const { store, storage, policy, logger } = this.#options
    const now = this.#now()
    const plan = planRetention(store.heldPins(now), now, policy)
    let released = 0
    let unpinned = 0
    for (const [jobId, pins] of plan.due) {
      const free = store.releasePins(
        jobId,
        pins.map((p) => p.cid),
        now,
      )
      released += pins.length
      const failed: HeldPin[] = []
      for (const cid of free) {
        try {
          await storage.unpin(cid)
          unpinned += 1
        } catch (err) {
          // Not pinned any more (someone unpinned it by hand) is what we wanted anyway.
          if (isWholesumError(err) && err.code === 'NOT_FOUND') continue
          failed.push(pins.find((p) => p.cid === cid)!)
          logger.warn('unpin failed; will retry', { jobId, cid, error: (err as Error).message })
        }
      }
      // Held again, so the next sweep tries once more.
      for (const klass of ['work', 'output'] as const) {
        const again = failed.filter((p) => p.class === klass).map((p) => p.cid)
        if (again.length > 0) store.recordPins(jobId, klass, again, now)
      }
      const stillHeld = new Set(
        store
          .getPins(jobId)
          .filter((p) => p.releasedAt === undefined)
          .map((p) => p.class),
      )
      const role = pins[0]!.role
      for (const klass of new Set(pins.map((p) => p.class))) {
        if (stillHeld.has(klass)) continue
        for (const file of this.#options.files(jobId, role, klass)) {
          await rm(file, { recursive: true, force: true })
        }
      }
      logger.info('job storage released', { jobId, pins: pins.length, unpinned: free.length })
    }
    let freedBytes = 0
    let freedBlocks = 0
    if (unpinned > 0 && storage.gc !== undefined) {
      const gc = await storage.gc()
      freedBytes = gc.bytes
      freedBlocks = gc.blocks
      logger.info('storage collected', { bytes: gc.bytes, blocks: gc.blocks })
    }
    return { jobs: plan.due.size, released, unpinned, freedBytes, freedBlocks, nextAt: plan.nextAt }
  }
}
