// The `storage` section of settings.json: the embedded store's quota and how long finished jobs'
// pins are kept. Checked at start, so a typo is an error that names the field, not a default.

import { InvalidInputError } from '@wholesum/plugin-api'
import { DEFAULT_RETENTION, type RetentionPolicy } from './retention.ts'

export interface StorageSettings {
  /** Limit on the embedded IPFS store's block bytes; undefined: none. */
  readonly quotaBytes: number | undefined
  readonly retention: RetentionPolicy
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

function bad(field: string, what: string, value: unknown): never {
  const name = field === '' ? 'storage' : `storage.${field}`
  throw new InvalidInputError(
    'INVALID_INPUT',
    `settings ${name} must be ${what}, not ${JSON.stringify(value)}`,
  )
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(field, 'an object', value)
  }
  return value as Record<string, unknown>
}

function onlyKeys(value: Record<string, unknown>, keys: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `settings storage${field === '' ? '' : `.${field}`} has an unknown key "${key}" (known: ${keys.join(', ')})`,
      )
    }
  }
}

function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    bad(field, 'a number of at least 0', value)
  }
  return value
}

/**
 * `{ quotaBytes?, retention?: { workHours?, outputsDays? } }`. `outputsDays: null` (the default)
 * keeps outputs for good; `workHours` defaults to 1.
 */
export function parseStorageSettings(raw: unknown): StorageSettings {
  const storage = record(raw, '')
  onlyKeys(storage, ['quotaBytes', 'retention'], '')
  const quota = storage['quotaBytes']
  if (quota !== undefined && !(Number.isSafeInteger(quota) && (quota as number) >= 0)) {
    bad('quotaBytes', 'a whole number of bytes', quota)
  }
  const retention = record(storage['retention'], 'retention')
  onlyKeys(retention, ['workHours', 'outputsDays'], 'retention')
  const workHours = retention['workHours']
  const outputsDays = retention['outputsDays']
  const outputsMs =
    outputsDays === undefined || outputsDays === null
      ? DEFAULT_RETENTION.outputsMs
      : nonNegative(outputsDays, 'retention.outputsDays') * DAY_MS
  return {
    quotaBytes: quota as number | undefined,
    retention: {
      workMs:
        workHours === undefined
          ? DEFAULT_RETENTION.workMs
          : Math.round(nonNegative(workHours, 'retention.workHours') * HOUR_MS),
      ...(outputsMs !== undefined ? { outputsMs: Math.round(outputsMs) } : {}),
    },
  }
}
