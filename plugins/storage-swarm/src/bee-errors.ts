// Turns what bee-js (axios underneath) throws into the plugin API's named errors, with messages
// that name the Bee URL and say what to do.

import { BeeArgumentError, BeeResponseError } from '@ethersphere/bee-js'
import {
  AbortError,
  InvalidInputError,
  isWholesumError,
  NotFoundError,
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
} from '@wholesum/plugin-api'
import type { Deadline } from './deadline.ts'

/** axios/Node messages that mean nothing (or nothing sane) is listening at the URL. */
const CONNECTION_FAILURE =
  /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|socket hang up|Parse Error/i

export interface FailureContext {
  /** The Bee API URL, for messages. */
  readonly url: string
  /** What was being done, e.g. `get bafkr…`. */
  readonly what: string
  readonly deadline?: Deadline
}

/** How to get a Bee node, said once in every "nothing answers" error. */
export function noBeeHint(url: string): string {
  return (
    `no Bee node answers at ${url}. Start one there (\`bee start\` with a funded node, or ` +
    '`bee dev` for a local test node) or point the storage-swarm setting `beeUrl` at a running node'
  )
}

/** The `message` Bee put in its JSON error body, if any (bodies arrive as objects or bytes). */
function bodyMessage(body: unknown): string | undefined {
  let value = body
  if (value instanceof ArrayBuffer) value = new Uint8Array(value)
  if (value instanceof Uint8Array) {
    if (value.byteLength > 4096) return undefined
    try {
      value = JSON.parse(Buffer.from(value).toString('utf8'))
    } catch {
      return undefined
    }
  }
  if (value !== null && typeof value === 'object') {
    const message = (value as { message?: unknown }).message
    if (typeof message === 'string') return message
  }
  return undefined
}

/** The HTTP status of a failed Bee call, or undefined when no answer came back. */
export function beeStatus(err: unknown): number | undefined {
  return err instanceof BeeResponseError ? err.status : undefined
}

export function translateBeeError(err: unknown, ctx: FailureContext): Error {
  if (isWholesumError(err)) return err
  const { url, what, deadline } = ctx
  if (deadline?.callerAborted === true) return new AbortError(`${what}: aborted`, { cause: err })
  if (deadline?.expired === true) {
    return new TimeoutError(
      `${what}: Bee at ${url} made no progress within ${deadline.timeoutMs} ms`,
      { cause: err },
    )
  }
  if (err instanceof BeeArgumentError) {
    return new InvalidInputError('INVALID_INPUT', `${what}: ${err.message}`, { cause: err })
  }
  if (err instanceof BeeResponseError) {
    const status = err.status
    if (status === undefined) {
      if (CONNECTION_FAILURE.test(err.message)) {
        return new UnavailableError(`${what}: ${noBeeHint(url)} (${err.message})`, { cause: err })
      }
      if (/timeout/i.test(err.message)) {
        return new TimeoutError(`${what}: Bee at ${url} timed out (${err.message})`, { cause: err })
      }
      if (err.statusText === 'ERR_CANCELED') {
        return new AbortError(`${what}: aborted`, { cause: err })
      }
      return new UnavailableError(`${what}: Bee at ${url} failed: ${err.message}`, { cause: err })
    }
    const detail = bodyMessage(err.responseBody) ?? err.statusText ?? ''
    const answer = `Bee at ${url} answered ${status}${detail ? ` (${detail})` : ''}`
    if (status === 404) return new NotFoundError(`${what}: ${answer}`, { cause: err })
    if (status === 402) {
      return new ResourceLimitError(
        `${what}: ${answer}: the postage batch cannot stamp more chunks; buy or top up a batch`,
        { cause: err },
      )
    }
    return new UnavailableError(`${what}: ${answer}`, { cause: err })
  }
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'AbortError' || name === 'CanceledError') {
    return new AbortError(`${what}: aborted`, { cause: err })
  }
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && CONNECTION_FAILURE.test(code)) {
    return new UnavailableError(`${what}: ${noBeeHint(url)} (${code})`, { cause: err })
  }
  return err instanceof Error ? err : new Error(String(err))
}
