// Identifiers: a Swarm `/bytes` reference written as a CID, and parsing of the forms we accept.
//
// The store hands out CIDv1 strings (multibase base32, lower case):
//
//   0x01 (CIDv1) · 0x55 (codec `raw`) · 0x1b (multihash `keccak-256`) · 0x20 (32 bytes) · reference
//
// Why this form and not bee-js's `convertReferenceToCid`: bee-js knows only the codecs
// `swarm-manifest` (0xfa) and `swarm-feed` (0xfb). Our objects are plain `/bytes` chunk trees, not
// manifests, and a tool that sees a swarm-manifest CID opens it with `/bzz`, which fails on raw bytes.
// So the codec says `raw`. The hash code 0x1b follows Swarm's own CIDs (bee-js writes 0x1b for the
// same 32-byte BMT address): strictly the digest is the BMT chunk-tree root (keccak-256 based), not
// keccak-256 of the bytes, so an IPFS tool cannot verify it; only a Swarm reader can.
//
// On input we also take the plain 64-hex reference (either case). Encrypted references (128 hex) and
// swarm-manifest / swarm-feed CIDs are refused with a message that says why.

import { InvalidInputError } from '@wholesum/plugin-api'

/** The CID prefix bytes: CIDv1, raw, keccak-256, 32-byte digest. */
const CID_PREFIX = Uint8Array.of(0x01, 0x55, 0x1b, 0x20)
const SWARM_MANIFEST_CODEC = 0xfa
const SWARM_FEED_CODEC = 0xfb
const HEX_REFERENCE = /^[0-9a-fA-F]{64}$/
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** A 64-character lower-case hex Swarm reference (32 bytes). */
export type ReferenceHex = string

/** RFC 4648 base32, lower case, no padding (the multibase `b` alphabet). */
function base32Encode(bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31]
  return out
}

function base32Decode(text: string): Uint8Array | undefined {
  const out: number[] = []
  let buffer = 0
  let bits = 0
  for (const char of text) {
    const value = BASE32.indexOf(char)
    if (value < 0) return undefined
    buffer = ((buffer << 5) | value) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  // Leftover bits must be zero padding, else the string is not a canonical encoding.
  if (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0) return undefined
  return Uint8Array.from(out)
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** The CID string for a 32-byte Swarm reference (hex). */
export function referenceToCid(reference: ReferenceHex): string {
  if (!HEX_REFERENCE.test(reference)) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `not a Swarm reference: ${JSON.stringify(reference)}`,
    )
  }
  const bytes = new Uint8Array(CID_PREFIX.length + 32)
  bytes.set(CID_PREFIX)
  bytes.set(Buffer.from(reference, 'hex'), CID_PREFIX.length)
  return 'b' + base32Encode(bytes)
}

function refuse(id: string, why: string): never {
  throw new InvalidInputError(
    'INVALID_INPUT',
    `not a Swarm /bytes identifier: ${JSON.stringify(id)} (${why})`,
  )
}

/**
 * Parses an identifier given to the store: one of our CIDs or a plain 64-hex reference. Returns
 * the reference as lower-case hex; anything else is InvalidInputError (thrown synchronously).
 */
export function parseSwarmId(id: unknown): ReferenceHex {
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidInputError('INVALID_INPUT', `not a Swarm identifier: ${JSON.stringify(id)}`)
  }
  if (HEX_REFERENCE.test(id)) return id.toLowerCase()
  if (/^[0-9a-fA-F]{128}$/.test(id)) {
    refuse(id, 'an encrypted reference (128 hex); this store reads unencrypted /bytes content only')
  }
  if (!id.startsWith('b')) {
    refuse(id, 'expected a 64-hex reference or a base32 CIDv1 starting with "b"')
  }
  const bytes = base32Decode(id.slice(1))
  if (bytes === undefined) refuse(id, 'not valid base32')
  if (bytes.length >= 2 && bytes[0] === 0x01) {
    // Codecs 0xfa / 0xfb are two-byte varints (0xfa 0x01, 0xfb 0x01).
    if (bytes[1] === SWARM_MANIFEST_CODEC && bytes[2] === 0x01) {
      refuse(id, 'a swarm-manifest CID names a /bzz collection, not /bytes content')
    }
    if (bytes[1] === SWARM_FEED_CODEC && bytes[2] === 0x01) {
      refuse(id, 'a swarm-feed CID names a feed, not /bytes content')
    }
  }
  if (bytes.length !== CID_PREFIX.length + 32 || CID_PREFIX.some((b, i) => bytes[i] !== b)) {
    refuse(id, 'expected CIDv1, codec raw (0x55), multihash keccak-256 (0x1b), 32 bytes')
  }
  return hexOf(bytes.subarray(CID_PREFIX.length))
}
