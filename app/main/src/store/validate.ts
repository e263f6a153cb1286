// Checks every value before it reaches the job store, with errors that name the field and the fault.

import { InvalidInputError } from '@wholesum/plugin-api'
import { CID } from 'multiformats/cid'

const HEX = /^(?:[0-9a-f]{2}){1,128}$/
const PEER = /^[A-Za-z0-9]{16,128}$/
const NONCE = /^[A-Za-z0-9_-]{1,128}$/
const DECIMAL = /^(?:0|[1-9][0-9]{0,77})(?:\.[0-9]{1,78})?$/
const EVENT_TYPE = /^[a-z][a-z0-9._:-]{0,63}$/
const MAX_CID_LENGTH = 256
/** Largest JSON accepted for a job's `extra` or an event's `data`; blobs belong in storage. */
export const MAX_JSON_BYTES = 1024 * 1024
/** Longer error texts are cut to this many characters (an error must not fail to be stored). */
export const MAX_ERROR_LENGTH = 8192

function bad(what: string, rule: string, value: unknown): never {
  throw new InvalidInputError('INVALID_INPUT', `${what} ${rule}; got ${show(value)}`)
}

function show(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  }
  if (typeof value === 'bigint') return `${value}n`
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

/** Lowercase hex of whole bytes (job IDs, image IDs, claim digests). */
export function hex(value: unknown, what: string): string {
  if (typeof value !== 'string' || !HEX.test(value)) {
    bad(what, 'must be lowercase hex of whole bytes (2 to 256 digits)', value)
  }
  return value
}

/** An IPFS CID (v0 `Qm…` or v1 base32 `b…`), as multiformats parses it. */
export function cid(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CID_LENGTH) {
    bad(what, 'must be a CID string', value)
  }
  try {
    CID.parse(value)
  } catch {
    bad(what, 'is not a valid CID', value)
  }
  return value
}

/** A libp2p peer ID in its string form (base58btc or base32 multibase). */
export function peer(value: unknown, what: string): string {
  if (typeof value !== 'string' || !PEER.test(value)) {
    bad(what, 'must be a peer ID (16 to 128 letters and digits)', value)
  }
  return value
}

export function nonce(value: unknown, what: string): string {
  if (typeof value !== 'string' || !NONCE.test(value)) {
    bad(what, 'must be 1 to 128 letters, digits, "-" or "_"', value)
  }
  return value
}

/** A non-negative decimal in a token's base unit, kept as a string to lose no precision. */
export function decimal(value: unknown, what: string): string {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    bad(what, 'must be a non-negative decimal string such as "1500" or "0.25"', value)
  }
  return value
}

/** A time in ms since the epoch. */
export function time(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    bad(what, 'must be a whole number of ms since the epoch', value)
  }
  return value
}

/** A count or an index: a whole number, zero or more. */
export function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    bad(what, 'must be a whole number, zero or more', value)
  }
  return value
}

export function po2(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 32) {
    bad(what, 'must be a whole number from 1 to 32', value)
  }
  return value
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    bad(what, `must be one of ${allowed.join(', ')}`, value)
  }
  return value as T
}

export function eventType(value: unknown, what: string): string {
  if (typeof value !== 'string' || !EVENT_TYPE.test(value)) {
    bad(what, 'must be 1 to 64 characters: a lowercase letter, then a-z 0-9 . _ : -', value)
  }
  return value
}

/** An error text to store: any string, cut to MAX_ERROR_LENGTH. */
export function errorText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0)
    bad(what, 'must be a non-empty string', value)
  return value.length > MAX_ERROR_LENGTH ? `${value.slice(0, MAX_ERROR_LENGTH - 1)}…` : value
}

export function boolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') bad(what, 'must be true or false', value)
  return value
}

/** Serializes a JSON value, refusing what JSON cannot carry faithfully. */
export function json(value: unknown, what: string): string {
  checkJson(value, what, 0)
  const text = JSON.stringify(value)
  if (Buffer.byteLength(text) > MAX_JSON_BYTES) {
    bad(what, `must serialize to at most ${MAX_JSON_BYTES} bytes of JSON`, `${text.length} chars`)
  }
  return text
}

export function jsonObject(value: unknown, what: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(what, 'must be a JSON object', value)
  }
  return json(value, what)
}

function checkJson(value: unknown, what: string, depth: number): void {
  if (depth > 64) bad(what, 'must nest at most 64 levels deep', value)
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) bad(what, 'must hold only finite numbers', value)
    return
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJson(item, `${what}[${i}]`, depth + 1))
    return
  }
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) bad(what, 'must be plain JSON data', value)
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue
      checkJson(item, `${what}.${key}`, depth + 1)
    }
    return
  }
  bad(what, 'must be JSON data (no undefined, functions, symbols or bigints)', value)
}
