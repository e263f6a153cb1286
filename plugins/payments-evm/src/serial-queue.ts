// One account's transactions leave one at a time: each takes the next nonce, and the services may
// call in parallel.

import { AbortError } from '@wholesum/plugin-api'

export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve()

  /**
   * Runs `task` after every task queued before it. An abort while it waits rejects at once and
   * the task never runs; once it has started, the abort is ignored (what it sent stays sent).
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(notSent(signal))
    let started = false
    const turn = this.#tail.then(() => {
      if (signal?.aborted) throw notSent(signal)
      started = true
      return task()
    })
    this.#tail = turn.then(
      () => undefined,
      () => undefined,
    )
    if (signal === undefined) return turn
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (!started) reject(notSent(signal))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      turn.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }
}

export function notSent(signal: AbortSignal): AbortError {
  return new AbortError('aborted before the transaction was sent', { cause: signal.reason })
}
