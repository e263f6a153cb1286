// The plugin's settings: parsed and checked once, with documented defaults and units.

import { InvalidInputError } from '@wholesum/plugin-api'

export interface AutoBuyBatch {
  /** Per-chunk balance in PLUR (a decimal integer string, as Bee's `POST /stamps/{amount}/{depth}`). */
  readonly amount: string
  /** Batch depth: 2^depth chunks; Bee requires more than its bucket depth (17 at least). */
  readonly depth: number
}

export interface SwarmSettings {
  /** Bee API URL; loopback only (the manifest declares `network:loopback`). */
  readonly beeUrl: string
  /** Batch to stamp uploads with; when absent, a usable batch of the node is picked. */
  readonly postageBatchId?: string
  /** Buy a batch when the node has no usable one. Off unless set: it spends the node's BZZ. */
  readonly autoBuyBatch?: AutoBuyBatch
  /** Longest wait for progress on one call, in milliseconds. */
  readonly timeoutMs: number
  /** Largest object put or get will move, in bytes. */
  readonly maxObjectBytes: number
}

export const DEFAULT_BEE_URL = 'http://127.0.0.1:1633'
export const DEFAULT_TIMEOUT_MS = 30_000
export const DEFAULT_MAX_OBJECT_BYTES = 1024 * 1024 * 1024

const BATCH_ID = /^[0-9a-fA-F]{64}$/

function bad(field: string, why: string): never {
  throw new InvalidInputError('INVALID_INPUT', `storage-swarm setting "${field}" ${why}`)
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host === '::1') return true
  const parts = host.split('.')
  return (
    parts.length === 4 &&
    parts[0] === '127' &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
  )
}

function positiveInteger(raw: unknown, field: string, fallback: number): number {
  if (raw === undefined) return fallback
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw <= 0) {
    bad(field, `must be a positive integer, got ${JSON.stringify(raw)}`)
  }
  return raw
}

function parseBeeUrl(raw: unknown): string {
  if (raw === undefined) return DEFAULT_BEE_URL
  if (typeof raw !== 'string') bad('beeUrl', `must be a string, got ${JSON.stringify(raw)}`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    bad('beeUrl', `is not a URL: ${JSON.stringify(raw)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    bad('beeUrl', `must be http:// or https://, got ${JSON.stringify(raw)}`)
  }
  if (!isLoopbackHost(url.hostname)) {
    bad(
      'beeUrl',
      `must be on this machine (127.0.0.0/8, ::1 or localhost), got ${JSON.stringify(raw)}: ` +
        'the plugin declares only the network:loopback permission',
    )
  }
  return url.toString().replace(/\/$/, '')
}

function parseAutoBuy(raw: unknown): AutoBuyBatch | undefined {
  if (raw === undefined || raw === null || raw === false) return undefined
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    bad('autoBuyBatch', 'must be an object { amount, depth } or absent')
  }
  const { amount, depth } = raw as { amount?: unknown; depth?: unknown }
  const amountText =
    typeof amount === 'number' && Number.isSafeInteger(amount) ? String(amount) : amount
  if (typeof amountText !== 'string' || !/^[1-9]\d*$/.test(amountText)) {
    bad(
      'autoBuyBatch.amount',
      `must be a positive integer (PLUR per chunk), got ${JSON.stringify(amount)}`,
    )
  }
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 17 || depth > 255) {
    bad('autoBuyBatch.depth', `must be an integer from 17 to 255, got ${JSON.stringify(depth)}`)
  }
  return { amount: amountText, depth }
}

/** Reads the plugin's settings section; every problem names the field. */
export function parseSettings(raw: Readonly<Record<string, unknown>>): SwarmSettings {
  const batch = raw.postageBatchId
  if (batch !== undefined && (typeof batch !== 'string' || !BATCH_ID.test(batch))) {
    bad('postageBatchId', `must be 64 hex characters, got ${JSON.stringify(batch)}`)
  }
  const autoBuyBatch = parseAutoBuy(raw.autoBuyBatch)
  return {
    beeUrl: parseBeeUrl(raw.beeUrl),
    ...(batch !== undefined ? { postageBatchId: batch.toLowerCase() } : {}),
    ...(autoBuyBatch !== undefined ? { autoBuyBatch } : {}),
    timeoutMs: positiveInteger(raw.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS),
    maxObjectBytes: positiveInteger(raw.maxObjectBytes, 'maxObjectBytes', DEFAULT_MAX_OBJECT_BYTES),
  }
}
