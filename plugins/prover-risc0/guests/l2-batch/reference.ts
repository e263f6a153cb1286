// Independent TypeScript model of the l2-batch guest (src/main.rs): the input encoding, the signed
// message, the transfer rules, the state root and the journal. Tests compare a guest's journal
// with `expectedJournal(input)`; scripts/make-sample-inputs.ts builds the sample batch with it.
//
// Layouts (all integers little-endian):
//   input   = [u32 N] N x [pubkey 32][balance u64][nonce u64] [u32 M] M x [from u16][to u16]
//             [amount u64][nonce u64][signature 64]
//   message = "wholesum-l2-transfer-v1" || from pubkey || to pubkey || amount u64 || nonce u64
//   leaf    = SHA-256(0x00 || pubkey || balance u64 || nonce u64)
//   node    = SHA-256(0x01 || left || right), leaves zero-padded to a power of two
//   journal = [prev root 32][new root 32][u32 M][u32 rejected]
//
// Signatures are checked with node:crypto (OpenSSL, RFC 8032); the guest uses ed25519-dalek's
// verify_strict, which also refuses small-order keys and points. Both accept every honestly made
// signature; only crafted edge cases could tell them apart.

import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

export const DOMAIN = 'wholesum-l2-transfer-v1'
export const ACCOUNT_BYTES = 48
export const TX_BYTES = 84
export const JOURNAL_BYTES = 72
export const MAX_ACCOUNTS = 1 << 16

export interface Account {
  pubkey: Uint8Array
  balance: bigint
  nonce: bigint
}

export interface Transfer {
  from: number
  to: number
  amount: bigint
  nonce: bigint
  signature: Uint8Array
}

export interface Batch {
  accounts: Account[]
  txs: Transfer[]
}

export interface L2Journal {
  prevRoot: Uint8Array
  newRoot: Uint8Array
  txCount: number
  rejected: number
}

export interface AppliedBatch extends L2Journal {
  accounts: Account[]
  /** One entry per transaction: null when applied, else why it was rejected. */
  outcomes: (string | null)[]
}

const U64_MAX = (1n << 64n) - 1n

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const part of parts) h.update(part)
  return new Uint8Array(h.digest())
}

export function encodeBatch(batch: Batch): Uint8Array {
  const out = new Uint8Array(
    4 + batch.accounts.length * ACCOUNT_BYTES + 4 + batch.txs.length * TX_BYTES,
  )
  const view = new DataView(out.buffer)
  let pos = 0
  view.setUint32(pos, batch.accounts.length, true)
  pos += 4
  for (const a of batch.accounts) {
    if (a.pubkey.length !== 32) throw new Error('account pubkey must be 32 bytes')
    out.set(a.pubkey, pos)
    view.setBigUint64(pos + 32, a.balance, true)
    view.setBigUint64(pos + 40, a.nonce, true)
    pos += ACCOUNT_BYTES
  }
  view.setUint32(pos, batch.txs.length, true)
  pos += 4
  for (const t of batch.txs) {
    if (t.signature.length !== 64) throw new Error('signature must be 64 bytes')
    view.setUint16(pos, t.from, true)
    view.setUint16(pos + 2, t.to, true)
    view.setBigUint64(pos + 4, t.amount, true)
    view.setBigUint64(pos + 12, t.nonce, true)
    out.set(t.signature, pos + 20)
    pos += TX_BYTES
  }
  return out
}

/** Parses a batch; throws where the guest would panic (malformed input). */
export function decodeBatch(input: Uint8Array): Batch {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength)
  const need = (pos: number, n: number, what: string): void => {
    if (pos + n > input.length) {
      throw new Error(`malformed batch: ${what} needs ${n} bytes at offset ${pos}`)
    }
  }
  let pos = 0
  need(pos, 4, 'account count')
  const n = view.getUint32(pos, true)
  pos += 4
  if (n > MAX_ACCOUNTS) throw new Error(`malformed batch: ${n} accounts, at most ${MAX_ACCOUNTS}`)
  const accounts: Account[] = []
  for (let i = 0; i < n; i++) {
    need(pos, ACCOUNT_BYTES, 'account')
    accounts.push({
      pubkey: input.slice(pos, pos + 32),
      balance: view.getBigUint64(pos + 32, true),
      nonce: view.getBigUint64(pos + 40, true),
    })
    pos += ACCOUNT_BYTES
  }
  need(pos, 4, 'tx count')
  const m = view.getUint32(pos, true)
  pos += 4
  if (input.length - pos !== m * TX_BYTES) {
    throw new Error(
      `malformed batch: ${m} txs need ${m * TX_BYTES} bytes, ${input.length - pos} present`,
    )
  }
  const txs: Transfer[] = []
  for (let i = 0; i < m; i++) {
    txs.push({
      from: view.getUint16(pos, true),
      to: view.getUint16(pos + 2, true),
      amount: view.getBigUint64(pos + 4, true),
      nonce: view.getBigUint64(pos + 12, true),
      signature: input.slice(pos + 20, pos + 84),
    })
    pos += TX_BYTES
  }
  return { accounts, txs }
}

export function signedMessage(
  fromPubkey: Uint8Array,
  toPubkey: Uint8Array,
  amount: bigint,
  nonce: bigint,
): Uint8Array {
  const msg = new Uint8Array(103)
  msg.set(new TextEncoder().encode(DOMAIN), 0)
  msg.set(fromPubkey, 23)
  msg.set(toPubkey, 55)
  const view = new DataView(msg.buffer)
  view.setBigUint64(87, amount, true)
  view.setBigUint64(95, nonce, true)
  return msg
}

export function leafHash(account: Account): Uint8Array {
  const body = new Uint8Array(1 + ACCOUNT_BYTES)
  body[0] = 0x00
  body.set(account.pubkey, 1)
  const view = new DataView(body.buffer)
  view.setBigUint64(33, account.balance, true)
  view.setBigUint64(41, account.nonce, true)
  return sha256(body)
}

export function stateRoot(accounts: readonly Account[]): Uint8Array {
  if (accounts.length === 0) return new Uint8Array(32)
  let level = accounts.map(leafHash)
  let width = 1
  while (width < level.length) width *= 2
  while (level.length < width) level.push(new Uint8Array(32))
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      next.push(sha256(Uint8Array.of(0x01), level[i]!, level[i + 1]!))
    }
    level = next
  }
  return level[0]!
}

// Ed25519 keys as DER: PKCS#8 private key and SPKI public key prefixes (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export function keyFromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  if (seed.length !== 32) throw new Error('ed25519 seed must be 32 bytes')
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return { privateKey, publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) }
}

export function signTransfer(
  privateKey: KeyObject,
  fromPubkey: Uint8Array,
  toPubkey: Uint8Array,
  amount: bigint,
  nonce: bigint,
): Uint8Array {
  return new Uint8Array(sign(null, signedMessage(fromPubkey, toPubkey, amount, nonce), privateKey))
}

export function verifyTransfer(
  pubkey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, pubkey]),
      format: 'der',
      type: 'spki',
    })
    return verify(null, message, key, signature)
  } catch {
    return false // not a valid public key encoding
  }
}

function rejection(accounts: Account[], tx: Transfer): string | null {
  const sender = accounts[tx.from]
  const receiver = accounts[tx.to]
  if (sender === undefined || receiver === undefined) return 'account index out of range'
  const msg = signedMessage(sender.pubkey, receiver.pubkey, tx.amount, tx.nonce)
  if (!verifyTransfer(sender.pubkey, msg, tx.signature)) return 'bad signature'
  if (tx.nonce !== sender.nonce) return 'wrong nonce'
  if (sender.balance < tx.amount) return 'insufficient balance'
  if (sender.nonce === U64_MAX) return 'nonce overflow'
  if (tx.from !== tx.to && receiver.balance + tx.amount > U64_MAX) return 'balance overflow'
  return null
}

/** Applies a batch as the guest does; the input batch is not modified. */
export function applyBatch(batch: Batch): AppliedBatch {
  const accounts = batch.accounts.map((a) => ({ ...a, pubkey: a.pubkey.slice() }))
  const prevRoot = stateRoot(accounts)
  const outcomes: (string | null)[] = []
  for (const tx of batch.txs) {
    const reason = rejection(accounts, tx)
    outcomes.push(reason)
    if (reason !== null) continue
    const sender = accounts[tx.from]!
    sender.balance -= tx.amount
    sender.nonce += 1n
    accounts[tx.to]!.balance += tx.amount
  }
  return {
    accounts,
    outcomes,
    prevRoot,
    newRoot: stateRoot(accounts),
    txCount: batch.txs.length,
    rejected: outcomes.filter((o) => o !== null).length,
  }
}

export function encodeJournal(j: L2Journal): Uint8Array {
  const out = new Uint8Array(JOURNAL_BYTES)
  out.set(j.prevRoot, 0)
  out.set(j.newRoot, 32)
  const view = new DataView(out.buffer)
  view.setUint32(64, j.txCount, true)
  view.setUint32(68, j.rejected, true)
  return out
}

export function decodeJournal(journal: Uint8Array): L2Journal {
  if (journal.length !== JOURNAL_BYTES) {
    throw new Error(`l2-batch journal must be ${JOURNAL_BYTES} bytes, got ${journal.length}`)
  }
  const view = new DataView(journal.buffer, journal.byteOffset, journal.byteLength)
  return {
    prevRoot: journal.slice(0, 32),
    newRoot: journal.slice(32, 64),
    txCount: view.getUint32(64, true),
    rejected: view.getUint32(68, true),
  }
}

/** The journal the l2-batch guest commits for `input` (throws where the guest would panic). */
export function expectedJournal(input: Uint8Array): Uint8Array {
  return encodeJournal(applyBatch(decodeBatch(input)))
}
