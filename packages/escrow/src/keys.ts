// A node's EVM key: kept encrypted in a Web3 Secret Storage (v3) keystore, the format geth and
// wallets read, and bound to the node's libp2p peer ID by a statement both keys sign, so that a
// peer can tell which account a peer ID is paid at (and the reverse) without trusting either key
// alone. ox's Keystore (the library viem itself uses) does the cryptography.

import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { Keystore } from 'ox'
import {
  getAddress,
  hashTypedData,
  isAddress,
  recoverTypedDataAddress,
  toBytes,
  type Address,
  type Hex,
  type LocalAccount,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'

export type KeystoreFile = Keystore.Keystore

export class KeystoreError extends Error {
  override readonly name = 'KeystoreError'
  readonly code: 'WRONG_PASSWORD' | 'UNSUPPORTED' | 'MALFORMED'
  constructor(code: KeystoreError['code'], message: string) {
    super(message)
    this.code = code
  }
}

export interface NewKeystoreOptions {
  /** The key to keep; a fresh random one when absent. */
  readonly privateKey?: Hex
  /** scrypt's cost (a power of two): geth's 262,144 unless told otherwise (tests use less). */
  readonly scryptN?: number
}

/** Encrypts a key (a new one by default) under `password`. */
export function newKeystore(
  password: string,
  options: NewKeystoreOptions = {},
): {
  keystore: KeystoreFile
  address: Address
} {
  if (password.length === 0) throw new KeystoreError('MALFORMED', 'a keystore needs a password')
  const privateKey = options.privateKey ?? generatePrivateKey()
  // geth's standard parameters (n 2^18, r 8, p 1): about 256 MiB and a second to open.
  const [key, derivation] = Keystore.scrypt({ password, n: options.scryptN ?? 262_144, r: 8, p: 1 })
  const keystore = Keystore.encrypt(privateKey, key, derivation)
  return { keystore, address: privateKeyToAccount(privateKey).address }
}

/** Decrypts a keystore into an account; a wrong password is WRONG_PASSWORD, never a wrong key. */
export function openKeystore(keystore: unknown, password: string): LocalAccount {
  const file = checkShape(keystore)
  let key: Keystore.Key
  try {
    key = Keystore.toKey(file, { password })
  } catch (err) {
    throw new KeystoreError(
      'MALFORMED',
      `the keystore's key derivation failed: ${(err as Error).message}`,
    )
  }
  let privateKey: Hex
  try {
    privateKey = Keystore.decrypt(file, key)
  } catch {
    // The MAC over the ciphertext did not match: the password (or the file) is wrong.
    throw new KeystoreError(
      'WRONG_PASSWORD',
      'wrong password for this keystore (or the file is damaged)',
    )
  }
  return privateKeyToAccount(privateKey)
}

function checkShape(value: unknown): KeystoreFile {
  const file = value as Partial<KeystoreFile> | null
  if (
    file === null ||
    typeof file !== 'object' ||
    file.version !== 3 ||
    typeof file.crypto !== 'object'
  ) {
    throw new KeystoreError('MALFORMED', 'not a version 3 keystore')
  }
  const crypto = file.crypto as Partial<KeystoreFile['crypto']>
  if (crypto.cipher !== 'aes-128-ctr') {
    throw new KeystoreError(
      'UNSUPPORTED',
      `cipher ${String(crypto.cipher)} is not supported (aes-128-ctr is)`,
    )
  }
  if (crypto.kdf !== 'scrypt' && crypto.kdf !== 'pbkdf2') {
    throw new KeystoreError(
      'UNSUPPORTED',
      `key derivation ${String(crypto.kdf)} is not supported (scrypt, pbkdf2 are)`,
    )
  }
  for (const field of ['ciphertext', 'mac'] as const) {
    if (typeof crypto[field] !== 'string' || !/^[0-9a-f]+$/i.test(crypto[field])) {
      throw new KeystoreError('MALFORMED', `crypto.${field} is not hex`)
    }
  }
  if (
    typeof crypto.cipherparams?.iv !== 'string' ||
    !/^[0-9a-f]{32}$/i.test(crypto.cipherparams.iv)
  ) {
    throw new KeystoreError('MALFORMED', 'crypto.cipherparams.iv is not 16 bytes of hex')
  }
  return file as KeystoreFile
}

// ---- the binding of an EVM account to a libp2p peer ID ------------------------------------------

/** Signed with no chain or contract in its domain: one binding holds on every chain. */
export const BINDING_DOMAIN = { name: 'Wholesum', version: '1' } as const
export const BINDING_TYPES = {
  PeerBinding: [
    { name: 'peerId', type: 'string' },
    { name: 'account', type: 'address' },
    { name: 'issuedAt', type: 'uint64' },
  ],
} as const

export interface PeerBinding {
  readonly peerId: string
  readonly account: Address
  /** Unix seconds: a newer binding of the same peer ID replaces an older one. */
  readonly issuedAt: number
  /** The account's EIP-712 signature of the statement. */
  readonly accountSignature: Hex
  /** The peer key's signature of the same EIP-712 digest (Ed25519, or the key's own scheme). */
  readonly peerSignature: Hex
}

/** The EIP-712 digest both keys of a binding sign. */
export function bindingDigest(peerId: string, account: Address, issuedAt: number): Hex {
  return hashTypedData({
    domain: BINDING_DOMAIN,
    types: BINDING_TYPES,
    primaryType: 'PeerBinding',
    message: { peerId, account, issuedAt: BigInt(issuedAt) },
  })
}

/** Both keys sign that `account` is where the node with `peerKey` is paid, and the reverse. */
export async function bindPeer(
  peerKey: PrivateKey,
  peerId: string,
  account: LocalAccount,
  issuedAt: number = Math.floor(Date.now() / 1000),
): Promise<PeerBinding> {
  const accountSignature = await account.signTypedData({
    domain: BINDING_DOMAIN,
    types: BINDING_TYPES,
    primaryType: 'PeerBinding',
    message: { peerId, account: account.address, issuedAt: BigInt(issuedAt) },
  })
  const digest = toBytes(bindingDigest(peerId, account.address, issuedAt))
  const peerSignature = await peerKey.sign(digest)
  return {
    peerId,
    account: account.address,
    issuedAt,
    accountSignature,
    peerSignature: `0x${Buffer.from(peerSignature).toString('hex')}`,
  }
}

/**
 * Checks both signatures of a binding; resolves to the reason it does not hold, or undefined when
 * it does. A peer ID that does not embed its public key (RSA) cannot be checked here.
 */
export async function checkBinding(binding: PeerBinding): Promise<string | undefined> {
  if (!isAddress(binding.account, { strict: false })) return 'the account is not an address'
  if (!Number.isSafeInteger(binding.issuedAt) || binding.issuedAt < 0)
    return 'issuedAt is not a time'
  let publicKey
  try {
    publicKey = peerIdFromString(binding.peerId).publicKey
  } catch {
    return 'the peer ID does not parse'
  }
  if (publicKey === undefined) return 'the peer ID does not carry its public key'
  const account = getAddress(binding.account)
  let signer: Address
  try {
    signer = await recoverTypedDataAddress({
      domain: BINDING_DOMAIN,
      types: BINDING_TYPES,
      primaryType: 'PeerBinding',
      message: { peerId: binding.peerId, account, issuedAt: BigInt(binding.issuedAt) },
      signature: binding.accountSignature,
    })
  } catch {
    return 'the account signature does not parse'
  }
  if (signer !== account) return `the account signature is by ${signer}, not ${account}`
  const digest = toBytes(bindingDigest(binding.peerId, account, binding.issuedAt))
  let valid = false
  try {
    valid = await publicKey.verify(digest, toBytes(binding.peerSignature))
  } catch {
    valid = false
  }
  return valid ? undefined : 'the peer signature does not verify against the peer ID'
}
