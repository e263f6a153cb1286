// Fixtures for the protocol tests: fixed keys, one valid body per message type, raw envelopes.

import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signingBytes } from './codec.ts'
import { deriveJobId } from './job-id.ts'
import { PROTOCOL_VERSION, type Bodies, type MessageType, type Unsigned } from './messages.ts'

/** A fixed Ed25519 key from a one-byte seed pattern, so vectors stay the same between runs. */
export async function fixedKey(fill: number): Promise<Ed25519PrivateKey> {
  return generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(fill))
}

export const T0 = 1_767_225_600_000 // 2026-01-01T00:00:00Z
export const IMAGE_ID = 'ab'.repeat(32)
export const NONCE = '01'.repeat(32)
export const INPUT_CID = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
export const PROGRAM_CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
export const RECEIPT_CID = 'bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6chrumfrnouxxmk4'
export const ACCOUNT = `0x${'a1'.repeat(20)}`
export const EVM_SIGNATURE = `0x${'5e'.repeat(64)}1b`
export const PAYEE = {
  account: ACCOUNT,
  issuedAt: 1_767_225_600,
  accountSignature: EVM_SIGNATURE,
  peerSignature: `0x${'7a'.repeat(64)}`,
}

/** One valid body of every type, for a job of `client`'s. */
export function sampleBodies(client: string, prover: string): Bodies {
  const jobId = deriveJobId({
    clientPeerId: client,
    nonce: NONCE,
    imageId: IMAGE_ID,
    inputCid: INPUT_CID,
  })
  return {
    need: {
      jobId,
      nonce: NONCE,
      imageId: IMAGE_ID,
      inputCid: INPUT_CID,
      programCid: PROGRAM_CID,
      segments: 1204,
      po2: 21,
      rewardPerSegment: '1000000000000000',
      deadline: T0 + 3_600_000,
      requirements: { minMemoryMiB: 8192, proverKind: 'risc0', recursion: true },
      clientAddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${client}`, '/ip6/::1/tcp/4001'],
      escrow: {
        chainId: 31337,
        contract: `0x${'c0'.repeat(20)}`,
        client: `0x${'c1'.repeat(20)}`,
        collateral: '10000000000000000',
        verifiers: [`0x${'01'.repeat(20)}`, `0x${'02'.repeat(20)}`],
      },
    },
    offer: {
      jobId,
      pricePerSegment: '900000000000000',
      capacity: 4,
      hardware: { cpus: 16, memoryMiB: 65_536, accelerator: 'cuda' },
      benchmark: { receiptCid: RECEIPT_CID, hz: 1.25e6 },
      recursion: true,
      payee: PAYEE,
    },
    deal: {
      jobId,
      prover,
      pricePerSegment: '900000000000000',
      manifestCid: PROGRAM_CID,
      expires: T0 + 3_600_000,
    },
    decline: { jobId, reason: 'capacity full' },
    bitfield: {
      jobId,
      stage: 'prove',
      round: 0,
      total: 10,
      bits: new Uint8Array([0x01, 0x02]),
      endgame: false,
    },
    cancel: { jobId, reason: 'cancelled by its owner' },
    claim: { jobId, stage: 'prove', index: 9, round: 0 },
    'claim-ack': { jobId, index: 9, granted: true, ttlMs: 60_000 },
    proof: { jobId, stage: 'prove', index: 9, round: 0, receiptCid: RECEIPT_CID, proveMs: 41_000 },
    'proof-ack': { jobId, index: 9, accepted: false, reason: 'claim does not match segment 9' },
    status: { jobId },
    'status-reply': { jobId, stage: 'prove', done: 7, total: 1204, state: 'running' },
    'verifier-ad': {
      fee: '2000000000000000',
      capacity: 2,
      addrs: ['/ip4/127.0.0.1/tcp/4003'],
      payee: PAYEE,
    },
    verify: {
      jobId,
      imageId: IMAGE_ID,
      receiptCid: RECEIPT_CID,
      journalDigest: 'cd'.repeat(32),
      settlement: {
        chainId: 31337,
        contract: `0x${'c0'.repeat(20)}`,
        jobKey: 'ef'.repeat(32),
        root: '12'.repeat(32),
        total: '3000000000000000',
      },
    },
    attestation: {
      jobId,
      imageId: IMAGE_ID,
      receiptCid: RECEIPT_CID,
      receiptDigest: '34'.repeat(32),
      journalDigest: 'cd'.repeat(32),
      verdict: 'valid',
      verifiedAt: T0,
      settlementSignature: EVM_SIGNATURE,
    },
    'payout-request': { jobId, from: 0 },
    payout: {
      jobId,
      acceptances: [
        { segment: 0, amount: '900000000000000', signature: EVM_SIGNATURE },
        { segment: 3, amount: '900000000000000', signature: EVM_SIGNATURE },
      ],
      more: false,
      settlement: { root: '12'.repeat(32), amount: '1800000000000000', proof: ['56'.repeat(32)] },
    },
  }
}

/** The sender of each type in the samples: the client, or the other key (a prover or a verifier). */
export const SENDER: Readonly<Record<MessageType, 'client' | 'prover'>> = {
  need: 'client',
  offer: 'prover',
  deal: 'client',
  decline: 'client',
  bitfield: 'client',
  cancel: 'client',
  claim: 'prover',
  'claim-ack': 'client',
  proof: 'prover',
  'proof-ack': 'client',
  status: 'prover',
  'status-reply': 'client',
  'verifier-ad': 'prover',
  verify: 'client',
  attestation: 'prover',
  'payout-request': 'prover',
  payout: 'client',
}

/**
 * Encodes any envelope-shaped value, bypassing every check, and signs it when a key is given,
 * with libp2p's own signing code (not the codec's): the tool for building messages the codec
 * must refuse, and an independent signer for the ones it must accept.
 */
export async function rawEnvelope(
  fields: Record<string, unknown>,
  key?: Ed25519PrivateKey,
): Promise<Uint8Array> {
  if (key === undefined) return dagCbor.encode(fields)
  const sig = await key.sign(signingBytes(fields as unknown as Unsigned<MessageType>))
  return dagCbor.encode({ ...fields, sig })
}

/** The unsigned fields of a valid envelope from `key`, ready to be altered. */
export function envelopeFields<T extends MessageType>(
  key: Ed25519PrivateKey,
  type: T,
  body: Bodies[T],
  seq = 1,
  ts = T0,
): Record<string, unknown> {
  return {
    v: PROTOCOL_VERSION,
    type,
    from: peerIdFromPrivateKey(key).toString(),
    seq,
    ts,
    body,
  }
}
