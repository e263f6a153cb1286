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
  if (value instanceof Uint8Array) return `${value.length} bytes`
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

const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const WEI = /^(?:0|[1-9][0-9]{0,77})$/
const MAX_UINT256 = (1n << 256n) - 1n
const BYTES32 = /^(?:0x)?[0-9a-fA-F]{64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/
const TX_KIND = /^[a-z][a-z0-9-]{0,31}$/
/** Largest signed message kept as an attestation's envelope. */
export const MAX_ENVELOPE_BYTES = 64 * 1024

/** An EVM address in any letter case, returned in lowercase (the ledger's one spelling of it). */
export function address(value: unknown, what: string): string {
  if (typeof value !== 'string' || !ADDRESS.test(value)) {
    bad(what, 'must be an EVM address (0x and 40 hex digits)', value)
  }
  return value.toLowerCase()
}

/** A whole amount of wei as a decimal string that fits a uint256. */
export function wei(value: unknown, what: string): string {
  if (typeof value !== 'string' || !WEI.test(value) || BigInt(value) > MAX_UINT256) {
    bad(what, 'must be a whole number of wei as a decimal string (at most 2^256 - 1)', value)
  }
  return value
}

/** A chain ID: a whole number, one or more. */
export function chainId(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    bad(what, 'must be a chain ID (a whole number, one or more)', value)
  }
  return value
}

/** 32 bytes (a digest) in hex, 0x optional, returned as 64 lowercase hex digits without 0x (as the protocol carries it). */
export function bytes32(value: unknown, what: string): string {
  if (typeof value !== 'string' || !BYTES32.test(value)) {
    bad(what, 'must be 32 bytes of hex (64 digits, 0x optional)', value)
  }
  return value.replace(/^0x/, '').toLowerCase()
}

/** A 65-byte ECDSA signature (r, s, v) as 0x and 130 hex digits, returned in lowercase. */
export function signature(value: unknown, what: string): string {
  if (typeof value !== 'string' || !SIGNATURE.test(value)) {
    bad(what, 'must be a 65-byte signature (0x and 130 hex digits)', value)
  }
  return value.toLowerCase()
}

/** A transaction hash, returned as 0x and 64 lowercase hex digits. */
export function txHash(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    bad(what, 'must be a transaction hash (0x and 64 hex digits)', value)
  }
  return value.toLowerCase()
}

/** What a transaction did, in a word: `open`, `claim-accepted`… */
export function txKind(value: unknown, what: string): string {
  if (typeof value !== 'string' || !TX_KIND.test(value)) {
    bad(what, 'must be 1 to 32 characters: a lowercase letter, then a-z 0-9 -', value)
  }
  return value
}

/** Bytes kept as they are (a signed message), non-empty and at most MAX_ENVELOPE_BYTES. */
export function envelope(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > MAX_ENVELOPE_BYTES) {
    bad(what, `must be 1 to ${MAX_ENVELOPE_BYTES} bytes (a Uint8Array)`, value)
  }
  return value
}
