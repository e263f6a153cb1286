// Turns typed messages into signed dag-cbor envelopes and back, refusing anything not proved valid.

import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { MessageError } from './errors.ts'
import { checkJobId } from './job-id.ts'
import {
  DEFAULT_CLOCK_WINDOW_MS,
  MAX_ENVELOPE_BYTES,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  type Bodies,
  type Message,
  type MessageOf,
  type MessageType,
  type Unsigned,
} from './messages.ts'
import type { ReplayGuard } from './replay.ts'
import { isMessageType, validateEnvelope } from './schema.ts'

export { MessageError, type MessageErrorCode } from './errors.ts'
export { messageId } from './replay.ts'

/** The signature covers SIGNATURE_DOMAIN_PREFIX + type, a zero byte, then the unsigned envelope. */
export const SIGNATURE_DOMAIN_PREFIX = `wholesum/v${PROTOCOL_VERSION}/`

export interface EncodeOptions {
  /** The sender's libp2p private key; must be Ed25519. */
  privateKey: PrivateKey
  /** From the sender's SeqCounter. */
  seq: number
  /** The sender's clock, ms since epoch; becomes `ts`. */
  now: number
}

export interface DecodeOptions<T extends MessageType = MessageType> {
  /** The receiver's clock, ms since epoch. */
  now: number
  /** The type or types allowed here (a topic's or a stream's); anything else is 'wrong-type'. */
  expectedType?: T | readonly T[]
  /**
   * The peer the bytes came from at the transport level: the remote peer of a stream, or the
   * signed `from` of a gossipsub message. The envelope's `from` must equal it.
   */
  expectedFrom?: PeerId | string
  /** Half-width of the clock window; default the guard's windowMs, else DEFAULT_CLOCK_WINDOW_MS. */
  windowMs?: number
  /** When given, the message is checked against it last and, if new, remembered. */
  replay?: ReplayGuard
}

const utf8 = new TextEncoder()

/** The bytes an envelope's signature covers. */
export function signingBytes(unsigned: Unsigned<MessageType>): Uint8Array {
  const { v, type, from, seq, ts, body } = unsigned
  const domain = utf8.encode(SIGNATURE_DOMAIN_PREFIX + type)
  const cbor = dagCbor.encode({ v, type, from, seq, ts, body })
  const out = new Uint8Array(domain.length + 1 + cbor.length)
  out.set(domain, 0)
  out.set(cbor, domain.length + 1)
  return out
}

// Ed25519 (RFC 8032) through node:crypto, synchronously: the same primitive @libp2p/crypto uses
// under Node, over the same key bytes, but never a Promise, so encode and decode stay synchronous.
const privateKeys = new WeakMap<object, KeyObject>()
const publicKeys = new Map<string, KeyObject>()
const MAX_CACHED_PUBLIC_KEYS = 1024

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

function signingKey(privateKey: PrivateKey): KeyObject {
  let key = privateKeys.get(privateKey)
  if (key === undefined) {
    // An Ed25519 key's raw form is the 32-byte seed followed by the 32-byte public key.
    const raw = privateKey.raw
    key = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: b64url(raw.subarray(0, 32)),
        x: b64url(raw.subarray(32, 64)),
      },
    })
    privateKeys.set(privateKey, key)
  }
  return key
}

function verifyingKey(from: string): KeyObject | undefined {
  let key = publicKeys.get(from)
  if (key === undefined) {
    const raw = peerIdFromString(from).publicKey?.raw
    if (raw === undefined || raw.byteLength !== 32) return undefined
    key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) } })
    if (publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) publicKeys.clear()
    publicKeys.set(from, key)
  }
  return key
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    Object.getPrototypeOf(value) === Object.prototype
  )
}

/** Optional fields set to undefined are left out, as dag-cbor has no undefined. */
function withoutUndefined<V>(value: V): V {
  if (!isPlainMap(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) out[key] = withoutUndefined(field)
  }
  return out as V
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Signs and encodes one message. Throws MessageError when the body breaks the schema
 * ('bad-schema'), a need's jobId is not derived from its contents ('bad-job-id'), the key is not
 * Ed25519 ('unsupported-key') or the result is over its type's cap ('too-large').
 */
export function encodeSigned<T extends MessageType>(
  type: T,
  body: Bodies[T],
  options: EncodeOptions,
): Uint8Array {
  const { privateKey, seq, now } = options
  if (privateKey.type !== 'Ed25519')
    throw new MessageError(
      'unsupported-key',
      `cannot sign with a ${privateKey.type} key; only Ed25519`,
    )
  const unsigned = {
    v: PROTOCOL_VERSION,
    type,
    from: peerIdFromPrivateKey(privateKey).toString(),
    seq,
    ts: now,
    body: withoutUndefined(body),
  } as Unsigned<T>
  validateEnvelope(unsigned as unknown as Record<string, unknown>)
  if (type === 'need') checkJobId(unsigned as Unsigned<'need'>)
  const sig = new Uint8Array(sign(null, signingBytes(unsigned), signingKey(privateKey)))
  const bytes = dagCbor.encode({ ...unsigned, sig })
  if (bytes.byteLength > MAX_MESSAGE_BYTES[type])
    throw new MessageError(
      'too-large',
      `${type} is ${bytes.byteLength} bytes, over ${MAX_MESSAGE_BYTES[type]}`,
    )
  return bytes
}

/**
 * Decodes one envelope and proves it valid, in this order: size, dag-cbor (canonical), version,
 * type, schema, signature present, need's jobId, signature, sender, clock window, replay. Throws
 * MessageError with the code of the first check that fails; returns the typed message.
 */
export function decodeVerified<T extends MessageType = MessageType>(
  bytes: Uint8Array,
  options: DecodeOptions<T>,
): MessageOf<T> {
  const { now, replay } = options
  const windowMs = options.windowMs ?? replay?.windowMs ?? DEFAULT_CLOCK_WINDOW_MS
  if (replay && replay.windowMs < windowMs)
    throw new RangeError(
      `the replay guard's window (${replay.windowMs} ms) is shorter than ${windowMs} ms`,
    )
  const expected =
    options.expectedType === undefined
      ? undefined
      : typeof options.expectedType === 'string'
        ? [options.expectedType]
        : options.expectedType

  // 1. Size, before a byte is decoded.
  if (!(bytes instanceof Uint8Array)) throw new MessageError('malformed', 'not bytes')
  const cap = expected
    ? Math.max(0, ...expected.map((t) => MAX_MESSAGE_BYTES[t] ?? 0))
    : MAX_ENVELOPE_BYTES
  if (bytes.byteLength > cap)
    throw new MessageError('too-large', `${bytes.byteLength} bytes, over the ${cap}-byte cap`)

  // 2. One canonical dag-cbor map.
  let decoded: unknown
  try {
    decoded = dagCbor.decode(bytes)
  } catch (err) {
    throw new MessageError('malformed', `not dag-cbor: ${(err as Error).message}`, { cause: err })
  }
  if (!isPlainMap(decoded)) throw new MessageError('malformed', 'not a map')
  let canonical: Uint8Array
  try {
    canonical = dagCbor.encode(decoded)
  } catch (err) {
    throw new MessageError('malformed', `not re-encodable: ${(err as Error).message}`, {
      cause: err,
    })
  }
  if (!sameBytes(canonical, bytes))
    throw new MessageError('malformed', 'not in canonical dag-cbor form')

  // 3. Version.
  if (decoded.v !== PROTOCOL_VERSION)
    throw new MessageError(
      'bad-version',
      `version ${String(decoded.v)}; this node speaks ${PROTOCOL_VERSION}`,
    )

  // 4. Type: known, expected here, and within its own cap.
  const type = decoded.type
  if (!isMessageType(type))
    throw new MessageError(
      'bad-schema',
      `envelope.type: unknown message type ${JSON.stringify(type)}`,
    )
  if (expected && !(expected as readonly string[]).includes(type))
    throw new MessageError(
      'wrong-type',
      `a ${type} message where ${expected.join(' or ')} was expected`,
    )
  if (bytes.byteLength > MAX_MESSAGE_BYTES[type])
    throw new MessageError(
      'too-large',
      `${type} is ${bytes.byteLength} bytes, over ${MAX_MESSAGE_BYTES[type]}`,
    )

  // 5. Schema (every field), then the signature's presence.
  validateEnvelope(decoded)
  const message = decoded as unknown as Message
  if (!Object.hasOwn(decoded, 'sig')) throw new MessageError('unsigned', `${type} has no signature`)

  // 6. A need's jobId must be derived from its own contents.
  if (message.type === 'need') checkJobId(message)

  // 7. Signature, by the key inside the sender's peer ID (schema.ts admits only Ed25519).
  let valid = false
  try {
    const key = verifyingKey(message.from)
    valid = key !== undefined && verify(null, signingBytes(message), key, message.sig)
  } catch {
    valid = false
  }
  if (!valid)
    throw new MessageError('bad-signature', `${type} signature does not verify for ${message.from}`)

  // 8. Sender: the signer is the peer the transport says sent it.
  if (options.expectedFrom !== undefined && message.from !== options.expectedFrom.toString())
    throw new MessageError(
      'wrong-sender',
      `${type} signed by ${message.from}, received from ${options.expectedFrom.toString()}`,
    )

  // 9. Clock window.
  if (message.ts < now - windowMs)
    throw new MessageError('stale', `${type} made ${now - message.ts} ms ago, over ${windowMs} ms`)
  if (message.ts > now + windowMs)
    throw new MessageError(
      'future',
      `${type} made ${message.ts - now} ms ahead, over ${windowMs} ms`,
    )

  // 10. Replay and duplicate.
  replay?.check(message, bytes, now)
  return message as MessageOf<T>
}
