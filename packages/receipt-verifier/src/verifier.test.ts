// The WebAssembly build of risc0's verifier against real receipts from the worker: same verdict
// and journal as native verification, and a clear refusal of everything that is not a receipt
// of this image.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openCore, REPO_ROOT, type Core } from '../../../app/main/src/core.ts'
import { proveLocally } from '../../../app/main/src/jobs/local-prove.ts'
import { ReceiptRejectedError, ReceiptVerifier } from './index.ts'

const WASM = join(REPO_ROOT, 'packages', 'receipt-verifier', 'dist', 'receipt_verifier.wasm')
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')

let core: Core
let work: string
let verifier: ReceiptVerifier
let receipt: Uint8Array
let imageId: string
let journalHex: string
let claimDigest: string
let program: Uint8Array

before(async () => {
  assert.ok(existsSync(WASM), `no ${WASM}: run scripts/build-verifier-wasm.sh (setup does)`)
  verifier = await ReceiptVerifier.load(await readFile(WASM))
  work = await mkdtemp(join(tmpdir(), 'wholesum-wasm-verify-'))
  core = await openCore({ home: join(work, 'home') })
  const result = await proveLocally(await core.prover(), {
    program: join(guests, 'dist', 'hello.bin'),
    input: join(guests, 'samples', 'hello.input'),
    outDir: join(work, 'hello'),
    po2: 16,
  })
  receipt = await readFile(result.receiptPath)
  imageId = result.imageId
  journalHex = Buffer.from(result.verification.journal).toString('hex')
  claimDigest = result.verification.claimDigest
  program = await readFile(join(guests, 'dist', 'hello.bin'))
})

after(async () => {
  await core?.close()
  if (work !== undefined) await rm(work, { recursive: true, force: true })
})

const rejects = (run: () => unknown, message: RegExp): void =>
  assert.throws(
    run,
    (err: unknown) => err instanceof ReceiptRejectedError && message.test(err.message),
  )

describe('the WebAssembly receipt verifier', () => {
  test('verifies the worker’s receipt with the journal and claim native verification reads', () => {
    const verified = verifier.verify(receipt, imageId)
    assert.equal(verified.kind, 'composite')
    assert.equal(verified.segments, 1)
    assert.equal(verified.imageId, imageId)
    assert.equal(verified.journalHex, journalHex)
    assert.deepEqual(verified.exitCode, { kind: 'halted', code: 0 })
    assert.equal(verified.claimDigest, claimDigest)
  })

  test('computes the program’s image ID itself, equal to the worker’s', () => {
    assert.equal(verifier.imageId(program), imageId)
  })

  test('refuses the receipt for another image', () => {
    const other = (BigInt(`0x${imageId}`) ^ 1n).toString(16).padStart(64, '0')
    rejects(() => verifier.verify(receipt, other), /does not verify for image/)
  })

  test('refuses a receipt whose journal was changed', () => {
    const journal = Buffer.from(journalHex, 'hex')
    const at = Buffer.from(receipt).lastIndexOf(journal)
    assert.ok(at > 0, 'the journal is in the receipt')
    const forged = Uint8Array.from(receipt)
    forged[at + journal.length - 1]! ^= 0x01
    rejects(() => verifier.verify(forged, imageId), /does not verify/)
  })

  test('refuses a receipt whose seal was changed', () => {
    const forged = Uint8Array.from(receipt)
    // Deep in the segment's seal: the receipt still decodes, the proof no longer checks.
    const at = Math.floor(forged.length / 2)
    forged[at]! ^= 0xff
    rejects(() => verifier.verify(forged, imageId), /does not verify|not a risc0 receipt/)
    // (which of the two depends on whether the flipped byte lands in a length or in proof data)
  })

  test('refuses a receipt with bytes after it, an empty one, a truncated one and a text file', () => {
    rejects(
      () => verifier.verify(Buffer.concat([receipt, Uint8Array.of(0)]), imageId),
      /not a risc0 receipt/,
    )
    rejects(() => verifier.verify(new Uint8Array(), imageId), /the receipt is empty/)
    rejects(() => verifier.verify(receipt.subarray(0, 1000), imageId), /not a risc0 receipt/)
    rejects(
      () => verifier.verify(new TextEncoder().encode('{"receipt": true}'), imageId),
      /not a risc0 receipt/,
    )
  })

  test('refuses a receipt whose length prefix claims more than the bytes hold, without allocating it', () => {
    // A composite receipt (variant 0) whose segment list claims 2^60 entries.
    const forged = new Uint8Array(12)
    new DataView(forged.buffer).setBigUint64(4, 1n << 60n, true)
    rejects(() => verifier.verify(forged, imageId), /not a risc0 receipt/)
  })

  test('refuses an image ID that is not 32 bytes of hex, and a program that is not one', () => {
    rejects(() => verifier.verify(receipt, 'abc'), /64 hex characters/)
    rejects(() => verifier.imageId(new TextEncoder().encode('hello')), /not a RISC Zero program/)
    rejects(() => verifier.imageId(new Uint8Array()), /the program is empty/)
  })

  test('keeps working after refusals (one instance, buffers freed)', () => {
    for (let i = 0; i < 5; i++) rejects(() => verifier.verify(new Uint8Array(64), imageId), /not a/)
    assert.equal(verifier.verify(receipt, imageId).journalHex, journalHex)
  })

  test('will not load a module that is not the verifier', async () => {
    // The smallest valid module: no exports at all.
    const empty = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)
    await assert.rejects(ReceiptVerifier.load(empty), /missing exports memory, wholesum_alloc/)
  })
})
