// The escrow's EIP-712 messages, as the contract hashes them: one definition for signers (the
// client, verifiers) and for whoever checks a signature off chain.

import { encodeAbiParameters, keccak256 } from 'viem'
import type { Address, Hex, LocalAccount, TypedDataDomain } from 'viem'

export const ESCROW_DOMAIN_NAME = 'WholesumEscrow'
export const ESCROW_DOMAIN_VERSION = '1'

/**
 * The key the escrow keeps a client's job under: keccak256(abi.encode(client, jobId)), so that no
 * one else can open (or squat) a job under that client's job ID. Every message names it.
 */
export function jobKeyOf(client: Address, jobId: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [client, jobId]))
}

export function escrowDomain(chainId: number, verifyingContract: Address): TypedDataDomain {
  return { name: ESCROW_DOMAIN_NAME, version: ESCROW_DOMAIN_VERSION, chainId, verifyingContract }
}

export const ESCROW_TYPES = {
  /** The client's word that one segment, proved by `prover`, was accepted: worth `amount` wei. */
  Acceptance: [
    { name: 'jobKey', type: 'bytes32' },
    { name: 'segment', type: 'uint32' },
    { name: 'prover', type: 'address' },
    { name: 'amount', type: 'uint128' },
  ],
  /** The job's payouts (a Merkle root over payee and amount) and the receipt the quorum checked. */
  Settlement: [
    { name: 'jobKey', type: 'bytes32' },
    { name: 'root', type: 'bytes32' },
    { name: 'total', type: 'uint128' },
    { name: 'receiptDigest', type: 'bytes32' },
    { name: 'journalDigest', type: 'bytes32' },
  ],
  /** A verifier's statement that the receipt `prover` delivered for `segment` failed verification. */
  Fault: [
    { name: 'jobKey', type: 'bytes32' },
    { name: 'prover', type: 'address' },
    { name: 'segment', type: 'uint32' },
    { name: 'receiptDigest', type: 'bytes32' },
  ],
} as const

export interface Acceptance {
  readonly jobKey: Hex
  readonly segment: number
  readonly prover: Address
  readonly amount: bigint
}

export interface Settlement {
  readonly jobKey: Hex
  readonly root: Hex
  readonly total: bigint
  readonly receiptDigest: Hex
  readonly journalDigest: Hex
}

export interface Fault {
  readonly jobKey: Hex
  readonly prover: Address
  readonly segment: number
  readonly receiptDigest: Hex
}

/** What signs: a viem local account (a private key, a mnemonic, a keystore unlocked in memory). */
export type TypedSigner = Pick<LocalAccount, 'address' | 'signTypedData'>

export function signAcceptance(
  signer: TypedSigner,
  domain: TypedDataDomain,
  a: Acceptance,
): Promise<Hex> {
  return signer.signTypedData({
    domain,
    types: ESCROW_TYPES,
    primaryType: 'Acceptance',
    message: { ...a },
  })
}

export function signSettlement(
  signer: TypedSigner,
  domain: TypedDataDomain,
  s: Settlement,
): Promise<Hex> {
  return signer.signTypedData({
    domain,
    types: ESCROW_TYPES,
    primaryType: 'Settlement',
    message: { ...s },
  })
}

export function signFault(signer: TypedSigner, domain: TypedDataDomain, f: Fault): Promise<Hex> {
  return signer.signTypedData({
    domain,
    types: ESCROW_TYPES,
    primaryType: 'Fault',
    message: { ...f },
  })
}

/**
 * A quorum's signatures as the contract takes them: one per signer, in ascending address order
 * (how it checks that no verifier counts twice).
 */
export async function quorumSignatures(
  signers: readonly TypedSigner[],
  sign: (signer: TypedSigner) => Promise<Hex>,
): Promise<Hex[]> {
  const ordered = [...signers].sort((a, b) => compareAddresses(a.address, b.address))
  return Promise.all(ordered.map(sign))
}

export function compareAddresses(a: Address, b: Address): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x < y ? -1 : x > y ? 1 : 0
}

const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n

/**
 * Why the contract would refuse `signature`, or undefined when it takes it: OpenZeppelin's ECDSA
 * accepts 65 bytes with v 27 or 28 and s in the lower half of the curve order only, while viem
 * recovers from others too. Checked before a signature is kept or sent on chain.
 */
export function signatureProblem(signature: string): string | undefined {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return 'not 65 bytes'
  const s = BigInt(`0x${signature.slice(66, 130)}`)
  const v = Number.parseInt(signature.slice(130, 132), 16)
  if (v !== 27 && v !== 28) return `v is ${v}, not 27 or 28`
  if (s === 0n || s > SECP256K1_HALF_N) return 's is not in the lower half of the curve order'
  return undefined
}
