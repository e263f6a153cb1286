// Reads and checks the plugin's settings section; the API key may also come from the environment.

import { InvalidInputError } from '@wholesum/plugin-api'
import {
  LIGHTHOUSE_API_URL,
  LIGHTHOUSE_GATEWAY_URL,
  LIGHTHOUSE_UPLOAD_URL,
} from './lighthouse-client.ts'
import { DEFAULT_MAX_OBJECT_BYTES, DEFAULT_TIMEOUT_MS } from './store.ts'

export interface FilecoinSettings {
  readonly apiKey: string | undefined
  /** Where the key came from, for the log line (never the key itself). */
  readonly apiKeySource: 'settings' | 'LIGHTHOUSE_API_KEY' | 'none'
  readonly apiUrl: string
  readonly uploadUrl: string
  readonly gatewayUrl: string
  readonly timeoutMs: number
  readonly maxObjectBytes: number
}

function invalid(name: string, rule: string): InvalidInputError {
  return new InvalidInputError('INVALID_INPUT', `storage-filecoin: setting "${name}" ${rule}`)
}

function url(settings: Readonly<Record<string, unknown>>, name: string, fallback: string): string {
  const value = settings[name]
  if (value === undefined) return fallback
  if (typeof value === 'string') {
    try {
      const parsed = new URL(value)
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
        // The SDK appends paths to these bases: keep no trailing slash.
        return value.replace(/\/+$/, '')
      }
    } catch {
      // reported below
    }
  }
  throw invalid(name, `must be an http(s) URL, got ${JSON.stringify(value)}`)
}

function positiveInteger(
  settings: Readonly<Record<string, unknown>>,
  name: string,
  fallback: number,
): number {
  const value = settings[name]
  if (value === undefined) return fallback
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value
  throw invalid(name, `must be a positive integer, got ${JSON.stringify(value)}`)
}

export function readSettings(
  settings: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): FilecoinSettings {
  const configured = settings.apiKey
  // The key's value is never echoed, not even when it is of the wrong type.
  if (configured !== undefined && typeof configured !== 'string') {
    throw invalid('apiKey', 'must be a string')
  }
  const fromEnv = env.LIGHTHOUSE_API_KEY
  const apiKey = configured || fromEnv || undefined
  return {
    apiKey,
    apiKeySource: configured ? 'settings' : fromEnv ? 'LIGHTHOUSE_API_KEY' : 'none',
    apiUrl: url(settings, 'apiUrl', LIGHTHOUSE_API_URL),
    uploadUrl: url(settings, 'uploadUrl', LIGHTHOUSE_UPLOAD_URL),
    gatewayUrl: url(settings, 'gatewayUrl', LIGHTHOUSE_GATEWAY_URL),
    timeoutMs: positiveInteger(settings, 'timeoutMs', DEFAULT_TIMEOUT_MS),
    maxObjectBytes: positiveInteger(settings, 'maxObjectBytes', DEFAULT_MAX_OBJECT_BYTES),
  }
}
