// The Swarm store's specification, on a real Bee (`bee dev`, Go) on loopback; a tampering proxy in
// front of it stands for a lying node.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Bee } from '@ethersphere/bee-js'
import {
  AbortError,
  InvalidInputError,
  NotFoundError,
  PLUGIN_PERMISSIONS,
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
  VerificationError,
  type Logger,
  type PluginContext,
  type PluginManifest,
  type TransferProgress,
} from '@wholesum/plugin-api'
import { childrenOf, parseChunk } from './chunk-tree.ts'
import activate from './index.ts'
import { parseSwarmId, referenceToCid } from './reference.ts'
import { parseSettings } from './settings.ts'
import { SwarmStore } from './store.ts'
import { SEGMENT_BYTES } from './upload.ts'
import { beeBinary, INSTALL_HINT } from './testing/bee-dev.ts'
import { BEE_VECTOR_64MIB_32, vectorBytes } from './testing/bee-vectors.ts'
import { openSwarm, type SwarmUnderTest } from './testing/harness.ts'

const KiB = 1024
const MiB = 1024 * KiB
const skip = beeBinary() === undefined ? INSTALL_HINT : false

function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const pieces: Uint8Array[] = []
  for await (const piece of source) pieces.push(piece)
  return Buffer.concat(pieces)
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A loopback server that accepts connections and never answers: a hung node. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('SwarmStore without a reachable Bee node', () => {
  test('every call ends in UnavailableError naming the URL and what to do', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`
    const store = new SwarmStore(parseSettings({ beeUrl: url, postageBatchId: 'ab'.repeat(32) }))
    const cid = referenceToCid('cd'.repeat(32))
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['put', () => store.put(new Uint8Array(10))],
      ['get', () => collect(store.get(cid))],
      ['has', () => store.has(cid)],
      ['stat', () => store.stat(cid)],
      ['pin', () => store.pin(cid)],
      ['unpin', () => store.unpin(cid)],
    ]
    for (const [name, call] of calls) {
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof UnavailableError, `${name}: ${String(err)}`)
        assert.match(err.message, new RegExp(`no Bee node answers at ${url}`))
        assert.match(err.message, /bee dev/)
        assert.match(err.message, /beeUrl/)
        return true
      })
    }
  })

  test('without a configured batch, put still says that no node answers (not a batch problem)', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`
    const store = new SwarmStore(parseSettings({ beeUrl: url }))
    await assert.rejects(store.put(new Uint8Array(1)), (err: unknown) => {
      assert.ok(err instanceof UnavailableError)
      assert.match(err.message, /no Bee node answers/)
      return true
    })
  })

  test('a node that accepts but never answers ends each call with TimeoutError in time', async () => {
    const hung = await silentServer()
    try {
      const store = new SwarmStore(
        parseSettings({ beeUrl: hung.url, postageBatchId: 'ab'.repeat(32), timeoutMs: 5000 }),
      )
      const cid = referenceToCid('cd'.repeat(32))
      for (const call of [
        () => collect(store.get(cid, { timeoutMs: 300 })),
        () => store.has(cid, { timeoutMs: 300 }),
        () => store.stat(cid, { timeoutMs: 300 }),
        () => store.put(new Uint8Array(5), { timeoutMs: 300 }),
      ]) {
        const started = performance.now()
        await assert.rejects(call, TimeoutError)
        const took = performance.now() - started
        // Under 4.5 s: the call's own 300 ms, not the store's 5 s.
        assert.ok(took >= 250 && took < 4500, `gave up after ${took.toFixed(0)} ms`)
      }
    } finally {
      await hung.close()
    }
  })
})

describe('SwarmStore on a real Bee (bee dev)', { skip }, () => {
  let swarm: SwarmUnderTest
  let store: SwarmStore
  let bee: Bee
  before(async () => {
    swarm = await openSwarm()
    store = swarm.store
    bee = new Bee(swarm.node.url)
  })
  after(async () => {
    await swarm?.close()
  })

  test('identifiers equal the reference Bee itself gives for POST /bytes of the same bytes', async () => {
    const sizes = [0, 1, 4095, 4096, 4097, 129 * 4096, 2 * SEGMENT_BYTES + 5, 3 * MiB + 5]
    for (const size of sizes) {
      const bytes = bytesOf(size, size + 7)
      const cid = await store.put(bytes)
      const direct = await bee.uploadData(swarm.batchId!, bytes)
      assert.equal(cid, referenceToCid(direct.reference.toHex()), `size ${size}`)
      assert.equal(sha256(await collect(store.get(cid))), sha256(bytes), `size ${size}`)
    }
  })

  test(
    "Bee's 64 MiB + 32 B vector, streamed in 1 MiB pieces: Bee's expected reference, read back verified",
    { timeout: 300_000 },
    async () => {
      const [length, expected] = BEE_VECTOR_64MIB_32
      async function* pieces(): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < length; at += MiB) yield vectorBytes(Math.min(MiB, length - at), at)
      }
      let started = performance.now()
      const cid = await store.put(pieces())
      const putMs = performance.now() - started
      assert.equal(cid, referenceToCid(expected))
      started = performance.now()
      const hash = createHash('sha256')
      let size = 0
      for await (const piece of store.get(cid)) {
        hash.update(piece)
        size += piece.byteLength
      }
      const getMs = performance.now() - started
      const want = createHash('sha256')
      for await (const piece of pieces()) want.update(piece)
      assert.equal(size, length)
      assert.equal(hash.digest('hex'), want.digest('hex'))
      const rate = (ms: number): string => `${((length / MiB / ms) * 1000).toFixed(1)} MiB/s`
      console.log(
        `# 64 MiB + 32 B: put ${putMs.toFixed(0)} ms (${rate(putMs)}), verified get ${getMs.toFixed(0)} ms (${rate(getMs)})`,
      )
    },
  )

  test('progress: put reports bytes Bee acknowledged with the total, get reports bytes and total', async () => {
    const bytes = bytesOf(3 * MiB + 5, 3)
    const seen: TransferProgress[] = []
    const cid = await store.put(bytes, { onProgress: (p) => seen.push(p) })
    assert.ok(seen.length >= 2)
    assert.deepEqual(seen.at(-1), { bytes: bytes.length, total: bytes.length })
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytes >= seen[i - 1]!.bytes)
    const read: TransferProgress[] = []
    await collect(store.get(cid, { onProgress: (p) => read.push(p) }))
    assert.deepEqual(read.at(-1), { bytes: bytes.length, total: bytes.length })
  })

  test('has, stat, pin and unpin', async () => {
    const bytes = bytesOf(10 * KiB, 11)
    const cid = await store.put(bytes)
    assert.equal(await store.has(cid), true)
    assert.deepEqual(await store.stat(cid), {
      cid,
      size: bytes.length,
      pinned: false,
      local: false,
    })
    await store.pin(cid)
    assert.deepEqual(await store.stat(cid), { cid, size: bytes.length, pinned: true, local: true })
    await store.unpin(cid)
    assert.equal((await store.stat(cid)).pinned, false)
    await assert.rejects(store.unpin(cid), NotFoundError)
    const pinnedAtPut = await store.put(bytesOf(5 * KiB, 12), { pin: true })
    assert.equal((await store.stat(pinnedAtPut)).pinned, true)
    // The plain hex form names the same object.
    assert.equal((await store.stat(parseSwarmId(pinnedAtPut))).cid, pinnedAtPut)
  })

  test('content the node does not have: has is false, get/stat/pin end with NotFoundError', async () => {
    const absent = referenceToCid('ee'.repeat(32))
    assert.equal(await store.has(absent), false)
    await assert.rejects(collect(store.get(absent)), NotFoundError)
    await assert.rejects(store.stat(absent), NotFoundError)
    await assert.rejects(store.pin(absent), NotFoundError)
  })

  test('an identifier that does not parse is InvalidInputError from every call (get at once)', async () => {
    assert.throws(() => store.get('not-a-cid!'), InvalidInputError)
    for (const call of [
      () => store.has('zz'),
      () => store.stat('zz'),
      () => store.pin('zz'),
      () => store.unpin('zz'),
    ]) {
      await assert.rejects(call, InvalidInputError)
    }
    await assert.rejects(store.put('text' as unknown as Uint8Array), InvalidInputError)
    async function* strings(): AsyncGenerator<unknown> {
      yield 'text'
    }
    await assert.rejects(store.put(strings() as AsyncIterable<Uint8Array>), InvalidInputError)
  })

  test('a failed put leaves nothing pinned', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield bytesOf(SEGMENT_BYTES * 2, 5)
      throw new Error('source broke')
    }
    const pinsBefore = (await bee.getAllPins()).map((r) => r.toHex())
    await assert.rejects(store.put(failing(), { pin: true }), /source broke/)
    assert.deepEqual(
      (await bee.getAllPins()).map((r) => r.toHex()),
      pinsBefore,
    )
  })
})

describe(
  'SwarmStore refuses bad data from the node (tampering proxy before a real Bee)',
  { skip },
  () => {
    let swarm: SwarmUnderTest
    before(async () => {
      swarm = await openSwarm()
    })
    after(async () => {
      await swarm?.close()
    })

    test('a flipped byte in the root chunk: VerificationError, nothing returned', async () => {
      const cid = await swarm.store.put(bytesOf(KiB, 21))
      swarm.proxy.tamper('chunks', parseSwarmId(cid), { kind: 'flip', offset: 100 })
      const got: Uint8Array[] = []
      await assert.rejects(
        async () => {
          for await (const piece of swarm.store.get(cid)) got.push(piece)
        },
        (err: unknown) => err instanceof VerificationError && /hashes to/.test(err.message),
      )
      assert.equal(got.length, 0)
      await assert.rejects(swarm.store.stat(cid), VerificationError)
      await assert.rejects(swarm.store.has(cid), VerificationError)
    })

    test('a flipped byte mid-stream: only the verified leaves before it are returned', async () => {
      const bytes = bytesOf(SEGMENT_BYTES + 300 * KiB, 22)
      const cid = await swarm.store.put(bytes)
      const offset = 600_000
      swarm.proxy.tamper('bytes', parseSwarmId(cid), { kind: 'flip', offset })
      const got: Uint8Array[] = []
      await assert.rejects(
        async () => {
          for await (const piece of swarm.store.get(cid)) got.push(piece)
        },
        (err: unknown) => err instanceof VerificationError && /not to the leaf/.test(err.message),
      )
      const prefix = Buffer.concat(got)
      assert.equal(prefix.length, Math.floor(offset / 4096) * 4096)
      assert.ok(prefix.equals(Buffer.from(bytes.subarray(0, prefix.length))))
    })

    test('data cut short or running long: VerificationError', async () => {
      const bytes = bytesOf(100 * KiB, 23)
      const cid = await swarm.store.put(bytes)
      const reference = parseSwarmId(cid)
      swarm.proxy.tamper('bytes', reference, { kind: 'truncate', length: 10_000 })
      await assert.rejects(collect(swarm.store.get(cid)), /ends after 10000 bytes/)
      swarm.proxy.tamper('bytes', reference, { kind: 'extend', extra: Uint8Array.of(1) })
      await assert.rejects(collect(swarm.store.get(cid)), (err: unknown) => {
        return err instanceof VerificationError && /runs past/.test(err.message)
      })
    })

    test('a node that drops the connection mid-download: UnavailableError saying so', async () => {
      const cid = await swarm.store.put(bytesOf(SEGMENT_BYTES + 5, 28))
      swarm.proxy.tamper('bytes', parseSwarmId(cid), { kind: 'cut', after: 100_000 })
      let received = 0
      await assert.rejects(
        async () => {
          for await (const piece of swarm.store.get(cid)) received += piece.byteLength
        },
        (err: unknown) =>
          err instanceof UnavailableError && /broke off the download/.test(err.message),
      )
      assert.ok(received <= 100_000)
    })

    test('an intermediate chunk swapped for another valid chunk: VerificationError', async () => {
      const cid = await swarm.store.put(bytesOf(2 * SEGMENT_BYTES + 1, 24))
      const other = await swarm.store.put(bytesOf(SEGMENT_BYTES, 25))
      const bee = new Bee(swarm.node.url)
      const root = parseChunk(await bee.downloadChunk(parseSwarmId(cid)))!
      const [first] = childrenOf(root.span, root.payload)
      const otherChunk = await bee.downloadChunk(parseSwarmId(other))
      swarm.proxy.tamper('chunks', first!.reference, { kind: 'replace', body: otherChunk })
      await assert.rejects(collect(swarm.store.get(cid)), VerificationError)
    })

    test('a root answered with another valid chunk: VerificationError', async () => {
      const cid = await swarm.store.put(bytesOf(3000, 26))
      const other = await swarm.store.put(bytesOf(3000, 27))
      const otherChunk = await new Bee(swarm.node.url).downloadChunk(parseSwarmId(other))
      swarm.proxy.tamper('chunks', parseSwarmId(cid), { kind: 'replace', body: otherChunk })
      await assert.rejects(collect(swarm.store.get(cid)), VerificationError)
    })
  },
)

describe('SwarmStore postage batches', { skip }, () => {
  const opened: SwarmUnderTest[] = []
  after(async () => {
    for (const swarm of opened) await swarm.close()
  })
  async function open(options: Parameters<typeof openSwarm>[0]): Promise<SwarmUnderTest> {
    const swarm = await openSwarm(options)
    opened.push(swarm)
    return swarm
  }

  test('no usable batch and no autoBuyBatch: UnavailableError that says what to do', async () => {
    const swarm = await open({ buyBatch: false })
    await assert.rejects(swarm.store.put(bytesOf(100)), (err: unknown) => {
      assert.ok(err instanceof UnavailableError, String(err))
      assert.match(
        err.message,
        /no usable postage batch on the Bee node at http:\/\/127\.0\.0\.1:\d+/,
      )
      assert.match(err.message, /postageBatchId/)
      assert.match(err.message, /autoBuyBatch/)
      return true
    })
    assert.deepEqual(await new Bee(swarm.node.url).getPostageBatches(), [], 'bought nothing')
  })

  test('a configured batch the node does not know: UnavailableError naming it', async () => {
    const missing = '12'.repeat(32)
    const swarm = await open({ buyBatch: false, settings: { postageBatchId: missing } })
    await assert.rejects(swarm.store.put(bytesOf(100)), (err: unknown) => {
      assert.ok(err instanceof UnavailableError, String(err))
      assert.match(err.message, new RegExp(`postage batch ${missing} .* is not known`))
      return true
    })
  })

  test('without postageBatchId, a usable batch of the node is picked', async () => {
    const swarm = await open({ buyBatch: false })
    const bee = new Bee(swarm.node.url)
    const batch = await swarm.node.buyBatch(20)
    const cid = await swarm.store.put(bytesOf(5000, 31))
    assert.equal((await swarm.store.stat(cid)).size, 5000)
    const batches = await bee.getPostageBatches()
    assert.deepEqual(
      batches.map((b) => b.batchID.toHex()),
      [batch],
    )
  })

  test('autoBuyBatch buys exactly one batch, shared by concurrent puts', async () => {
    const swarm = await open({
      buyBatch: false,
      settings: { autoBuyBatch: { amount: '500000000', depth: 20 } },
    })
    const cids = await Promise.all([1, 2, 3].map((i) => swarm.store.put(bytesOf(1000 * i, 40 + i))))
    assert.equal(new Set(cids).size, 3)
    const batches = await new Bee(swarm.node.url).getPostageBatches()
    assert.equal(batches.length, 1)
    assert.equal(batches[0]!.label, 'wholesum')
    assert.equal(batches[0]!.depth, 20)
  })
})

describe('SwarmStore limits and aborts', { skip }, () => {
  let swarm: SwarmUnderTest
  let small: SwarmStore
  before(async () => {
    swarm = await openSwarm()
    small = new SwarmStore(
      parseSettings({
        beeUrl: swarm.proxy.url,
        postageBatchId: swarm.batchId,
        maxObjectBytes: MiB,
      }),
    )
  })
  after(async () => {
    await swarm?.close()
  })

  test('a buffer over maxObjectBytes is refused before anything is sent', async () => {
    const before = swarm.proxy.seen.length
    await assert.rejects(small.put(new Uint8Array(MiB + 1)), (err: unknown) => {
      return (
        err instanceof ResourceLimitError && /maxObjectBytes \(1048576 bytes\)/.test(err.message)
      )
    })
    assert.equal(swarm.proxy.seen.length, before)
    await small.put(new Uint8Array(MiB)) // exactly the limit is fine
  })

  test('a stream over maxObjectBytes is refused as soon as it passes the limit', async () => {
    let pulled = 0
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        pulled++
        yield new Uint8Array(256 * KiB)
      }
    }
    await assert.rejects(small.put(endless()), ResourceLimitError)
    assert.equal(pulled, 5)
  })

  test('get of an object over maxObjectBytes is refused after the root chunk, before the data', async () => {
    const cid = await swarm.store.put(bytesOf(2 * MiB, 51))
    const reference = parseSwarmId(cid)
    await assert.rejects(collect(small.get(cid)), ResourceLimitError)
    assert.ok(!swarm.proxy.seen.includes(`GET /bytes/${reference}`))
  })

  test("timeoutMs counts Bee's silence, not a slow source", async () => {
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 400))
        yield bytesOf(100 * KiB, 90 + i)
      }
    }
    const cid = await swarm.store.put(slow(), { timeoutMs: 200 })
    assert.equal((await swarm.store.stat(cid)).size, 300 * KiB)
  })

  test('abort: an aborted signal stops put before, during, and get during a transfer', async () => {
    await assert.rejects(
      swarm.store.put(new Uint8Array(10), { signal: AbortSignal.abort() }),
      AbortError,
    )

    const controller = new AbortController()
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 64; i++) {
        if (i === 3) controller.abort()
        yield bytesOf(SEGMENT_BYTES, 60 + i)
      }
    }
    await assert.rejects(
      swarm.store.put(slow(), { signal: controller.signal, pin: true }),
      AbortError,
    )
    assert.deepEqual(await new Bee(swarm.node.url).getAllPins(), [])

    const cid = await swarm.store.put(bytesOf(3 * MiB, 70))
    const reading = new AbortController()
    let pieces = 0
    await assert.rejects(async () => {
      for await (const _ of swarm.store.get(cid, { signal: reading.signal })) {
        if (++pieces === 2) reading.abort()
      }
    }, AbortError)
    assert.equal(pieces, 2)
  })
})

describe('the plugin entry', () => {
  const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} }
  const root = join(import.meta.dirname, '..')

  async function manifest(): Promise<PluginManifest> {
    return JSON.parse(await readFile(join(root, 'wholesum-plugin.json'), 'utf8')) as PluginManifest
  }

  function context(settings: Record<string, unknown>, m: PluginManifest): PluginContext {
    return {
      manifest: m,
      root,
      dataDir: root,
      logger: silent,
      settings: Object.freeze(settings),
      signal: new AbortController().signal,
    }
  }

  test('the manifest declares a storage plugin with known permissions and an existing entry', async () => {
    const m = await manifest()
    assert.equal(m.name, 'storage-swarm')
    assert.deepEqual(m.kinds, ['storage'])
    assert.equal(m.engine, '^0.1.0')
    for (const p of m.permissions)
      assert.ok((PLUGIN_PERMISSIONS as readonly string[]).includes(p), p)
    await readFile(join(root, m.entry))
  })

  test('settings outside loopback or malformed are InvalidInputError at activation', async () => {
    const m = await manifest()
    for (const settings of [
      { beeUrl: 'http://10.0.0.1:1633' },
      { beeUrl: 'ftp://127.0.0.1' },
      { postageBatchId: 'nope' },
      { timeoutMs: -1 },
      { autoBuyBatch: { amount: '1', depth: 3 } },
    ]) {
      await assert.rejects(async () => activate(context(settings, m)), InvalidInputError)
    }
  })

  test(
    'activation does not need a running node; the storage works once one answers',
    { skip },
    async () => {
      const m = await manifest()
      const swarm = await openSwarm()
      try {
        const instance = await activate(
          context({ beeUrl: swarm.node.url, postageBatchId: swarm.batchId }, m),
        )
        const cid = await instance.storage!.put(bytesOf(9000, 80))
        assert.equal(sha256(await collect(instance.storage!.get(cid))), sha256(bytesOf(9000, 80)))
        await instance.deactivate?.()
      } finally {
        await swarm.close()
      }
    },
  )
})
