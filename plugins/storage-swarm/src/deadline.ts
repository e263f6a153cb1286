// An idle deadline joined with the caller's AbortSignal, so every HTTP call to Bee can be cut off.
//
// `touch()` pushes the deadline back; the store calls it whenever data moves (a chunk uploaded, a
// piece of a download received), so `timeoutMs` bounds the longest wait, not a whole transfer.

import { AbortError, TimeoutError } from '@wholesum/plugin-api'

export class Deadline {
  readonly signal: AbortSignal
  readonly timeoutMs: number
  private readonly controller = new AbortController()
  private readonly outer: AbortSignal | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private expiredFlag = false
  private readonly onOuterAbort = (): void => this.controller.abort(this.outer?.reason)

  constructor(timeoutMs: number, outer: AbortSignal | undefined) {
    this.timeoutMs = timeoutMs
    this.outer = outer
    this.signal = this.controller.signal
    if (outer?.aborted) this.controller.abort(outer.reason)
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true })
    this.touch()
  }

  /** True once the idle deadline fired (as opposed to the caller aborting). */
  get expired(): boolean {
    return this.expiredFlag
  }

  /** True when the caller's own signal was aborted. */
  get callerAborted(): boolean {
    return this.outer?.aborted === true
  }

  touch(): void {
    clearTimeout(this.timer)
    if (this.controller.signal.aborted) return
    this.timer = setTimeout(() => {
      this.expiredFlag = true
      this.controller.abort(new TimeoutError(`no progress for ${this.timeoutMs} ms`))
    }, this.timeoutMs)
  }

  /** Stops the clock while we wait on the caller (its source), not on Bee; touch() restarts it. */
  pause(): void {
    clearTimeout(this.timer)
  }

  /** Throws AbortError / TimeoutError if the call is already over. */
  check(what: string): void {
    if (this.callerAborted) throw new AbortError(`${what}: aborted`)
    if (this.expiredFlag) throw new TimeoutError(`${what}: no progress within ${this.timeoutMs} ms`)
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.outer?.removeEventListener('abort', this.onOuterAbort)
  }
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (the promise is left to finish). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
