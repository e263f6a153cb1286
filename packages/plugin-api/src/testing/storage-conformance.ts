// The conformance suite every `storage` plugin runs: one set of rules, each implementation's harness.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, describe, test } from 'node:test'
import type { CidString, StoragePlugin } from '../capabilities.ts'
import { InvalidInputError, NotFoundError, TimeoutError, VerificationError } from '../errors.ts'

export interface StorageUnderTest {
  readonly store: StoragePlugin
  /** Damages the stored bytes of `cid` behind the store's back (disk, remote fake, …). */
  corrupt(cid: CidString): Promise<void>
  close(): Promise<void>
}

export interface StorageHarness {
  /** A fresh, empty store. */
  open(): Promise<StorageUnderTest>
  /** A well-formed identifier of content the store has never seen. */
  readonly absentCid: CidString
  /** How long `get` of absent content may wait before it must give up (ms). */
  readonly missingTimeoutMs: number
}

const KiB = 1024
const MiB = 1024 * KiB

/** Deterministic, incompressible bytes in 1 MiB pieces, never one big buffer. */
async function* pseudoRandom(seed: number, size: number): AsyncGenerator<Uint8Array> {
  let counter = 0
  for (let sent = 0; sent < size;) {
    const piece = Buffer.alloc(Math.min(MiB, size - sent))
    for (let at = 0; at < piece.length; at += 32) {
      createHash('sha256').update(`${seed}:${counter++}`).digest().copy(piece, at)
    }
    sent += piece.length
    yield piece
  }
}

async function bytesOf(seed: number, size: number): Promise<Buffer> {
  const pieces: Uint8Array[] = []
  for await (const piece of pseudoRandom(seed, size)) pieces.push(piece)
  return Buffer.concat(pieces)
}

async function digestOf(source: AsyncIterable<Uint8Array>): Promise<{ sha: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of source) {
    hash.update(chunk)
    size += chunk.byteLength
  }
  return { sha: hash.digest('hex'), size }
}

async function tee(
  seed: number,
  size: number,
): Promise<{
  source: AsyncIterable<Uint8Array>
  expected: Promise<{ sha: string; size: number }>
}> {
  const hash = createHash('sha256')
  let resolve!: (value: { sha: string; size: number }) => void
  const expected = new Promise<{ sha: string; size: number }>((r) => (resolve = r))
  async function* source(): AsyncGenerator<Uint8Array> {
    for await (const piece of pseudoRandom(seed, size)) {
      hash.update(piece)
      yield piece
    }
    resolve({ sha: hash.digest('hex'), size })
  }
  return { source: source(), expected }
}

export function storageConformance(name: string, harness: StorageHarness): void {
  describe(`storage conformance: ${name}`, () => {
    const opened: StorageUnderTest[] = []
    const open = async (): Promise<StorageUnderTest> => {
      const underTest = await harness.open()
      opened.push(underTest)
      return underTest
    }
    after(async () => {
      for (const underTest of opened) await underTest.close()
    })

    for (const [label, size] of [
      ['0 B', 0],
      ['1 KiB', KiB],
      ['5 MiB', 5 * MiB],
      ['64 MiB', 64 * MiB],
    ] as const) {
      test(
        `round-trips ${label}: same bytes back, has and stat agree`,
        { timeout: 300_000 },
        async () => {
          const { store } = await open()
          const { source, expected } = await tee(size + 1, size)
          const cid = await store.put(source)
          const want = await expected
          assert.deepEqual(await digestOf(store.get(cid)), want)
          assert.equal(await store.has(cid), true)
          assert.equal((await store.stat(cid)).size, size)
        },
      )
    }

    test('the same bytes give the same identifier, in one piece or streamed', async () => {
      const { store } = await open()
      const bytes = await bytesOf(99, 300 * KiB)
      const whole = await store.put(bytes)
      async function* uneven(): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < bytes.length; at += 7777) yield bytes.subarray(at, at + 7777)
      }
      assert.equal(await store.put(uneven()), whole)
    })

    test('corrupted content is rejected on read, never returned', async () => {
      const underTest = await open()
      const cid = await underTest.store.put(await bytesOf(5, KiB))
      await underTest.corrupt(cid)
      await assert.rejects(
        async () => digestOf(underTest.store.get(cid, { timeoutMs: harness.missingTimeoutMs })),
        (err: unknown) =>
          err instanceof VerificationError ||
          err instanceof TimeoutError ||
          err instanceof NotFoundError,
      )
    })

    test('a missing identifier ends cleanly, within its timeout', async () => {
      const { store } = await open()
      const started = performance.now()
      await assert.rejects(
        async () => digestOf(store.get(harness.absentCid, { timeoutMs: harness.missingTimeoutMs })),
        (err: unknown) => err instanceof TimeoutError || err instanceof NotFoundError,
      )
      assert.ok(performance.now() - started < harness.missingTimeoutMs + 5000, 'gave up in time')
    })

    test('an identifier that does not parse is InvalidInputError', async () => {
      const { store } = await open()
      await assert.rejects(async () => digestOf(store.get('not-a-cid!')), InvalidInputError)
      await assert.rejects(async () => store.has('not-a-cid!'), InvalidInputError)
    })

    test('concurrent puts all land, each retrievable by its own identifier', async () => {
      const { store } = await open()
      const sizes = [1, 10 * KiB, 100 * KiB, 256 * KiB, 300 * KiB, 1 * MiB, 2 * MiB + 3, 50]
      const results = await Promise.all(
        sizes.map(async (size, i) => {
          const { source, expected } = await tee(1000 + i, size)
          const cid = await store.put(source)
          return { cid, expected: await expected }
        }),
      )
      assert.equal(new Set(results.map((r) => r.cid)).size, sizes.length)
      for (const { cid, expected } of results)
        assert.deepEqual(await digestOf(store.get(cid)), expected)
    })
  })
}
