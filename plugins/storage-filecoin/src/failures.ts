// Turns what the Lighthouse SDK, fetch and the servers report into the plugin API's named errors.
//
// The SDK flattens every failure into `new Error(text)`: the HTTP status survives only as words
// ("Request failed with status code 401", "HTTP error! status: 404") and socket errors lose their
// `code` ("connect ECONNREFUSED …", or just "fetch failed"). Classifying on that text is the only
// way to branch on the SDK's errors; it is confined to this file and covered by tests.
//
// No text built here may carry the API key: every message is passed through `redact`, and the
// original error is not kept as `cause` (its stack or fields could hold text we did not check).

import {
  InvalidInputError,
  isWholesumError,
  NotFoundError,
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
  type WholesumError,
} from '@wholesum/plugin-api'

export const KEY_HELP =
  'set the plugin setting "apiKey" or the environment variable LIGHTHOUSE_API_KEY'

/** Replaces every occurrence of the secret (and of its `Bearer` form) with `[redacted]`. */
export function redact(text: string, secret: string | undefined): string {
  if (secret === undefined || secret.length === 0) return text
  return text.split(secret).join('[redacted]')
}

function textOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err.cause as { code?: unknown } | undefined)?.code
    return typeof code === 'string' ? `${err.message} (${code})` : err.message
  }
  return String(err)
}

const NETWORK =
  /fetch failed|ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ETIMEDOUT|EPIPE|socket hang up|other side closed|Network error/i

/** The error for an HTTP status from one of Lighthouse's services (or undefined for a 2xx). */
export function failureForStatus(status: number, what: string, service: string): WholesumError {
  if (status === 401 || status === 403) {
    return new UnavailableError(
      `${what}: Lighthouse refused the API key (HTTP ${status} from ${service}); ${KEY_HELP}`,
    )
  }
  if (status === 404) return new NotFoundError(`${what}: not found (HTTP 404 from ${service})`)
  if (status === 413) {
    return new ResourceLimitError(`${what}: too large for Lighthouse (HTTP 413 from ${service})`)
  }
  if (status === 429)
    return new UnavailableError(`${what}: rate limited (HTTP 429 from ${service})`)
  return new UnavailableError(`${what}: ${service} answered HTTP ${status}`)
}

/**
 * The named error for a failed SDK call or fetch. `service` names where the call went (a URL
 * the user configured: no secret in it), `secret` is the API key to scrub from any text.
 */
export function translateFailure(
  err: unknown,
  what: string,
  service: string,
  secret: string | undefined,
): WholesumError {
  if (isWholesumError(err)) return err
  const text = redact(textOf(err), secret)
  const status = /status code (\d{3})|status: (\d{3})/.exec(text)
  if (status !== null) return failureForStatus(Number(status[1] ?? status[2]), what, service)
  if (/Invalid CID/.test(text)) {
    return new InvalidInputError('INVALID_INPUT', `${what}: the Lighthouse SDK refused the CID`)
  }
  if (NETWORK.test(text)) return new UnavailableError(`${what}: cannot reach ${service} (${text})`)
  if (/Request timed out/.test(text)) return new TimeoutError(`${what}: ${service} timed out`)
  return new UnavailableError(`${what}: Lighthouse call to ${service} failed (${text})`)
}
