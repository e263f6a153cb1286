// Writes the sample guest inputs to plugins/prover-risc0/guests/samples/, with the journal each
// guest is expected to commit for them (samples/expected.json), computed here in TypeScript,
// independently of the guests. Deterministic: running it again rewrites identical files.
//
//   node scripts/make-sample-inputs.ts
//
// Layouts: docs/guests.md.

import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import {
  applyBatch,
  encodeBatch,
  encodeJournal,
  keyFromSeed,
  signTransfer,
} from '../plugins/prover-risc0/guests/l2-batch/reference.ts'
import type { Account, Transfer } from '../plugins/prover-risc0/guests/l2-batch/reference.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SAMPLES = join(ROOT, 'plugins/prover-risc0/guests/samples')

// hashchain rounds, from cycles measured with the worker's executor (risc0 3.0.6, docs/guests.md):
// a round costs 163 user cycles, on top of about 4,800 fixed. The v1compat kernel's paging makes
// even an empty run take 6 segments at po2 14, so `small` is sized to 3 segments at po2 16
// (18 at po2 14) and `large` to about 16M user cycles (17 segments at po2 20).
const HASHCHAIN_SMALL_ROUNDS = 300
const HASHCHAIN_LARGE_ROUNDS = 100_000

const sha256 = (data: Uint8Array | string): Uint8Array =>
  new Uint8Array(createHash('sha256').update(data).digest())
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

function u32le(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n, true)
  return out
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let pos = 0
  for (const p of parts) {
    out.set(p, pos)
    pos += p.length
  }
  return out
}

/** JSON.stringify(v, null, 2), but arrays of scalars on one line, as prettier prints them. */
function toJson(value: unknown, indent = ''): string {
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) {
    return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`
  }
  if (value !== null && typeof value === 'object') {
    const inner = indent + '  '
    const entries = Array.isArray(value)
      ? value.map((v) => inner + toJson(v, inner))
      : Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${toJson(v, inner)}`)
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}']
    return entries.length === 0
      ? open + close
      : `${open}\n${entries.join(',\n')}\n${indent}${close}`
  }
  return JSON.stringify(value)
}

interface Sample {
  guest: string
  /** Segment po2 the sample is meant to be executed with (docs/guests.md has the counts). */
  po2: number
  input: Uint8Array
  journal: Uint8Array
  note: string
  decoded?: Record<string, unknown>
}

function hello(): Sample {
  const input = new TextEncoder().encode('Hello from Wholesum: a tiny input for a tiny proof.\n')
  return {
    guest: 'hello',
    po2: 14,
    input,
    journal: concat(u32le(input.length), sha256(input)),
    note: 'journal = [u32 LE input length][sha256(input)]',
  }
}

function hashchain(rounds: number, po2: number): Sample {
  const seed = sha256('wholesum hashchain sample seed')
  let digest = seed
  for (let i = 0; i < rounds; i++) digest = sha256(digest)
  return {
    guest: 'hashchain',
    po2,
    input: concat(u32le(rounds), seed),
    journal: concat(u32le(rounds), digest),
    note: `${rounds} rounds; journal = [u32 LE rounds][sha256^rounds(seed)]`,
  }
}

function l2Batch(): Sample {
  const names = ['alice', 'bob', 'carol', 'dave', 'erin']
  const keys = names.map((name) => keyFromSeed(sha256(`wholesum l2 sample key: ${name}`)))
  const balances = [1000n, 500n, 250n, 0n, 42n]
  const accounts: Account[] = keys.map((k, i) => ({
    pubkey: k.publicKey,
    balance: balances[i]!,
    nonce: 0n,
  }))
  const transfer = (from: number, to: number, amount: bigint, nonce: bigint): Transfer => ({
    from,
    to,
    amount,
    nonce,
    signature: signTransfer(
      keys[from]!.privateKey,
      accounts[from]!.pubkey,
      accounts[to]!.pubkey,
      amount,
      nonce,
    ),
  })
  const txs = [
    transfer(0, 1, 100n, 0n), // alice -> bob
    transfer(1, 2, 50n, 0n), // bob -> carol
    transfer(2, 0, 10n, 0n), // carol -> alice: signature corrupted below, rejected
    transfer(0, 3, 25n, 1n), // alice -> dave, alice's second transfer
  ]
  const bad = txs[2]!.signature
  bad[0] = bad[0]! ^ 0x01
  const batch = { accounts, txs }
  const applied = applyBatch(batch)
  if (applied.rejected !== 1 || applied.outcomes[2] !== 'bad signature') {
    throw new Error(`sample batch: unexpected outcomes ${JSON.stringify(applied.outcomes)}`)
  }
  return {
    guest: 'l2-batch',
    po2: 20,
    input: encodeBatch(batch),
    journal: encodeJournal(applied),
    note: '5 accounts, 4 transfers, the third with a corrupted signature (rejected)',
    decoded: {
      prevRoot: hex(applied.prevRoot),
      newRoot: hex(applied.newRoot),
      txCount: applied.txCount,
      rejected: applied.rejected,
      outcomes: applied.outcomes,
      balancesAfter: applied.accounts.map((a) => a.balance.toString()),
      noncesAfter: applied.accounts.map((a) => a.nonce.toString()),
    },
  }
}

const samples: Record<string, Sample> = {
  'hello.input': hello(),
  'hashchain-small.input': hashchain(HASHCHAIN_SMALL_ROUNDS, 16),
  'hashchain-large.input': hashchain(HASHCHAIN_LARGE_ROUNDS, 20),
  'l2-batch.input': l2Batch(),
}

mkdirSync(SAMPLES, { recursive: true })
const expected: Record<string, unknown> = {}
for (const [file, s] of Object.entries(samples)) {
  writeFileSync(join(SAMPLES, file), s.input)
  expected[file] = {
    guest: s.guest,
    po2: s.po2,
    inputBytes: s.input.length,
    inputSha256: hex(sha256(s.input)),
    journal: hex(s.journal),
    note: s.note,
    ...(s.decoded ? { decoded: s.decoded } : {}),
  }
  console.log(`${file}: ${s.input.length} bytes for ${s.guest}, journal ${hex(s.journal)}`)
}
writeFileSync(join(SAMPLES, 'expected.json'), toJson(expected) + '\n')
console.log(`wrote ${SAMPLES}/expected.json`)
