import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import {
  AbortError,
  InvalidInputError,
  TimeoutError,
  VerificationError,
  type PluginContext,
} from '@wholesum/plugin-api'
import activate from './index.ts'
import { CID } from 'multiformats/cid'
import { startIpfsNode, type IpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'

const run = promisify(execFile)

/** A seeded xorshift32 byte stream in 1 MiB pieces: the same bytes every run, never one big buffer. */
async function* prng(seed: number, size: number, piece = 1 << 20): AsyncGenerator<Uint8Array> {
  let x = seed >>> 0 || 1
  for (let done = 0; done < size;) {
    const n = Math.min(piece, size - done)
    const out = new Uint8Array(n)
    const words = new Uint32Array(out.buffer, 0, n >>> 2)
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      words[i] = x >>> 0
    }
    for (let i = words.length * 4; i < n; i++) out[i] = i & 0xff
    done += n
    yield out
  }
}

async function bytesOf(size: number, seed = 7): Promise<Uint8Array> {
  const out = new Uint8Array(size)
  let at = 0
  for await (const piece of prng(seed, size)) {
    out.set(piece, at)
    at += piece.byteLength
  }
  return out
}

async function collect(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const chunk of source) parts.push(chunk)
  return Buffer.concat(parts)
}

/** Kubo-compatible CIDv0 from Debian's ipfs_cid (prints {"CIDv0": ..., "CIDv1": ...}). */
async function ipfsCid(dir: string, bytes: Uint8Array): Promise<string> {
  const file = join(dir, `in-${bytes.byteLength}.bin`)
  await writeFile(file, bytes)
  const { stdout } = await run('ipfs_cid', [file])
  const parsed = JSON.parse(stdout.trim()) as { CIDv0: string }
  return parsed.CIDv0
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

const KiB = 1024
const MiB = 1024 * KiB

describe('IpfsStore (Helia, loopback only)', () => {
  let dir: string
  let node: IpfsNode
  let store: IpfsStore

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-'))
    node = await startIpfsNode({ dir: join(dir, 'a') })
    store = new IpfsStore(node.helia, { timeoutMs: 2_000 })
  })
  after(async () => {
    await node?.stop()
    await removeDir(dir)
  })

  for (const [label, size] of [
    ['0 B', 0],
    ['6 B', 6],
    ['1 KiB', KiB],
    ['2 MB', 2_000_000],
    ['5 MiB', 5 * MiB],
  ] as const) {
    test(`CID of ${label} equals ipfs_cid (Kubo defaults)`, async () => {
      const bytes = size === 6 ? new TextEncoder().encode('hello\n') : await bytesOf(size)
      const expected = await ipfsCid(dir, bytes)
      const actual = await store.put(bytes)
      assert.equal(actual, expected)
      assert.match(actual, /^Qm/)
    })
  }

  test('CID of 176 chunks (43.75 MiB + 1 B: two-level balanced tree, > 174 leaves) equals ipfs_cid', async () => {
    const size = 174 * 262_144 + 1 + 256 * KiB
    const file = join(dir, 'big.bin')
    await pipeline(Readable.from(prng(9, size)), createWriteStream(file))
    const { stdout } = await run('ipfs_cid', [file])
    const expected = (JSON.parse(stdout.trim()) as { CIDv0: string }).CIDv0
    assert.equal(await store.put(prng(9, size)), expected)
    await rm(file)
  })

  test('CID is the same whether put as one buffer or as an uneven stream', async () => {
    const bytes = await bytesOf(700 * KiB + 3, 11)
    async function* uneven(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < bytes.byteLength; at += 99_991) yield bytes.subarray(at, at + 99_991)
    }
    assert.equal(await store.put(uneven()), await store.put(bytes))
  })

  for (const [label, size] of [
    ['0 B', 0],
    ['1 KiB', KiB],
    ['5 MiB', 5 * MiB],
  ] as const) {
    test(`round trip ${label}: get returns the bytes put`, async () => {
      const bytes = await bytesOf(size, 3)
      const progress: number[] = []
      const cid = await store.put(bytes, { onProgress: (p) => progress.push(p.bytes) })
      assert.equal(progress.at(-1) ?? 0, size)
      const back = await collect(store.get(cid))
      assert.equal(back.byteLength, size)
      assert.ok(Buffer.from(bytes).equals(back))
      assert.equal(await store.has(cid), true)
      const stat = await store.stat(cid)
      assert.deepEqual(stat, { cid, size, pinned: false, local: true })
    })
  }

  test('pin and unpin', async () => {
    const cid = await store.put(new TextEncoder().encode('pin me'), { pin: true })
    assert.equal((await store.stat(cid)).pinned, true)
    await store.unpin(cid)
    assert.equal((await store.stat(cid)).pinned, false)
    await store.pin(cid)
    assert.equal((await store.stat(cid)).pinned, true)
  })

  test('a CID that does not parse is InvalidInputError, for every call', async () => {
    for (const bad of ['not-a-cid', '', 'Qm123', 'bafy!!!']) {
      assert.throws(() => store.get(bad), InvalidInputError)
      await assert.rejects(store.has(bad), InvalidInputError)
      await assert.rejects(store.pin(bad), InvalidInputError)
      await assert.rejects(store.unpin(bad), InvalidInputError)
      await assert.rejects(store.stat(bad), InvalidInputError)
    }
    await assert.rejects(store.put(42 as unknown as Uint8Array), InvalidInputError)
  })

  test('a well-formed but unknown CID with no peers ends in TimeoutError within the timeout', async () => {
    // sha256 of bytes nobody has: a valid CIDv0 that no node holds.
    const unknown = await (async () => {
      const other = await mkdtemp(join(tmpdir(), 'storage-ipfs-x-'))
      const n = await startIpfsNode({ dir: other })
      const cid = await new IpfsStore(n.helia).put(
        new TextEncoder().encode(`nobody has this ${Date.now()}`),
      )
      await n.stop()
      await removeDir(other)
      return cid
    })()
    assert.equal(await store.has(unknown), false)
    const started = performance.now()
    await assert.rejects(collect(store.get(unknown, { timeoutMs: 500 })), TimeoutError)
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 450 && elapsed < 2_000, `took ${elapsed} ms`)
    await assert.rejects(store.stat(unknown, { timeoutMs: 300 }), TimeoutError)
    await assert.rejects(store.pin(unknown, { timeoutMs: 300 }), TimeoutError)
  })
})

describe('abort and plugin entry', () => {
  test("the caller's signal ends a get with AbortError", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-ab-'))
    const node = await startIpfsNode({ dir })
    try {
      const store = new IpfsStore(node.helia, { timeoutMs: 10_000 })
      const missing = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
      const started = performance.now()
      await assert.rejects(
        collect(store.get(missing, { signal: AbortSignal.timeout(200) })),
        AbortError,
      )
      assert.ok(performance.now() - started < 2_000)
    } finally {
      await node.stop()
      await removeDir(dir)
    }
  })

  test('definePlugin entry starts a node in dataDir and deactivate stops it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-pl-'))
    const logs: string[] = []
    const log = (message: string): void => void logs.push(message)
    const ctx = {
      manifest: {
        name: 'storage-ipfs',
        version: '0.1.0',
        kinds: ['storage'],
        entry: 'src/index.ts',
        engine: '^0.1.0',
        permissions: ['fs:data', 'network:p2p'],
      },
      root: join(import.meta.dirname, '..'),
      dataDir: dir,
      logger: { debug: log, info: log, warn: log, error: log },
      settings: { timeoutMs: 1_000 },
      signal: new AbortController().signal,
    } satisfies PluginContext
    try {
      const instance = await activate(ctx)
      const storage = instance.storage
      assert.ok(storage)
      const cid = await storage.put(new TextEncoder().encode('hello\n'))
      assert.equal(cid, 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN')
      assert.ok(logs.some((m) => m.includes('embedded IPFS store ready')))
      await instance.deactivate?.()
    } finally {
      await removeDir(dir)
    }
  })
})

describe('block verification', () => {
  /** Puts bytes on a node, then flips the last byte of the block's file on disk. */
  async function forgeSingleBlock(
    node: IpfsNode,
    blocksDir: string,
    bytes: Uint8Array,
  ): Promise<string> {
    const cid = await new IpfsStore(node.helia).put(bytes)
    const files = (await readdir(blocksDir, { recursive: true })).filter((f) => f.endsWith('.data'))
    assert.equal(files.length, 1)
    const file = join(blocksDir, files[0]!)
    const forged = Uint8Array.from(await readFile(file))
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff
    await writeFile(file, forged)
    return cid
  }

  test('a block corrupted on disk is refused by local reads with VerificationError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-v1-'))
    const node = await startIpfsNode({ dir })
    try {
      const cid = await forgeSingleBlock(node, join(dir, 'blocks'), await bytesOf(KiB, 21))
      await assert.rejects(collect(new IpfsStore(node.helia).get(cid)), VerificationError)
    } finally {
      await node.stop()
      await removeDir(dir)
    }
  })

  test('a forged block served by a peer is dropped by the fetching node (bitswap checks the hash)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-v2-'))
    // A serves what is on its disk without checking, as a malicious or broken peer would.
    const a = await startIpfsNode({ dir: join(dir, 'a'), verifyReads: false })
    const b = await startIpfsNode({ dir: join(dir, 'b') })
    try {
      const cid = await forgeSingleBlock(a, join(dir, 'a', 'blocks'), await bytesOf(KiB, 22))
      const served = await collect(a.helia.blockstore.get(CID.parse(cid)))
      assert.equal(served.byteLength > 0, true, 'A serves the forged block')

      await b.dial(a.addresses()[0]!)
      // B never receives a valid block: the forged one is refused, so the want times out.
      await assert.rejects(
        collect(new IpfsStore(b.helia, { timeoutMs: 1_500 }).get(cid)),
        TimeoutError,
      )
      assert.equal(await new IpfsStore(b.helia).has(cid), false, 'B stored nothing')
    } finally {
      await b.stop()
      await a.stop()
      await removeDir(dir)
    }
  })
})

describe('stop', () => {
  test('nothing is written to the directory after stop (libp2p debounced self-record write)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-s-'))
    const node = await startIpfsNode({ dir })
    await node.stop()
    await rm(dir, { recursive: true, force: true })
    await delay(1_500) // the address manager's debounce is 1 s
    assert.equal(existsSync(dir), false)
  })
})

describe('persistence', () => {
  test('a new node on the same directory serves what the old one stored, offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-p-'))
    try {
      const bytes = await bytesOf(3 * MiB + 17, 5)
      const first = await startIpfsNode({ dir })
      const peerId = first.helia.libp2p.peerId.toString()
      const cid = await new IpfsStore(first.helia).put(bytes, { pin: true })
      await first.stop()

      const second = await startIpfsNode({ dir })
      try {
        assert.equal(second.helia.libp2p.peerId.toString(), peerId, 'peer key persisted')
        const store = new IpfsStore(second.helia, { timeoutMs: 1_000 })
        assert.equal(second.helia.libp2p.getConnections().length, 0)
        assert.ok(Buffer.from(bytes).equals(await collect(store.get(cid))))
        assert.deepEqual(await store.stat(cid), {
          cid,
          size: bytes.byteLength,
          pinned: true,
          local: true,
        })
      } finally {
        await second.stop()
      }
    } finally {
      await removeDir(dir)
    }
  })
})

describe('two nodes on loopback', () => {
  test(
    'node B fetches 64 MiB that node A stored, by CID, over bitswap',
    { timeout: 300_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-2-'))
      const a = await startIpfsNode({ dir: join(dir, 'a') })
      const b = await startIpfsNode({ dir: join(dir, 'b') })
      try {
        const size = 64 * MiB
        const storeA = new IpfsStore(a.helia)
        const storeB = new IpfsStore(b.helia, { timeoutMs: 10_000 })

        const want = createHash('sha256')
        async function* hashed(): AsyncGenerator<Uint8Array> {
          for await (const piece of prng(42, size)) {
            want.update(piece)
            yield piece
          }
        }
        let t = performance.now()
        const cid = await storeA.put(hashed())
        const putMs = performance.now() - t
        const expected = want.digest('hex')

        const [address] = a.addresses()
        assert.ok(address?.startsWith('/ip4/127.0.0.1/tcp/'), address)
        await b.dial(address!)
        assert.equal(await storeB.has(cid), false)

        t = performance.now()
        const got = createHash('sha256')
        let received = 0
        for await (const chunk of storeB.get(cid)) {
          got.update(chunk)
          received += chunk.byteLength
        }
        const getMs = performance.now() - t
        assert.equal(received, size)
        assert.equal(got.digest('hex'), expected)
        const mibs = (n: number, ms: number): string => (((n / MiB) * 1000) / ms).toFixed(1)
        console.log(
          `64 MiB: put on A ${putMs.toFixed(0)} ms (${mibs(size, putMs)} MiB/s), ` +
            `get on B over bitswap ${getMs.toFixed(0)} ms (${mibs(size, getMs)} MiB/s), cid ${cid}`,
        )
        // Every peer B is connected to is on loopback.
        for (const conn of b.helia.libp2p.getConnections())
          assert.match(conn.remoteAddr.toString(), /^\/ip4\/127\./)
      } finally {
        await b.stop()
        await a.stop()
        await removeDir(dir)
      }
    },
  )
})
