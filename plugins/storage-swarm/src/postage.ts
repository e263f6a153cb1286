// Chooses the postage batch that stamps our uploads: the configured one, else a usable batch the
// node owns, else (only when `autoBuyBatch` is set) a newly bought one. Errors say what to do.

import type { Bee, BeeRequestOptions, PostageBatch } from '@ethersphere/bee-js'
import { AbortError, TimeoutError, UnavailableError } from '@wholesum/plugin-api'
import { beeStatus, translateBeeError } from './bee-errors.ts'
import type { AutoBuyBatch } from './settings.ts'

export interface PostageOptions {
  readonly bee: Bee
  readonly url: string
  readonly postageBatchId?: string
  readonly autoBuyBatch?: AutoBuyBatch
  /** Per-request timeout of the lookup (ms); the lookup is shared, so no caller's signal ends it. */
  readonly timeoutMs: number
  /** How long to wait for a bought batch to become usable (ms); Bee needs block confirmations. */
  readonly usableTimeoutMs?: number
}

/** Label of batches this plugin buys, so a person can tell them apart in `GET /stamps`. */
export const BATCH_LABEL = 'wholesum'

/** A batch worth using: usable, not expired, not full. Prefer room left, then time left. */
export function pickUsableBatch(batches: readonly PostageBatch[]): PostageBatch | undefined {
  const usable = batches.filter((b) => b.usable && b.usage < 1 && b.duration.toSeconds() > 0)
  usable.sort(
    (a, b) =>
      b.remainingSize.toBytes() - a.remainingSize.toBytes() ||
      b.duration.toSeconds() - a.duration.toSeconds(),
  )
  return usable[0]
}

export class PostageBatches {
  private readonly options: PostageOptions
  private current: Promise<string> | undefined

  constructor(options: PostageOptions) {
    this.options = options
  }

  /**
   * The batch ID (hex) to stamp with. Concurrent callers share one lookup (and one purchase), so it
   * runs under its own request timeout rather than any one caller's signal.
   */
  batchId(): Promise<string> {
    if (this.current === undefined) {
      const pending = this.resolve({ timeout: this.options.timeoutMs })
      this.current = pending
      // A failed lookup is not remembered: the next put asks the node again.
      pending.catch(() => {
        if (this.current === pending) this.current = undefined
      })
    }
    return this.current
  }

  /** Forget the chosen batch (it filled up or vanished); the next put chooses again. */
  forget(): void {
    this.current = undefined
  }

  private async resolve(request: BeeRequestOptions): Promise<string> {
    const { bee, url, postageBatchId } = this.options
    if (postageBatchId !== undefined) return await this.checkConfigured(postageBatchId, request)
    let batches: PostageBatch[]
    try {
      batches = await bee.getPostageBatches(request)
    } catch (err) {
      throw translateBeeError(err, { url, what: 'list postage batches' })
    }
    const picked = pickUsableBatch(batches)
    if (picked !== undefined) return picked.batchID.toHex()
    if (this.options.autoBuyBatch !== undefined)
      return await this.buy(this.options.autoBuyBatch, request)
    throw new UnavailableError(
      `no usable postage batch on the Bee node at ${url} (${batches.length} batch(es), none usable): ` +
        'buy one (`swarm-cli stamp buy`, or POST /stamps/{amount}/{depth}) and set the storage-swarm ' +
        'setting `postageBatchId`, or set `autoBuyBatch` { amount, depth } to let the plugin buy one',
    )
  }

  private async checkConfigured(id: string, request: BeeRequestOptions): Promise<string> {
    const { bee, url } = this.options
    let batch: PostageBatch
    try {
      batch = await bee.getPostageBatch(id, request)
    } catch (err) {
      const status = beeStatus(err)
      if (status === 404 || status === 400) {
        throw new UnavailableError(
          `postage batch ${id} (setting \`postageBatchId\`) is not known to the Bee node at ${url}: ` +
            'check the ID against GET /stamps, or remove the setting to use any usable batch',
          { cause: err },
        )
      }
      throw translateBeeError(err, { url, what: `look up postage batch ${id}` })
    }
    if (!batch.usable) {
      throw new UnavailableError(
        `postage batch ${id} on the Bee node at ${url} is not usable yet (it needs block ` +
          'confirmations after purchase); try again shortly',
      )
    }
    return batch.batchID.toHex()
  }

  private async buy(plan: AutoBuyBatch, request: BeeRequestOptions): Promise<string> {
    const { bee, url } = this.options
    try {
      const id = await bee.createPostageBatch(
        plan.amount,
        plan.depth,
        {
          label: BATCH_LABEL,
          waitForUsable: true,
          waitForUsableTimeout: this.options.usableTimeoutMs ?? 240_000,
        },
        request,
      )
      return id.toHex()
    } catch (err) {
      const cause = translateBeeError(err, { url, what: 'buy a postage batch (autoBuyBatch)' })
      if (cause instanceof AbortError || cause instanceof TimeoutError) throw cause
      throw new UnavailableError(
        `could not buy a postage batch (amount ${plan.amount}, depth ${plan.depth}) on the Bee ` +
          `node at ${url}: ${cause.message}`,
        { cause: err },
      )
    }
  }
}
