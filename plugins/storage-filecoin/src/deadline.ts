// One signal per call that ends on an idle timeout, the caller's abort or the plugin's shutdown.

import { AbortError, TimeoutError, type WholesumError } from '@wholesum/plugin-api'

/**
 * `timeoutMs` is an idle deadline: `touch()` (called whenever bytes move) pushes it back, so a
 * large transfer that keeps moving is never cut off, and a stalled one ends after `timeoutMs`.
 */
export class Deadline {
  readonly signal: AbortSignal
  readonly timeoutMs: number
  readonly #controller = new AbortController()
  readonly #outer: AbortSignal | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #expired = false
  #disposed = false
  readonly #onOuterAbort = (): void => this.#controller.abort(new AbortError())

  constructor(timeoutMs: number, ...signals: ReadonlyArray<AbortSignal | undefined>) {
    this.timeoutMs = timeoutMs
    this.signal = this.#controller.signal
    const present = signals.filter((s): s is AbortSignal => s !== undefined)
    this.#outer = present.length === 0 ? undefined : AbortSignal.any(present)
    if (this.#outer?.aborted) this.#controller.abort(new AbortError())
    else this.#outer?.addEventListener('abort', this.#onOuterAbort, { once: true })
    this.touch()
  }

  touch(): void {
    clearTimeout(this.#timer)
    // Late touches must not re-arm it: the SDK keeps reporting progress after its request failed.
    if (this.#disposed || this.#controller.signal.aborted) return
    this.#timer = setTimeout(() => {
      this.#expired = true
      this.#controller.abort(new TimeoutError(`nothing moved for ${this.timeoutMs} ms`))
    }, this.timeoutMs)
  }

  /** Stops the timer; the signal stays as it is. */
  dispose(): void {
    this.#disposed = true
    clearTimeout(this.#timer)
    this.#outer?.removeEventListener('abort', this.#onOuterAbort)
  }

  /** TimeoutError or AbortError when this deadline ended the call, else undefined. */
  failure(what: string): WholesumError | undefined {
    if (this.#expired) return new TimeoutError(`${what}: nothing moved for ${this.timeoutMs} ms`)
    if (this.#outer?.aborted) return new AbortError(`${what}: aborted`)
    return undefined
  }

  /**
   * Waits for `work` until the deadline ends. The Lighthouse SDK takes no AbortSignal, so its
   * request cannot be cancelled: we stop waiting, and its late result or error is dropped here
   * (it ends when the server answers or closes the connection).
   */
  race<T>(work: Promise<T>, what: string): Promise<T> {
    work.catch(() => undefined)
    if (this.signal.aborted) return Promise.reject(this.failure(what) ?? new AbortError())
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(this.failure(what) ?? new AbortError())
      this.signal.addEventListener('abort', onAbort, { once: true })
      work.then(
        (value) => {
          this.signal.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (err: unknown) => {
          this.signal.removeEventListener('abort', onAbort)
          reject(err)
        },
      )
    })
  }
}
