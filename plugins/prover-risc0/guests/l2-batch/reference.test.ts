import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import {
  applyBatch,
  decodeBatch,
  decodeJournal,
  encodeBatch,
  expectedJournal,
  keyFromSeed,
  leafHash,
  signTransfer,
  signedMessage,
  stateRoot,
} from './reference.ts'
import type { Account } from './reference.ts'

const samples = new URL('../samples/', import.meta.url)
const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('the committed l2-batch sample matches its recorded expected journal', () => {
  const input = new Uint8Array(readFileSync(new URL('l2-batch.input', samples)))
  const expected = JSON.parse(readFileSync(new URL('expected.json', samples), 'utf8'))
  const journal = expectedJournal(input)
  assert.equal(hex(journal), expected['l2-batch.input'].journal)
  const decoded = decodeJournal(journal)
  assert.equal(decoded.txCount, 4)
  assert.equal(decoded.rejected, 1)
  assert.deepEqual(encodeBatch(decodeBatch(input)), input)
})

test('state root: leaf/node hashing and zero padding to a power of two', () => {
  const acct = (n: number): Account => ({
    pubkey: new Uint8Array(32).fill(n),
    balance: BigInt(n),
    nonce: 7n,
  })
  const leafBytes = (a: Account): Uint8Array => {
    const b = Buffer.alloc(49)
    b[0] = 0
    b.set(a.pubkey, 1)
    b.writeBigUInt64LE(a.balance, 33)
    b.writeBigUInt64LE(a.nonce, 41)
    return b
  }
  const [a, b, c] = [acct(1), acct(2), acct(3)]
  assert.deepEqual(leafHash(a), sha(leafBytes(a)))
  assert.deepEqual(stateRoot([]), new Uint8Array(32))
  assert.deepEqual(stateRoot([a]), sha(leafBytes(a)))
  const node = (l: Uint8Array, r: Uint8Array): Uint8Array => sha(Uint8Array.of(1), l, r)
  const [la, lb, lc] = [a, b, c].map((x) => sha(leafBytes(x))) as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ]
  assert.deepEqual(stateRoot([a, b]), node(la, lb))
  assert.deepEqual(stateRoot([a, b, c]), node(node(la, lb), node(lc, new Uint8Array(32))))
})

test('transfer rules: signature, nonce, balance, index; rejected txs leave the state unchanged', () => {
  const keys = [1, 2].map((n) => keyFromSeed(new Uint8Array(32).fill(n)))
  const accounts: Account[] = keys.map((k) => ({ pubkey: k.publicKey, balance: 100n, nonce: 0n }))
  const tx = (from: number, to: number, amount: bigint, nonce: bigint, signer = from) => ({
    from,
    to,
    amount,
    nonce,
    signature: signTransfer(
      keys[signer]!.privateKey,
      accounts[from]?.pubkey ?? new Uint8Array(32),
      accounts[to]?.pubkey ?? new Uint8Array(32),
      amount,
      nonce,
    ),
  })
  const result = applyBatch({
    accounts,
    txs: [
      tx(0, 1, 60n, 0n), // ok
      tx(0, 1, 60n, 1n), // insufficient balance (40 left)
      tx(0, 1, 10n, 0n), // wrong nonce (replay of nonce 0)
      tx(1, 0, 10n, 0n, 0), // signed by the wrong key
      tx(0, 0, 40n, 1n), // self transfer: ok, nonce bumps
    ],
  })
  assert.deepEqual(result.outcomes, [
    null,
    'insufficient balance',
    'wrong nonce',
    'bad signature',
    null,
  ])
  assert.deepEqual(
    result.accounts.map((a) => [a.balance, a.nonce]),
    [
      [40n, 2n],
      [160n, 0n],
    ],
  )
  assert.equal(result.rejected, 3)
  assert.equal(signedMessage(accounts[0]!.pubkey, accounts[1]!.pubkey, 1n, 2n).length, 103)
  // The input accounts are not mutated.
  assert.equal(accounts[0]!.balance, 100n)
})

test('malformed batches throw (the guest panics on them)', () => {
  assert.throws(() => decodeBatch(new Uint8Array(3)), /malformed/)
  assert.throws(() => decodeBatch(Uint8Array.of(1, 0, 0, 0)), /malformed/)
  assert.throws(() => decodeBatch(new Uint8Array(9)), /malformed/) // 0 accounts, 0 txs + 1 byte
})
