// The checker's two limits, read from options or plugin settings with one set of rules.

import { InvalidInputError } from '@wholesum/plugin-api'

export const DEFAULT_TIMEOUT_MS = 120_000
export const DEFAULT_MAX_RECEIPT_BYTES = 256 * 1024 * 1024
/** The WebAssembly verifier itself refuses receipts larger than this. */
export const VERIFIER_MAX_RECEIPT_BYTES = 512 * 1024 * 1024

export interface CheckerLimits {
  /** Longest one check may spend in the verifier (ms), time queued excluded. */
  readonly timeoutMs: number
  /** Larger receipts are refused before they reach the verifier. */
  readonly maxReceiptBytes: number
}

/** Fills in defaults; a value that is not a whole number in range is an InvalidInputError. */
export function readLimits(values: {
  readonly timeoutMs?: unknown
  readonly maxReceiptBytes?: unknown
}): CheckerLimits {
  return {
    timeoutMs: wholeNumber('timeoutMs', values.timeoutMs, 1, 2 ** 31 - 1) ?? DEFAULT_TIMEOUT_MS,
    maxReceiptBytes:
      wholeNumber('maxReceiptBytes', values.maxReceiptBytes, 1, VERIFIER_MAX_RECEIPT_BYTES) ??
      DEFAULT_MAX_RECEIPT_BYTES,
  }
}

function wholeNumber(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `verifier setting ${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`,
    )
  }
  return value
}
