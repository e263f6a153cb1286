// Specification of the signed envelope: what is accepted, and why everything else is refused.

import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { decodeVerified, encodeSigned, signingBytes, SIGNATURE_DOMAIN_PREFIX } from './codec.ts'
import { MessageError, type MessageErrorCode } from './errors.ts'
import {
  MAX_CID_CHARS,
  MAX_ENVELOPE_BYTES,
  MAX_ACCEPTANCES,
  MAX_MESSAGE_BYTES,
  MESSAGE_TYPES,
  PROTOCOL_VERSION,
  type Bodies,
  type MessageType,
  type Unsigned,
} from './messages.ts'
import { ReplayGuard } from './replay.ts'
import { deriveJobId } from './job-id.ts'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { envelopeFields, fixedKey, rawEnvelope, sampleBodies, SENDER, T0 } from './test-support.ts'

let client: Ed25519PrivateKey
let prover: Ed25519PrivateKey
let clientId: string
let proverId: string
let bodies: Bodies

before(async () => {
  client = await fixedKey(1)
  prover = await generateKeyPair('Ed25519')
  clientId = peerIdFromPrivateKey(client).toString()
  proverId = peerIdFromPrivateKey(prover).toString()
  bodies = sampleBodies(clientId, proverId)
})

function keyOf(type: MessageType): Ed25519PrivateKey {
  return SENDER[type] === 'client' ? client : prover
}

function encode<T extends MessageType>(type: T, body = bodies[type], seq = 1, now = T0) {
  return encodeSigned(type, body, { privateKey: keyOf(type), seq, now })
}

function refused(code: MessageErrorCode, run: () => unknown): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof MessageError, `expected a MessageError, got ${String(err)}`)
    assert.equal(err.name, 'MessageError')
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`)
    return true
  })
}

/** A valid envelope of `type` with its body altered, re-signed so only the alteration is wrong. */
async function withBody<T extends MessageType>(
  type: T,
  alter: (body: Record<string, unknown>) => void,
): Promise<Uint8Array> {
  const body = structuredClone(bodies[type]) as unknown as Record<string, unknown>
  alter(body)
  return rawEnvelope(envelopeFields(keyOf(type), type, body as never), keyOf(type))
}

describe('round trip', () => {
  for (const type of MESSAGE_TYPES) {
    it(`a ${type} decodes to what was encoded, with sender, seq and ts`, () => {
      const bytes = encode(type, bodies[type], 42, T0)
      const message = decodeVerified(bytes, {
        now: T0 + 1000,
        expectedType: type,
        expectedFrom: peerIdFromPrivateKey(keyOf(type)),
      })
      assert.equal(message.v, PROTOCOL_VERSION)
      assert.equal(message.type, type)
      assert.equal(message.from, peerIdFromPrivateKey(keyOf(type)).toString())
      assert.equal(message.seq, 42)
      assert.equal(message.ts, T0)
      assert.deepEqual(message.body, bodies[type])
      assert.equal(message.sig.byteLength, 64)
    })
  }

  it('optional fields may be absent, or undefined (then left out)', () => {
    const offer = { ...bodies.offer, benchmark: { hz: 0 } }
    assert.deepEqual(decodeVerified(encode('offer', offer), { now: T0 }).body, offer)
    const ack = { ...bodies['proof-ack'], accepted: true, reason: undefined }
    const decoded = decodeVerified(encode('proof-ack', ack), { now: T0 })
    assert.equal(Object.hasOwn(decoded.body, 'reason'), false)
  })

  it('the same message always encodes to the same bytes (canonical dag-cbor, RFC 8032)', () => {
    assert.deepEqual(encode('claim'), encode('claim'))
  })

  it('the signature is the one libp2p makes with the same key over the signing bytes', async () => {
    const bytes = encode('status')
    const message = decodeVerified(bytes, { now: T0 })
    const expected = await prover.sign(signingBytes(message))
    assert.deepEqual(message.sig, new Uint8Array(expected))
    const publicKey = peerIdFromString(message.from).publicKey
    assert.ok(publicKey)
    assert.equal(await publicKey.verify(signingBytes(message), message.sig), true)
  })

  it('signing bytes are "wholesum/v1/<type>", a zero byte, then the envelope without sig', () => {
    const message = decodeVerified(encode('decline'), { now: T0 })
    const { sig: _sig, ...unsigned } = message
    const bytes = signingBytes(unsigned as Unsigned<'decline'>)
    const domain = new TextEncoder().encode(`${SIGNATURE_DOMAIN_PREFIX}decline`)
    assert.equal(SIGNATURE_DOMAIN_PREFIX, 'wholesum/v1/')
    assert.deepEqual(bytes.subarray(0, domain.length), domain)
    assert.equal(bytes[domain.length], 0)
    assert.deepEqual(bytes.subarray(domain.length + 1), new Uint8Array(dagCbor.encode(unsigned)))
  })

  it('accepts a message from libp2p’s own signer, built field by field', async () => {
    const bytes = await rawEnvelope(
      envelopeFields(client, 'status-reply', bodies['status-reply']),
      client,
    )
    assert.equal(decodeVerified(bytes, { now: T0 }).type, 'status-reply')
  })
})

describe('size', () => {
  it('refuses bytes over the hard cap before decoding them', () => {
    refused('too-large', () => decodeVerified(new Uint8Array(MAX_ENVELOPE_BYTES + 1), { now: T0 }))
  })

  it('refuses bytes over the expected types’ cap before decoding them', () => {
    refused('too-large', () =>
      decodeVerified(new Uint8Array(MAX_MESSAGE_BYTES.claim + 1), {
        now: T0,
        expectedType: 'claim',
      }),
    )
  })

  it('refuses a message over its own type’s cap even when no type was expected', async () => {
    const bytes = await withBody('status', (body) => {
      body.padding = 'x'.repeat(MAX_MESSAGE_BYTES.status)
    })
    assert.ok(bytes.byteLength < MAX_ENVELOPE_BYTES)
    refused('too-large', () => decodeVerified(bytes, { now: T0 }))
  })

  it('every type at its schema maximum fits under its cap', async () => {
    const largest = maximalBodies(clientId, proverId)
    for (const type of MESSAGE_TYPES) {
      const bytes = encodeSigned(type, largest[type], {
        privateKey: keyOf(type),
        seq: Number.MAX_SAFE_INTEGER,
        now: Number.MAX_SAFE_INTEGER,
      })
      const room = type === 'bitfield' ? bytes.byteLength : bytes.byteLength * 2
      assert.ok(room <= MAX_MESSAGE_BYTES[type], `${type}: ${bytes.byteLength} bytes`)
    }
  })
})

describe('malformed', () => {
  it('refuses bytes that are not dag-cbor', () => {
    refused('malformed', () => decodeVerified(new Uint8Array([0xff, 0x00, 0x13]), { now: T0 }))
    refused('malformed', () => decodeVerified(new Uint8Array(0), { now: T0 }))
  })

  it('refuses a truncated message', () => {
    const bytes = encode('proof')
    for (const cut of [1, 10, bytes.byteLength >> 1, bytes.byteLength - 1])
      refused('malformed', () => decodeVerified(bytes.subarray(0, cut), { now: T0 }))
  })

  it('refuses trailing bytes after the envelope', () => {
    const bytes = encode('claim')
    refused('malformed', () => decodeVerified(new Uint8Array([...bytes, 0]), { now: T0 }))
  })

  it('refuses CBOR that is not a map', () => {
    refused('malformed', () => decodeVerified(dagCbor.encode([1, 2, 3]), { now: T0 }))
    refused('malformed', () => decodeVerified(dagCbor.encode('need'), { now: T0 }))
  })

  it('refuses a non-canonical encoding of a valid message (one message, one byte string)', () => {
    const bytes = encode('claim')
    const message = dagCbor.decode(bytes) as Record<string, unknown>
    // The same map with its keys in insertion order rather than dag-cbor's length-first order.
    const unsorted = cborMap(Object.entries(message).reverse())
    assert.deepEqual(dagCbor.decode(unsorted), message)
    refused('malformed', () => decodeVerified(unsorted, { now: T0 }))
  })
})

describe('version and type', () => {
  it('refuses another version, even validly signed', async () => {
    const fields = { ...envelopeFields(client, 'status', bodies.status), v: 2 }
    const bytes = await rawEnvelope(fields, client)
    refused('bad-version', () => decodeVerified(bytes, { now: T0 }))
  })

  it('refuses an envelope without a version', async () => {
    const { v: _v, ...fields } = envelopeFields(client, 'status', bodies.status)
    refused('bad-version', () => decodeVerified(dagCbor.encode(fields), { now: T0 }))
  })

  it('refuses an unknown message type', async () => {
    const fields = { ...envelopeFields(client, 'status', bodies.status), type: 'gimme' }
    refused('bad-schema', () => decodeVerified(dagCbor.encode(fields), { now: T0 }))
  })

  it('refuses a valid message of a type not expected on this topic or stream', () => {
    refused('wrong-type', () =>
      decodeVerified(encode('need'), { now: T0, expectedType: ['deal', 'decline'] }),
    )
    assert.equal(
      decodeVerified(encode('decline'), { now: T0, expectedType: ['deal', 'decline'] }).type,
      'decline',
    )
  })
})

describe('schema', () => {
  it('refuses an unknown field in the body', async () => {
    const bytes = await withBody('claim', (body) => {
      body.priority = 1
    })
    refused('bad-schema', () => decodeVerified(bytes, { now: T0 }))
  })

  it('refuses an unknown field in a nested map', async () => {
    const bytes = await withBody('offer', (body) => {
      ;(body.hardware as Record<string, unknown>).gpus = 8
    })
    refused('bad-schema', () => decodeVerified(bytes, { now: T0 }))
  })

  it('refuses an unknown field in the envelope', async () => {
    const fields = { ...envelopeFields(client, 'status', bodies.status), extra: true }
    refused('bad-schema', () => decodeVerified(dagCbor.encode(fields), { now: T0 }))
  })

  it('refuses a missing field', async () => {
    const bytes = await withBody('proof', (body) => {
      delete body.receiptCid
    })
    refused('bad-schema', () => decodeVerified(bytes, { now: T0 }))
  })

  const wrong: Array<[MessageType, string, (body: Record<string, unknown>) => void]> = [
    ['claim', 'index as a string', (b) => (b.index = '9')],
    ['claim', 'a fractional index', (b) => (b.index = 9.5)],
    ['claim', 'a negative index', (b) => (b.index = -1)],
    ['claim', 'an index past MAX_ITEMS', (b) => (b.index = 1 << 20)],
    ['claim', 'an unknown stage', (b) => (b.stage = 'snark')],
    ['claim', 'an uppercase jobId', (b) => (b.jobId = String(b.jobId).toUpperCase())],
    ['claim', 'a short jobId', (b) => (b.jobId = 'ab')],
    ['claim', 'jobId as bytes', (b) => (b.jobId = new Uint8Array(32))],
    ['need', 'po2 out of range', (b) => (b.po2 = 30)],
    ['need', 'zero segments', (b) => (b.segments = 0)],
    ['need', 'a reward with leading zeros', (b) => (b.rewardPerSegment = '007')],
    ['need', 'a reward over 2^256 - 1', (b) => (b.rewardPerSegment = (1n << 256n).toString())],
    ['need', 'a reward as a number', (b) => (b.rewardPerSegment = 1000)],
    ['need', 'nine client addresses', (b) => (b.clientAddrs = Array(9).fill('/ip4/1.2.3.4/tcp/1'))],
    [
      'need',
      'an address over 256 characters',
      (b) => (b.clientAddrs = [`/dns4/${'a'.repeat(260)}/tcp/1`]),
    ],
    ['need', 'an address that is not a multiaddr', (b) => (b.clientAddrs = ['127.0.0.1:4001'])],
    [
      'need',
      'another prover kind',
      (b) => ((b.requirements as Record<string, unknown>).proverKind = 'sp1'),
    ],
    [
      'need',
      'recursion as a number',
      (b) => ((b.requirements as Record<string, unknown>).recursion = 1),
    ],
    [
      'need',
      'a CID in a non-canonical base',
      (b) => (b.programCid = 'zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKBQRRVQ9dZxaa'),
    ],
    ['need', 'an inputCid that is no CID', (b) => (b.inputCid = 'hello')],
    ['offer', 'a capacity of zero', (b) => (b.capacity = 0)],
    [
      'offer',
      'an unknown accelerator',
      (b) => ((b.hardware as Record<string, unknown>).accelerator = 'tpu'),
    ],
    ['offer', 'a negative hz', (b) => ((b.benchmark as Record<string, unknown>).hz = -1)],
    ['deal', 'a prover that is no peer ID', (b) => (b.prover = 'alice')],
    ['decline', 'an empty reason', (b) => (b.reason = '')],
    ['decline', 'a reason with control characters', (b) => (b.reason = 'no\nway')],
    ['decline', 'a reason over 256 characters', (b) => (b.reason = 'x'.repeat(257))],
    ['bitfield', 'bits one byte short', (b) => (b.bits = new Uint8Array([0x01]))],
    ['bitfield', 'bits one byte long', (b) => (b.bits = new Uint8Array([0x01, 0x02, 0x00]))],
    ['bitfield', 'a bit set past total', (b) => (b.bits = new Uint8Array([0x01, 0x04]))],
    ['bitfield', 'bits as an array', (b) => (b.bits = [1, 2])],
    ['bitfield', 'a total of zero', (b) => ((b.total = 0), (b.bits = new Uint8Array(0)))],
    ['claim-ack', 'a ttl over an hour', (b) => (b.ttlMs = 3_600_001)],
    [
      'claim-ack',
      'one join input',
      (b) => (b.inputs = ['bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy']),
    ],
    ['claim-ack', 'join inputs that are no CIDs', (b) => (b.inputs = ['a', 'b'])],
    ['proof-ack', 'accepted as a string', (b) => (b.accepted = 'yes')],
    ['status-reply', 'done over total', (b) => (b.done = 1205)],
    ['status-reply', 'an unknown state', (b) => (b.state = 'lost')],
  ]
  for (const [type, what, alter] of wrong) {
    it(`refuses a ${type} with ${what}`, async () => {
      const bytes = await withBody(type, alter)
      refused('bad-schema', () => decodeVerified(bytes, { now: T0 }))
    })
  }

  it('refuses a non-canonical form of the sender’s peer ID', async () => {
    const cidForm = peerIdFromString(clientId).toCID().toString()
    const fields = { ...envelopeFields(client, 'status', bodies.status), from: cidForm }
    refused('bad-schema', () => decodeVerified(dagCbor.encode(fields), { now: T0 }))
  })

  it('refuses a signature that is not 64 bytes', async () => {
    const bytes = dagCbor.encode({
      ...envelopeFields(client, 'status', bodies.status),
      sig: new Uint8Array(63),
    })
    refused('bad-schema', () => decodeVerified(bytes, { now: T0 }))
  })

  it('encodeSigned refuses a body that breaks the schema', () => {
    refused('bad-schema', () =>
      encodeSigned(
        'claim',
        { ...bodies.claim, index: -1 },
        { privateKey: prover, seq: 1, now: T0 },
      ),
    )
  })
})

describe('keys other than Ed25519', () => {
  it('refuses an envelope from an RSA or secp256k1 peer ID as unsupported-key', async () => {
    for (const key of [await generateKeyPair('RSA', 2048), await generateKeyPair('secp256k1')]) {
      const from = peerIdFromPrivateKey(key).toString()
      const fields = { ...envelopeFields(client, 'status', bodies.status), from }
      const sig = await key.sign(signingBytes(fields as unknown as Unsigned<'status'>))
      const bytes = dagCbor.encode({ ...fields, sig: sig.subarray(0, 64) })
      refused('unsupported-key', () => decodeVerified(bytes, { now: T0 }))
    }
  })

  it('refuses a deal naming a secp256k1 prover', async () => {
    const other = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    const bytes = await withBody('deal', (body) => {
      body.prover = other
    })
    refused('unsupported-key', () => decodeVerified(bytes, { now: T0 }))
  })

  it('encodeSigned refuses to sign with a secp256k1 key', async () => {
    const key = await generateKeyPair('secp256k1')
    refused('unsupported-key', () =>
      encodeSigned('status', bodies.status, { privateKey: key, seq: 1, now: T0 }),
    )
  })
})

describe('signature', () => {
  it('refuses an envelope without sig as unsigned', () => {
    const bytes = dagCbor.encode(envelopeFields(client, 'status', bodies.status))
    refused('unsigned', () => decodeVerified(bytes, { now: T0 }))
  })

  it('refuses an envelope signed by another key than its sender’s', async () => {
    const bytes = await rawEnvelope(envelopeFields(client, 'claim', bodies.claim), prover)
    refused('bad-signature', () => decodeVerified(bytes, { now: T0 }))
  })

  it('refuses a body tampered with after signing', () => {
    const message = dagCbor.decode(encode('claim-ack')) as Record<string, unknown>
    ;(message.body as Record<string, unknown>).granted = false
    refused('bad-signature', () => decodeVerified(dagCbor.encode(message), { now: T0 }))
  })

  it('refuses an envelope field tampered with after signing (seq, ts)', () => {
    for (const change of [{ seq: 2 }, { ts: T0 + 1 }]) {
      const message = { ...(dagCbor.decode(encode('decline')) as object), ...change }
      refused('bad-signature', () => decodeVerified(dagCbor.encode(message), { now: T0 }))
    }
  })

  it('refuses a signature from another message of the same sender', () => {
    const a = dagCbor.decode(encode('claim', bodies.claim, 1)) as Record<string, unknown>
    const b = dagCbor.decode(encode('claim', { ...bodies.claim, index: 3 }, 2)) as Record<
      string,
      unknown
    >
    refused('bad-signature', () =>
      decodeVerified(dagCbor.encode({ ...a, sig: b.sig }), { now: T0 }),
    )
  })

  it('refuses a signature made for another message type with the same fields', async () => {
    // The same fields signed as if they were a deal: type and domain are both signed.
    const fields = envelopeFields(client, 'decline', bodies.decline)
    const sig = await client.sign(
      signingBytes({ ...(fields as unknown as Unsigned<'decline'>), type: 'deal' as 'decline' }),
    )
    refused('bad-signature', () => decodeVerified(dagCbor.encode({ ...fields, sig }), { now: T0 }))
  })
})

describe('job ID', () => {
  it('refuses a validly signed need whose jobId does not match its contents', async () => {
    const bytes = await withBody('need', (body) => {
      body.jobId = 'cd'.repeat(32)
    })
    refused('bad-job-id', () => decodeVerified(bytes, { now: T0 }))
  })

  it('refuses a need re-sent by another peer under its own name (the ID binds the client)', async () => {
    const bytes = await rawEnvelope(envelopeFields(prover, 'need', bodies.need), prover)
    refused('bad-job-id', () => decodeVerified(bytes, { now: T0 }))
  })

  it('encodeSigned refuses a need with a forged jobId', () => {
    refused('bad-job-id', () =>
      encodeSigned(
        'need',
        { ...bodies.need, nonce: '02'.repeat(32) },
        { privateKey: client, seq: 1, now: T0 },
      ),
    )
  })
})

describe('sender', () => {
  it('refuses a message whose signer is not the transport-level peer', () => {
    refused('wrong-sender', () =>
      decodeVerified(encode('claim'), { now: T0, expectedFrom: clientId }),
    )
  })

  it('accepts the peer as a PeerId or a string', () => {
    decodeVerified(encode('claim'), { now: T0, expectedFrom: proverId })
    decodeVerified(encode('claim'), { now: T0, expectedFrom: peerIdFromString(proverId) })
  })
})

describe('clock window', () => {
  it('accepts ts up to the window either side of now', () => {
    decodeVerified(encode('status'), { now: T0 + 300_000 })
    decodeVerified(encode('status'), { now: T0 - 300_000 })
  })

  it('refuses a message older than the window as stale', () => {
    refused('stale', () => decodeVerified(encode('status'), { now: T0 + 300_001 }))
  })

  it('refuses a message further ahead than the window as future', () => {
    refused('future', () => decodeVerified(encode('status'), { now: T0 - 300_001 }))
  })

  it('takes the window from the options', () => {
    refused('stale', () => decodeVerified(encode('status'), { now: T0 + 1001, windowMs: 1000 }))
  })
})

describe('replay', () => {
  it('refuses the same bytes twice as duplicate', () => {
    const replay = new ReplayGuard({ now: T0 - 1 })
    const bytes = encode('proof')
    decodeVerified(bytes, { now: T0, replay })
    refused('duplicate', () => decodeVerified(bytes, { now: T0 + 5, replay }))
  })

  it('refuses another message under a seq already used as replay', () => {
    const replay = new ReplayGuard({ now: T0 - 1 })
    decodeVerified(encode('claim', bodies.claim, 7), { now: T0, replay })
    const again = encode('claim', { ...bodies.claim, index: 1 }, 7, T0 + 10)
    refused('replay', () => decodeVerified(again, { now: T0 + 10, replay }))
  })

  it('refuses a message made before the guard started (a restarted node)', () => {
    const replay = new ReplayGuard({ now: T0 + 1 })
    refused('replay', () => decodeVerified(encode('claim'), { now: T0 + 2, replay }))
  })

  it('remembers nothing of a message refused by an earlier check', () => {
    const replay = new ReplayGuard({ now: T0 - 1 })
    refused('wrong-sender', () =>
      decodeVerified(encode('claim'), { now: T0, replay, expectedFrom: clientId }),
    )
    assert.equal(replay.entries, 0)
    decodeVerified(encode('claim'), { now: T0, replay, expectedFrom: proverId })
  })

  it('will not run with a guard whose window is shorter than the clock window', () => {
    const replay = new ReplayGuard({ now: T0, windowMs: 1000 })
    assert.throws(
      () => decodeVerified(encode('claim'), { now: T0, replay, windowMs: 2000 }),
      RangeError,
    )
  })
})

describe('validation order', () => {
  it('a stale message with a bad signature is refused for its signature', async () => {
    const bytes = await rawEnvelope(envelopeFields(client, 'claim', bodies.claim), prover)
    refused('bad-signature', () => decodeVerified(bytes, { now: T0 + 3_600_000 }))
  })

  it('an unsigned message from the wrong peer is refused as unsigned', () => {
    const bytes = dagCbor.encode(envelopeFields(client, 'status', bodies.status))
    refused('unsigned', () => decodeVerified(bytes, { now: T0, expectedFrom: proverId }))
  })

  it('a wrong version is reported before a schema error', () => {
    const fields = { ...envelopeFields(client, 'status', { jobId: 1 } as never), v: 9 }
    refused('bad-version', () => decodeVerified(dagCbor.encode(fields), { now: T0 }))
  })
})

// ---------------------------------------------------------------------------------------------

/** A CBOR map with its entries in the given order (dag-cbor would sort them). */
function cborMap(entries: Array<[string, unknown]>): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0xa0 + entries.length])]
  for (const [key, value] of entries) parts.push(dagCbor.encode(key), dagCbor.encode(value))
  return new Uint8Array(Buffer.concat(parts))
}

/** Bodies with every string, array and number at the largest the schema allows. */
function maximalBodies(client: string, prover: string): Bodies {
  const base = sampleBodies(client, prover)
  const cid = CID.createV1(0x71, Digest.create(0x13, new Uint8Array(64).fill(7))).toString()
  assert.ok(cid.length > 100 && cid.length <= MAX_CID_CHARS)
  const wei = ((1n << 256n) - 1n).toString()
  const reason = 'r'.repeat(256)
  const addr = `/dns4/${'a'.repeat(240)}/tcp/65535`.slice(0, 256)
  const big = 0xffff_ffff
  const maximalPayee = { ...base.offer.payee!, issuedAt: Number.MAX_SAFE_INTEGER }
  return {
    need: {
      ...base.need,
      segments: 1 << 20,
      rewardPerSegment: wei,
      deadline: Number.MAX_SAFE_INTEGER,
      requirements: { minMemoryMiB: 1 << 24, proverKind: 'risc0', recursion: true },
      clientAddrs: Array(8).fill(addr),
      escrow: {
        ...base.need.escrow!,
        chainId: Number.MAX_SAFE_INTEGER,
        collateral: wei,
        verifiers: Array.from({ length: 16 }, (_, i) => `0x${(i + 16).toString(16).repeat(20)}`),
      },
      jobId: deriveJobId({
        clientPeerId: client,
        nonce: base.need.nonce,
        imageId: base.need.imageId,
        inputCid: cid,
      }),
      inputCid: cid,
      programCid: cid,
    },
    offer: {
      ...base.offer,
      pricePerSegment: wei,
      capacity: 4096,
      hardware: { cpus: 65_536, memoryMiB: 1 << 24, accelerator: 'metal' },
      benchmark: { receiptCid: cid, hz: 0.1 + 1e14 },
      payee: maximalPayee,
    },
    deal: {
      ...base.deal,
      pricePerSegment: wei,
      manifestCid: cid,
      expires: Number.MAX_SAFE_INTEGER,
    },
    decline: { ...base.decline, reason },
    bitfield: {
      ...base.bitfield,
      round: big,
      total: 1 << 20,
      bits: new Uint8Array((1 << 20) / 8).fill(0xff),
      endgame: true,
    },
    cancel: { ...base.cancel, reason },
    claim: { ...base.claim, stage: 'prove', index: (1 << 20) - 1, round: big },
    'claim-ack': {
      ...base['claim-ack'],
      index: (1 << 20) - 1,
      ttlMs: 3_600_000,
      inputs: [cid, cid],
    },
    proof: {
      ...base.proof,
      index: (1 << 20) - 1,
      round: big,
      receiptCid: cid,
      proveMs: 30 * 24 * 3_600_000,
    },
    'proof-ack': { ...base['proof-ack'], index: (1 << 20) - 1, reason },
    status: base.status,
    'status-reply': {
      ...base['status-reply'],
      stage: 'execute',
      done: 1 << 20,
      total: 1 << 20,
      state: 'cancelled',
    },
    'verifier-ad': { fee: wei, capacity: 4096, addrs: Array(8).fill(addr), payee: maximalPayee },
    verify: {
      ...base.verify,
      receiptCid: cid,
      settlement: { ...base.verify.settlement!, chainId: Number.MAX_SAFE_INTEGER, total: wei },
    },
    attestation: {
      ...base.attestation,
      receiptCid: cid,
      reason,
      verifiedAt: Number.MAX_SAFE_INTEGER,
    },
    'payout-request': { ...base['payout-request'], from: (1 << 20) - 1 },
    payout: {
      ...base.payout,
      acceptances: Array.from({ length: MAX_ACCEPTANCES }, (_, i) => ({
        segment: (1 << 20) - MAX_ACCEPTANCES + i,
        amount: wei,
        signature: base.payout.acceptances[0]!.signature,
      })),
      more: true,
      settlement: { root: 'ff'.repeat(32), amount: wei, proof: Array(32).fill('ff'.repeat(32)) },
    },
  }
}
