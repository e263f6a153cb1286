// A remote peer that stalls or vanishes part-way through a large object: the getter gives up after
// its idle timeout (which resets on every block, so a slow transfer is never cut off), says what
// happened, and is left with no pin.

import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { TimeoutError } from '@wholesum/plugin-api'
import { blockSpaceOf, startIpfsNode, type IpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'
import { bytesOf, collect, MiB, prng, removeDir, sha256, tempDir } from './fixtures/data.ts'

const SIZE = 48 * MiB // 192 chunks: more than 174, so the DAG has two levels of links
const TIMEOUT_MS = 1_000

interface PeerProcess {
  readonly address: string
  readonly cid: string
  readonly child: ChildProcess
  kill(): void
}

/** Starts `fixtures/serving-peer.ts` in its own process, holding SIZE bytes from `seed`. */
async function spawnPeer(dir: string, seed: number): Promise<PeerProcess> {
  const script = join(import.meta.dirname, 'fixtures', 'serving-peer.ts')
  const child = spawn(process.execPath, [script, dir, String(SIZE), String(seed)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serving peer exited with ${code}`)))
    createInterface({ input: child.stdout! }).once('line', resolve)
  })
  const { address, cid } = JSON.parse(line) as { address: string; cid: string }
  return {
    address,
    cid,
    child,
    kill: () => {
      child.kill('SIGKILL')
    },
  }
}

async function pinsOf(node: IpfsNode): Promise<string[]> {
  const out: string[] = []
  for await (const pin of node.helia.pins.ls()) out.push(pin.cid.toString())
  return out
}

/** No pin, and no block on disk marked pinned (Helia marks blocks as a pin walks them). */
async function assertNothingPinned(node: IpfsNode): Promise<void> {
  assert.deepEqual(await pinsOf(node), [])
  for await (const { cid } of blockSpaceOf(node.helia)!.getAll()) {
    assert.equal(await node.helia.pins.isPinned(cid), false, `${cid} marked pinned`)
  }
}

/**
 * What a transfer that failed reports: the error, and how long the getter waited after the last
 * data arrived (the idle timeout counts from there, not from the signal: data in flight when the
 * peer stopped still arrives, and a loaded machine may take seconds to drain it).
 */
interface Failure {
  readonly err: unknown
  readonly idleMs: number
}

/** Reads `cid` through `store.get`, calling `at` once when `after` bytes have arrived. */
async function getUntil(
  store: IpfsStore,
  cid: string,
  after: number,
  at: () => void,
): Promise<Failure & { received: number }> {
  let received = 0
  let signalled = false
  let lastData = performance.now()
  try {
    for await (const chunk of store.get(cid)) {
      received += chunk.byteLength
      lastData = performance.now()
      if (!signalled && received >= after) {
        signalled = true
        at()
      }
    }
  } catch (err) {
    return { err, received, idleMs: performance.now() - lastData }
  }
  throw new Error(`the get completed (${received} bytes) although the peer stopped`)
}

/** Pins `cid`, calling `at` once the node has stored `after` bytes. */
async function pinUntil(
  node: IpfsNode,
  store: IpfsStore,
  cid: string,
  after: number,
  at: () => void,
): Promise<Failure> {
  let signalled = false
  let stored = 0
  let lastData = performance.now()
  const watch = setInterval(() => {
    const used = node.usage().usedBytes
    if (used !== stored) [stored, lastData] = [used, performance.now()]
    if (!signalled && used >= after) {
      signalled = true
      at()
    }
  }, 2)
  try {
    await store.pin(cid)
  } catch (err) {
    return { err, idleMs: performance.now() - lastData }
  } finally {
    clearInterval(watch)
  }
  throw new Error('the pin completed although the peer stopped')
}

function assertTimedOutAfterIdle({ err, idleMs }: Failure): void {
  assert.ok(err instanceof TimeoutError, String(err))
  console.log(`failed ${idleMs.toFixed(0)} ms after the last data: ${err.message}`)
  // At least the idle timeout since the last data; the upper bound only says it did not hang
  // (timer and event-loop lag on a loaded 2-core machine stay well under it).
  assert.ok(
    idleMs >= TIMEOUT_MS * 0.9 && idleMs < TIMEOUT_MS + 10_000,
    `failed ${idleMs.toFixed(0)} ms after the last data`,
  )
}

describe('a peer process that is paused (SIGSTOP) mid-transfer', () => {
  let dir: string
  let peer: PeerProcess
  before(async () => {
    dir = await tempDir('stall')
    peer = await spawnPeer(join(dir, 'peer'), 31)
  })
  after(async () => {
    peer?.kill()
    await removeDir(dir)
  })

  test(
    'a get ends with TimeoutError one idle timeout after the data stopped',
    { timeout: 60_000 },
    async () => {
      const b = await startIpfsNode({ dir: join(dir, 'get') })
      try {
        await b.dial(peer.address)
        const store = new IpfsStore(b, { timeoutMs: TIMEOUT_MS })
        const failure = await getUntil(store, peer.cid, 4 * MiB, () => peer.child.kill('SIGSTOP'))
        const { err, received } = failure
        assertTimedOutAfterIdle(failure)
        assert.ok(received < SIZE, `${received} bytes`)
        assert.match(
          (err as Error).message,
          new RegExp(`no data within ${TIMEOUT_MS} ms after ${received} bytes`),
        )
        assert.match((err as Error).message, /1 peer\(s\) connected now/, 'paused, not gone')
        await assertNothingPinned(b)
      } finally {
        peer.child.kill('SIGCONT')
        await b.stop()
      }
    },
  )

  test(
    'a pin ends with TimeoutError and pins nothing; once the peer resumes, a retry completes',
    { timeout: 60_000 },
    async () => {
      const b = await startIpfsNode({ dir: join(dir, 'pin') })
      try {
        await b.dial(peer.address)
        const store = new IpfsStore(b, { timeoutMs: TIMEOUT_MS })
        const failure = await pinUntil(b, store, peer.cid, 4 * MiB, () =>
          peer.child.kill('SIGSTOP'),
        )
        const { err } = failure
        assertTimedOutAfterIdle(failure)
        assert.match((err as Error).message, /^pin Qm\w+: no data within 1000 ms after \d+ blocks/)
        await assertNothingPinned(b)
        const kept = b.usage()
        assert.ok(kept.usedBytes > 0 && kept.usedBytes < SIZE, 'what arrived stays, unpinned')

        peer.child.kill('SIGCONT')
        await store.pin(peer.cid, { timeoutMs: 10_000 })
        assert.equal((await store.stat(peer.cid)).pinned, true)
        assert.equal(sha256(await collect(store.get(peer.cid))), sha256(await bytesOf(SIZE, 31)))
      } finally {
        peer.child.kill('SIGCONT')
        await b.stop()
      }
    },
  )
})

describe('a peer process that is killed mid-transfer', () => {
  let dir: string
  before(async () => {
    dir = await tempDir('gone')
  })
  after(async () => {
    await removeDir(dir)
  })

  for (const call of ['get', 'pin'] as const) {
    test(
      `a ${call} ends with TimeoutError whose message says the peer disconnected, and pins nothing`,
      { timeout: 60_000 },
      async () => {
        const peer = await spawnPeer(join(dir, `peer-${call}`), 41)
        const b = await startIpfsNode({ dir: join(dir, call) })
        try {
          await b.dial(peer.address)
          const store = new IpfsStore(b, { timeoutMs: TIMEOUT_MS })
          const failure =
            call === 'get'
              ? await getUntil(store, peer.cid, 4 * MiB, peer.kill)
              : await pinUntil(b, store, peer.cid, 4 * MiB, peer.kill)
          const { err } = failure
          assertTimedOutAfterIdle(failure)
          assert.match(
            (err as Error).message,
            /; peer 12D3\w+ disconnected during the transfer; 0 peer\(s\) connected now$/,
          )
          await assertNothingPinned(b)
        } finally {
          peer.kill()
          await b.stop()
        }
      },
    )
  }
})

describe('a peer that keeps sending, slowly', () => {
  test(
    'is never cut off: the idle timeout resets on every block',
    { timeout: 60_000 },
    async () => {
      const dir = await tempDir('slow')
      const a = await startIpfsNode({ dir: join(dir, 'a') })
      const b = await startIpfsNode({ dir: join(dir, 'b') })
      try {
        const size = 64 * MiB
        const cid = await new IpfsStore(a).put(prng(51, size), { pin: true })
        // A reads every block it serves 15 ms late: at most 66 blocks (16.5 MiB) a second. It reads
        // all the blocks of a request before it sends them, so B waits about (blocks asked for) x
        // 15 ms, plus reading and hashing, for each batch: about 0.5-1 s for the 33 blocks B asks
        // for at once, under the 2 s timeout; the whole transfer takes more than twice that.
        const space = blockSpaceOf(a.helia)!
        const read = space.get.bind(space)
        space.get = async function* (cid, options) {
          await delay(15)
          yield* read(cid, options)
        }
        await b.dial(a.addresses()[0]!)
        const timeoutMs = 2_000
        const started = performance.now()
        let last = started
        let longestGap = 0
        const got = await collect(
          new IpfsStore(b, { timeoutMs }).get(cid, {
            onProgress: () => {
              longestGap = Math.max(longestGap, performance.now() - last)
              last = performance.now()
            },
          }),
        )
        const took = performance.now() - started
        console.log(
          `slow peer: ${took.toFixed(0)} ms, longest wait between chunks ${longestGap.toFixed(0)} ms`,
        )
        assert.equal(sha256(got), sha256(await bytesOf(size, 51)))
        assert.ok(took > 2 * timeoutMs, `the transfer took ${took.toFixed(0)} ms`)
      } finally {
        await b.stop()
        await a.stop()
        await removeDir(dir)
      }
    },
  )
})

describe('a request abandoned while the block was on its way', () => {
  test(
    'is asked for again, and the block comes (a serving Helia would swallow the second want)',
    { timeout: 60_000 },
    async () => {
      const dir = await tempDir('rewant')
      const a = await startIpfsNode({ dir: join(dir, 'a') })
      const b = await startIpfsNode({ dir: join(dir, 'b') })
      try {
        const bytes = await bytesOf(100_000, 61) // one block
        const cid = await new IpfsStore(a).put(bytes, { pin: true })
        // A takes 300 ms to read a block, so it sends it after B gave up on it.
        const space = blockSpaceOf(a.helia)!
        const read = space.get.bind(space)
        space.get = async function* (block, options) {
          await delay(300)
          yield* read(block, options)
        }
        await b.dial(a.addresses()[0]!)
        const store = new IpfsStore(b, { timeoutMs: 8_000 })
        await assert.rejects(collect(store.get(cid, { signal: AbortSignal.timeout(100) })))
        await delay(600) // the block arrives now, and B drops it: nobody wants it any more
        const started = performance.now()
        // Without the re-want this get ends in TimeoutError (8 s with no data): succeeding is the proof.
        assert.equal(sha256(await collect(store.get(cid))), sha256(bytes))
        console.log(`second request answered after ${(performance.now() - started).toFixed(0)} ms`)
      } finally {
        await b.stop()
        await a.stop()
        await removeDir(dir)
      }
    },
  )
})
