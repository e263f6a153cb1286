// Hand-written validators: one per message type, checking every field's type, range and length.

import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { bitfieldBytesProblem } from './bitfield.ts'
import { MessageError } from './errors.ts'
import {
  ACCELERATORS,
  ED25519_SIGNATURE_BYTES,
  JOB_STAGES,
  JOB_STATES,
  MAX_ACCEPTANCES,
  MAX_ADDR_CHARS,
  MAX_CAPACITY,
  MAX_CHAIN_ID,
  MAX_CID_CHARS,
  MAX_CLIENT_ADDRS,
  MAX_CPUS,
  MAX_DURATION_MS,
  MAX_HZ,
  MAX_ITEMS,
  MAX_MEMORY_MIB,
  MAX_PEER_ID_CHARS,
  MAX_PO2,
  MAX_PROOF_HASHES,
  MAX_REASON_CHARS,
  MAX_TTL_MS,
  MAX_U32,
  MAX_VERIFIERS,
  MAX_WEI_DIGITS,
  MESSAGE_TYPES,
  MIN_PO2,
  STAGES,
  VERDICTS,
  type Bodies,
  type MessageType,
} from './messages.ts'

type Fields = Record<string, unknown>

function fail(path: string, what: string): never {
  throw new MessageError('bad-schema', `${path}: ${what}`)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `string ${JSON.stringify(value.slice(0, 40))}`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

/** A plain map with exactly the `required` keys and any of the `optional` ones. */
export function fields(
  value: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Fields {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array ||
    Object.getPrototypeOf(value) !== Object.prototype
  )
    fail(path, `expected a map, got ${describe(value)}`)
  const map = value as Fields
  for (const key of Object.keys(map)) {
    if (!required.includes(key) && !optional.includes(key)) fail(path, `unknown field "${key}"`)
  }
  for (const key of required) {
    if (!Object.hasOwn(map, key)) fail(path, `missing field "${key}"`)
  }
  return map
}

export function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    fail(path, `expected an integer, got ${describe(value)}`)
  if (value < min || value > max) fail(path, `${value} is outside ${min}..${max}`)
  return value
}

function finite(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(path, `expected a number, got ${describe(value)}`)
  if (value < min || value > max) fail(path, `${value} is outside ${min}..${max}`)
  return value
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, `expected a boolean, got ${describe(value)}`)
  return value
}

function text(value: unknown, path: string, maxChars: number): string {
  if (typeof value !== 'string') fail(path, `expected a string, got ${describe(value)}`)
  if (value.length > maxChars) fail(path, `${value.length} characters, over ${maxChars}`)
  return value
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    fail(path, `expected one of ${allowed.join(', ')}, got ${describe(value)}`)
  return value as T
}

export function bytes(value: unknown, path: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(path, `expected bytes, got ${describe(value)}`)
  if (value.byteLength !== length) fail(path, `${value.byteLength} bytes, expected ${length}`)
  return value
}

const HEX32 = /^[0-9a-f]{64}$/
export function hex32(value: unknown, path: string): string {
  const s = text(value, path, 64)
  if (!HEX32.test(s)) fail(path, 'expected 64 lowercase hex characters')
  return s
}

const WEI = /^(0|[1-9][0-9]*)$/
const MAX_WEI = (1n << 256n) - 1n
function wei(value: unknown, path: string): string {
  const s = text(value, path, MAX_WEI_DIGITS)
  if (!WEI.test(s)) fail(path, 'expected an unsigned decimal integer without leading zeros')
  if (BigInt(s) > MAX_WEI) fail(path, 'over 2^256 - 1')
  return s
}

const CONTROL = /[\u0000-\u001f\u007f]/
function reason(value: unknown, path: string): string {
  const s = text(value, path, MAX_REASON_CHARS)
  if (s.length === 0) fail(path, 'empty')
  if (CONTROL.test(s)) fail(path, 'contains control characters')
  return s
}

export function cid(value: unknown, path: string): string {
  const s = text(value, path, MAX_CID_CHARS)
  let canonical: string
  try {
    canonical = CID.parse(s).toString()
  } catch {
    fail(path, `not a CID: ${JSON.stringify(s.slice(0, 40))}`)
  }
  if (canonical !== s) fail(path, `not in canonical form (${canonical})`)
  return s
}

/**
 * A canonical base58btc peer ID with an Ed25519 key. Other key types are refused with
 * 'unsupported-key': every participant signs envelopes, and only Ed25519 peer IDs carry their
 * public key (RSA IDs are a hash of it), so only they can be verified from the ID alone.
 */
export function peerId(value: unknown, path: string): string {
  const s = text(value, path, MAX_PEER_ID_CHARS)
  let parsed: ReturnType<typeof peerIdFromString>
  try {
    parsed = peerIdFromString(s)
  } catch {
    fail(path, `not a peer ID: ${JSON.stringify(s.slice(0, 60))}`)
  }
  if (parsed.toString() !== s) fail(path, `not in canonical form (${parsed.toString()})`)
  if (parsed.type !== 'Ed25519')
    throw new MessageError(
      'unsupported-key',
      `${path}: a ${parsed.type} peer ID; only Ed25519 is supported`,
    )
  return s
}

function address(value: unknown, path: string): string {
  const s = text(value, path, MAX_ADDR_CHARS)
  try {
    multiaddr(s)
  } catch {
    fail(path, `not a multiaddr: ${JSON.stringify(s.slice(0, 60))}`)
  }
  return s
}

const EVM_ADDRESS = /^0x[0-9a-f]{40}$/
/** An EVM address in lowercase hex: one spelling per account, so equal accounts compare equal. */
export function evmAddress(value: unknown, path: string): string {
  const s = text(value, path, 42)
  if (!EVM_ADDRESS.test(s)) fail(path, 'expected 0x and 40 lowercase hex characters')
  return s
}

const EVM_SIGNATURE = /^0x[0-9a-f]{130}$/
function evmSignature(value: unknown, path: string): string {
  const s = text(value, path, 132)
  if (!EVM_SIGNATURE.test(s)) fail(path, 'expected 0x and 130 lowercase hex characters')
  return s
}

function list(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, `expected an array, got ${describe(value)}`)
  if (value.length > max) fail(path, `${value.length} entries, over ${max}`)
  return value
}

function payee(value: unknown, path: string): void {
  const p = fields(value, path, ['account', 'issuedAt', 'accountSignature', 'peerSignature'])
  evmAddress(p.account, `${path}.account`)
  integer(p.issuedAt, `${path}.issuedAt`, 0, Number.MAX_SAFE_INTEGER)
  evmSignature(p.accountSignature, `${path}.accountSignature`)
  const sig = text(p.peerSignature, `${path}.peerSignature`, 130)
  if (!/^0x[0-9a-f]{128}$/.test(sig))
    fail(`${path}.peerSignature`, 'expected 0x and 128 lowercase hex characters')
}

const chainId = (v: unknown, path: string): number => integer(v, path, 1, MAX_CHAIN_ID)

const epochMs = (v: unknown, path: string): number => integer(v, path, 0, Number.MAX_SAFE_INTEGER)
const item = (v: unknown, path: string): number => integer(v, path, 0, MAX_ITEMS - 1)
const round = (v: unknown, path: string): number => integer(v, path, 0, MAX_U32)

type Validator = (body: unknown, path: string) => void

const BODIES: { readonly [T in MessageType]: Validator } = {
  need(body, path) {
    const f = fields(
      body,
      path,
      [
        'jobId',
        'nonce',
        'imageId',
        'inputCid',
        'programCid',
        'segments',
        'po2',
        'rewardPerSegment',
        'deadline',
        'requirements',
        'clientAddrs',
      ],
      ['escrow'],
    )
    hex32(f.jobId, `${path}.jobId`)
    hex32(f.nonce, `${path}.nonce`)
    hex32(f.imageId, `${path}.imageId`)
    cid(f.inputCid, `${path}.inputCid`)
    cid(f.programCid, `${path}.programCid`)
    integer(f.segments, `${path}.segments`, 1, MAX_ITEMS)
    integer(f.po2, `${path}.po2`, MIN_PO2, MAX_PO2)
    wei(f.rewardPerSegment, `${path}.rewardPerSegment`)
    epochMs(f.deadline, `${path}.deadline`)
    const r = fields(f.requirements, `${path}.requirements`, [
      'minMemoryMiB',
      'proverKind',
      'recursion',
    ])
    integer(r.minMemoryMiB, `${path}.requirements.minMemoryMiB`, 0, MAX_MEMORY_MIB)
    oneOf(r.proverKind, `${path}.requirements.proverKind`, ['risc0'])
    bool(r.recursion, `${path}.requirements.recursion`)
    const addrs = f.clientAddrs
    if (!Array.isArray(addrs))
      fail(`${path}.clientAddrs`, `expected an array, got ${describe(addrs)}`)
    if (addrs.length > MAX_CLIENT_ADDRS)
      fail(`${path}.clientAddrs`, `${addrs.length} addresses, over ${MAX_CLIENT_ADDRS}`)
    addrs.forEach((a, i) => address(a, `${path}.clientAddrs[${i}]`))
    if (Object.hasOwn(f, 'escrow')) {
      const e = fields(f.escrow, `${path}.escrow`, [
        'chainId',
        'contract',
        'client',
        'collateral',
        'verifiers',
      ])
      chainId(e.chainId, `${path}.escrow.chainId`)
      evmAddress(e.contract, `${path}.escrow.contract`)
      evmAddress(e.client, `${path}.escrow.client`)
      wei(e.collateral, `${path}.escrow.collateral`)
      const verifiers = list(e.verifiers, `${path}.escrow.verifiers`, MAX_VERIFIERS)
      let last = ''
      verifiers.forEach((v, i) => {
        const a = evmAddress(v, `${path}.escrow.verifiers[${i}]`)
        if (a <= last) fail(`${path}.escrow.verifiers[${i}]`, 'not in ascending order')
        last = a
      })
    }
  },
  offer(body, path) {
    const f = fields(
      body,
      path,
      ['jobId', 'pricePerSegment', 'capacity', 'hardware', 'benchmark', 'recursion'],
      ['payee'],
    )
    hex32(f.jobId, `${path}.jobId`)
    wei(f.pricePerSegment, `${path}.pricePerSegment`)
    integer(f.capacity, `${path}.capacity`, 1, MAX_CAPACITY)
    const h = fields(f.hardware, `${path}.hardware`, ['cpus', 'memoryMiB', 'accelerator'])
    integer(h.cpus, `${path}.hardware.cpus`, 1, MAX_CPUS)
    integer(h.memoryMiB, `${path}.hardware.memoryMiB`, 1, MAX_MEMORY_MIB)
    oneOf(h.accelerator, `${path}.hardware.accelerator`, ACCELERATORS)
    const b = fields(f.benchmark, `${path}.benchmark`, ['hz'], ['receiptCid'])
    if (Object.hasOwn(b, 'receiptCid')) cid(b.receiptCid, `${path}.benchmark.receiptCid`)
    finite(b.hz, `${path}.benchmark.hz`, 0, MAX_HZ)
    bool(f.recursion, `${path}.recursion`)
    if (Object.hasOwn(f, 'payee')) payee(f.payee, `${path}.payee`)
  },
  deal(body, path) {
    const f = fields(body, path, ['jobId', 'prover', 'pricePerSegment', 'manifestCid', 'expires'])
    hex32(f.jobId, `${path}.jobId`)
    peerId(f.prover, `${path}.prover`)
    wei(f.pricePerSegment, `${path}.pricePerSegment`)
    cid(f.manifestCid, `${path}.manifestCid`)
    epochMs(f.expires, `${path}.expires`)
  },
  decline(body, path) {
    const f = fields(body, path, ['jobId', 'reason'])
    hex32(f.jobId, `${path}.jobId`)
    reason(f.reason, `${path}.reason`)
  },
  cancel(body, path) {
    const f = fields(body, path, ['jobId', 'reason'])
    hex32(f.jobId, `${path}.jobId`)
    reason(f.reason, `${path}.reason`)
  },
  bitfield(body, path) {
    const f = fields(body, path, ['jobId', 'stage', 'round', 'total', 'bits', 'endgame'])
    hex32(f.jobId, `${path}.jobId`)
    oneOf(f.stage, `${path}.stage`, STAGES)
    round(f.round, `${path}.round`)
    const total = integer(f.total, `${path}.total`, 1, MAX_ITEMS)
    if (!(f.bits instanceof Uint8Array))
      fail(`${path}.bits`, `expected bytes, got ${describe(f.bits)}`)
    const problem = bitfieldBytesProblem(f.bits, total)
    if (problem) fail(`${path}.bits`, problem)
    bool(f.endgame, `${path}.endgame`)
  },
  claim(body, path) {
    const f = fields(body, path, ['jobId', 'stage', 'index', 'round'])
    hex32(f.jobId, `${path}.jobId`)
    oneOf(f.stage, `${path}.stage`, STAGES)
    item(f.index, `${path}.index`)
    round(f.round, `${path}.round`)
  },
  'claim-ack'(body, path) {
    const f = fields(body, path, ['jobId', 'index', 'granted', 'ttlMs'], ['inputs'])
    hex32(f.jobId, `${path}.jobId`)
    item(f.index, `${path}.index`)
    bool(f.granted, `${path}.granted`)
    integer(f.ttlMs, `${path}.ttlMs`, 0, MAX_TTL_MS)
    if (Object.hasOwn(f, 'inputs')) {
      if (!Array.isArray(f.inputs) || f.inputs.length !== 2) {
        throw new MessageError('bad-schema', `${path}.inputs must be two CIDs`)
      }
      cid(f.inputs[0], `${path}.inputs[0]`)
      cid(f.inputs[1], `${path}.inputs[1]`)
    }
  },
  proof(body, path) {
    const f = fields(body, path, ['jobId', 'stage', 'index', 'round', 'receiptCid', 'proveMs'])
    hex32(f.jobId, `${path}.jobId`)
    oneOf(f.stage, `${path}.stage`, STAGES)
    item(f.index, `${path}.index`)
    round(f.round, `${path}.round`)
    cid(f.receiptCid, `${path}.receiptCid`)
    integer(f.proveMs, `${path}.proveMs`, 0, MAX_DURATION_MS)
  },
  'proof-ack'(body, path) {
    const f = fields(body, path, ['jobId', 'index', 'accepted'], ['reason'])
    hex32(f.jobId, `${path}.jobId`)
    item(f.index, `${path}.index`)
    bool(f.accepted, `${path}.accepted`)
    if (Object.hasOwn(f, 'reason')) reason(f.reason, `${path}.reason`)
  },
  status(body, path) {
    const f = fields(body, path, ['jobId'])
    hex32(f.jobId, `${path}.jobId`)
  },
  'status-reply'(body, path) {
    const f = fields(body, path, ['jobId', 'stage', 'done', 'total', 'state'])
    hex32(f.jobId, `${path}.jobId`)
    oneOf(f.stage, `${path}.stage`, JOB_STAGES)
    const total = integer(f.total, `${path}.total`, 0, MAX_ITEMS)
    integer(f.done, `${path}.done`, 0, total)
    oneOf(f.state, `${path}.state`, JOB_STATES)
  },
  'verifier-ad'(body, path) {
    const f = fields(body, path, ['fee', 'capacity', 'addrs'], ['payee'])
    wei(f.fee, `${path}.fee`)
    integer(f.capacity, `${path}.capacity`, 1, MAX_CAPACITY)
    list(f.addrs, `${path}.addrs`, MAX_CLIENT_ADDRS).forEach((a, i) =>
      address(a, `${path}.addrs[${i}]`),
    )
    if (Object.hasOwn(f, 'payee')) payee(f.payee, `${path}.payee`)
  },
  verify(body, path) {
    const f = fields(
      body,
      path,
      ['jobId', 'imageId', 'receiptCid', 'journalDigest'],
      ['settlement'],
    )
    hex32(f.jobId, `${path}.jobId`)
    hex32(f.imageId, `${path}.imageId`)
    cid(f.receiptCid, `${path}.receiptCid`)
    hex32(f.journalDigest, `${path}.journalDigest`)
    if (Object.hasOwn(f, 'settlement')) {
      const t = fields(f.settlement, `${path}.settlement`, [
        'chainId',
        'contract',
        'jobKey',
        'root',
        'total',
      ])
      chainId(t.chainId, `${path}.settlement.chainId`)
      evmAddress(t.contract, `${path}.settlement.contract`)
      hex32(t.jobKey, `${path}.settlement.jobKey`)
      hex32(t.root, `${path}.settlement.root`)
      wei(t.total, `${path}.settlement.total`)
    }
  },
  attestation(body, path) {
    const f = fields(
      body,
      path,
      ['jobId', 'imageId', 'receiptCid', 'receiptDigest', 'verdict', 'verifiedAt'],
      ['journalDigest', 'reason', 'settlementSignature'],
    )
    hex32(f.jobId, `${path}.jobId`)
    hex32(f.imageId, `${path}.imageId`)
    cid(f.receiptCid, `${path}.receiptCid`)
    hex32(f.receiptDigest, `${path}.receiptDigest`)
    const verdict = oneOf(f.verdict, `${path}.verdict`, VERDICTS)
    epochMs(f.verifiedAt, `${path}.verifiedAt`)
    if (Object.hasOwn(f, 'journalDigest')) hex32(f.journalDigest, `${path}.journalDigest`)
    if (Object.hasOwn(f, 'reason')) reason(f.reason, `${path}.reason`)
    if (Object.hasOwn(f, 'settlementSignature')) {
      evmSignature(f.settlementSignature, `${path}.settlementSignature`)
      if (verdict !== 'valid') fail(`${path}.settlementSignature`, 'on an invalid verdict')
    }
    if (verdict === 'invalid' && !Object.hasOwn(f, 'reason'))
      fail(`${path}.reason`, 'an invalid verdict says why')
  },
  'payout-request'(body, path) {
    const f = fields(body, path, ['jobId', 'from'])
    hex32(f.jobId, `${path}.jobId`)
    item(f.from, `${path}.from`)
  },
  payout(body, path) {
    const f = fields(body, path, ['jobId', 'acceptances', 'more'], ['settlement'])
    hex32(f.jobId, `${path}.jobId`)
    let last = -1
    list(f.acceptances, `${path}.acceptances`, MAX_ACCEPTANCES).forEach((a, i) => {
      const p = `${path}.acceptances[${i}]`
      const e = fields(a, p, ['segment', 'amount', 'signature'])
      const segment = item(e.segment, `${p}.segment`)
      if (segment <= last) fail(`${p}.segment`, 'not in ascending order')
      last = segment
      wei(e.amount, `${p}.amount`)
      evmSignature(e.signature, `${p}.signature`)
    })
    bool(f.more, `${path}.more`)
    if (Object.hasOwn(f, 'settlement')) {
      const t = fields(f.settlement, `${path}.settlement`, ['root', 'amount', 'proof'])
      hex32(t.root, `${path}.settlement.root`)
      wei(t.amount, `${path}.settlement.amount`)
      list(t.proof, `${path}.settlement.proof`, MAX_PROOF_HASHES).forEach((h, i) =>
        hex32(h, `${path}.settlement.proof[${i}]`),
      )
    }
  },
}

export function isMessageType(value: unknown): value is MessageType {
  return typeof value === 'string' && (MESSAGE_TYPES as readonly string[]).includes(value)
}

/** Throws MessageError ('bad-schema' or 'unsupported-key') unless `body` is a valid `type` body. */
export function validateBody<T extends MessageType>(
  type: T,
  body: unknown,
): asserts body is Bodies[T] {
  BODIES[type](body, 'body')
}

export const ENVELOPE_FIELDS = ['v', 'type', 'from', 'seq', 'ts', 'body'] as const

/**
 * Checks an envelope's fields other than `v` (checked first, by the codec) and the body.
 * `sig`, when present, must be 64 bytes; its absence is the codec's 'unsigned'.
 */
export function validateEnvelope(value: Fields): void {
  fields(value, 'envelope', ENVELOPE_FIELDS, ['sig'])
  if (!isMessageType(value.type))
    fail('envelope.type', `unknown message type ${describe(value.type)}`)
  peerId(value.from, 'envelope.from')
  integer(value.seq, 'envelope.seq', 0, Number.MAX_SAFE_INTEGER)
  integer(value.ts, 'envelope.ts', 0, Number.MAX_SAFE_INTEGER)
  if (Object.hasOwn(value, 'sig')) bytes(value.sig, 'envelope.sig', ED25519_SIGNATURE_BYTES)
  validateBody(value.type, value.body)
}
