// Test helpers: seeded bytes, draining a stream, and a FilecoinStore wired to a fresh FAKE Lighthouse.

import type { TestContext } from 'node:test'
import { FilecoinStore, type FilecoinStoreOptions } from '../store.ts'
import {
  startFakeLighthouse,
  type FakeLighthouse,
  type FakeLighthouseOptions,
} from './fake-lighthouse.ts'

/** A seeded xorshift32 byte stream in 1 MiB pieces: the same bytes every run. */
export async function* seeded(
  seed: number,
  size: number,
  piece = 1 << 20,
): AsyncGenerator<Uint8Array> {
  let x = seed >>> 0 || 1
  for (let done = 0; done < size;) {
    const out = new Uint8Array(Math.min(piece, size - done))
    for (let i = 0; i < out.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      out[i] = x & 0xff
    }
    done += out.length
    yield out
  }
}

export async function bytesOf(size: number, seed = 7): Promise<Uint8Array> {
  return new Uint8Array(await collect(seeded(seed, size)))
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const chunk of source) parts.push(chunk)
  return Buffer.concat(parts)
}

export const TEST_KEY = 'test-key-for-the-fake-only'

/**
 * A fresh FAKE Lighthouse (default: accepting TEST_KEY) and a store pointed at it, closed when test `t` ends.
 * `store` options override the defaults (key TEST_KEY, timeout 5 s).
 */
export async function fakeAndStore(
  t: TestContext,
  store: FilecoinStoreOptions = {},
  fakeOptions: FakeLighthouseOptions = { apiKeys: [TEST_KEY] },
): Promise<{ fake: FakeLighthouse; store: FilecoinStore }> {
  const fake = await startFakeLighthouse(fakeOptions)
  t.after(() => fake.close())
  return {
    fake,
    store: new FilecoinStore({
      apiKey: TEST_KEY,
      apiUrl: fake.apiUrl,
      uploadUrl: fake.uploadUrl,
      gatewayUrl: fake.gatewayUrl,
      timeoutMs: 5000,
      ...store,
    }),
  }
}

/** A loopback address where nothing listens: a port that was just in use and is now closed. */
export async function deadUrl(): Promise<string> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}
