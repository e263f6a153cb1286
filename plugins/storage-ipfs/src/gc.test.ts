// Garbage collection: what no pin holds goes, what a pin holds stays, and a put or pin in progress
// never loses a block to a gc that runs beside it.

import assert from 'node:assert/strict'
import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { test } from 'node:test'
import { TimeoutError } from '@wholesum/plugin-api'
import { CID } from 'multiformats/cid'
import { blockSpaceOf, startIpfsNode, type IpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'
import {
  blocksOnDisk,
  bytesOf,
  collect,
  gatedSource,
  MiB,
  prng,
  removeDir,
  sha256,
  tempDir,
} from './fixtures/data.ts'

async function withNode(
  label: string,
  fn: (node: IpfsNode, store: IpfsStore, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await tempDir(label)
  const node = await startIpfsNode({ dir })
  try {
    await fn(node, new IpfsStore(node, { timeoutMs: 2_000 }), dir)
  } finally {
    await node.stop()
    await removeDir(dir)
  }
}

/** Waits until the node has written at least `blocks` block files. */
async function untilBlocks(node: IpfsNode, blocks: number): Promise<void> {
  for (let i = 0; node.usage().blocks < blocks; i++) {
    if (i > 500) throw new Error(`only ${node.usage().blocks} blocks after 5 s`)
    await delay(10)
  }
}

test('gc deletes unpinned content, reports blocks and bytes freed, and keeps pinned content readable', async () => {
  await withNode('gc1', async (node, store, dir) => {
    const loose = await bytesOf(3 * MiB, 1)
    const kept = await bytesOf(2 * MiB, 2)
    const looseCid = await store.put(loose)
    const before = node.usage()
    const keptCid = await store.put(kept, { pin: true })
    const pinnedUsage = node.usage().usedBytes - before.usedBytes

    const result = await store.gc()
    assert.equal(result.blocks, before.blocks, 'every block of the unpinned object')
    assert.equal(result.bytes, before.usedBytes)
    assert.equal(result.pinned, node.usage().blocks)
    assert.equal(result.inUse, 0)
    assert.deepEqual(store.usage(), {
      usedBytes: pinnedUsage,
      blocks: result.pinned,
      quotaBytes: undefined,
    })
    assert.deepEqual(await blocksOnDisk(dir), { blocks: result.pinned, bytes: pinnedUsage })

    assert.equal(await store.has(looseCid), false)
    await assert.rejects(collect(store.get(looseCid, { timeoutMs: 300 })), TimeoutError)
    assert.equal(sha256(await collect(store.get(keptCid))), sha256(kept))

    assert.equal((await store.gc()).blocks, 0, 'nothing left to free')
    await store.unpin(keptCid)
    assert.equal((await store.gc()).bytes, pinnedUsage)
    assert.deepEqual(store.usage(), { usedBytes: 0, blocks: 0, quotaBytes: undefined })
  })
})

test('a put in progress survives a concurrent gc; once it returned unpinned, gc may take it', async () => {
  await withNode('gc2', async (node, store) => {
    const expected = sha256(await bytesOf(8 * MiB, 3))
    const { source, reached, release } = gatedSource(3, 8, 4)
    const putting = store.put(source)
    await reached
    await untilBlocks(node, 8) // some of the first 4 MiB written, the rest to come
    const during = await store.gc()
    assert.equal(during.blocks, 0, 'nothing of the put was deleted')
    assert.ok(during.inUse >= 8, `kept ${during.inUse} blocks in use`)
    release()
    const cid = await putting
    assert.equal(sha256(await collect(store.get(cid))), expected)

    // The put has returned without a pin: its blocks are garbage now.
    const after = await store.gc()
    assert.ok(after.blocks >= 33, `freed ${after.blocks}`)
    assert.equal(await store.has(cid), false)
  })
})

test('a put with pin: true stays whole under gc running in a loop the whole time', async () => {
  await withNode('gc3', async (node, store) => {
    let running = true
    let sweeps = 0
    let freed = 0
    const loop = (async () => {
      while (running) {
        freed += (await node.gc()).blocks
        sweeps++
        await delay(1)
      }
    })()
    const want: string[] = []
    const cids: string[] = []
    try {
      // Three puts after one another, the second sharing its first 4 MiB with the first.
      for (const [seed, size] of [
        [4, 12 * MiB],
        [4, 6 * MiB],
        [5, 3 * MiB],
      ] as const) {
        want.push(sha256(await bytesOf(size, seed)))
        cids.push(await store.put(prng(seed, size), { pin: true }))
      }
    } finally {
      running = false
      await loop
    }
    assert.ok(sweeps >= 3, `${sweeps} sweeps ran during the puts`)
    assert.equal(freed, 0, 'only pinned or in-flight blocks existed')
    await node.gc()
    for (const [i, cid] of cids.entries()) {
      assert.equal(sha256(await collect(store.get(cid, { timeoutMs: 500 }))), want[i])
      assert.equal((await store.stat(cid)).local, true)
    }
  })
})

test('a pin fetching from a peer survives gc running beside it', async () => {
  const dir = await tempDir('gc4')
  const a = await startIpfsNode({ dir: join(dir, 'a') })
  const b = await startIpfsNode({ dir: join(dir, 'b') })
  try {
    const bytes = await bytesOf(16 * MiB, 6)
    const cid = await new IpfsStore(a).put(bytes, { pin: true })
    await b.dial(a.addresses()[0]!)
    const storeB = new IpfsStore(b, { timeoutMs: 5_000 })
    let running = true
    const loop = (async () => {
      while (running) {
        await b.gc()
        await delay(1)
      }
    })()
    try {
      await storeB.pin(cid)
    } finally {
      running = false
      await loop
    }
    await a.stop() // B must now have every block itself
    await b.gc()
    assert.equal((await storeB.stat(cid)).local, true)
    assert.equal(sha256(await collect(storeB.get(cid, { timeoutMs: 500 }))), sha256(bytes))
  } finally {
    await b.stop()
    await a.stop()
    await removeDir(dir)
  }
})

test('content fetched from a peer, collected, and fetched again arrives again from the same peer', async () => {
  // Helia's bitswap would swallow the second want (doNotResendBlockWindow; see node.ts).
  const dir = await tempDir('gc7')
  const a = await startIpfsNode({ dir: join(dir, 'a') })
  const b = await startIpfsNode({ dir: join(dir, 'b') })
  try {
    const bytes = await bytesOf(3 * MiB, 10)
    const cid = await new IpfsStore(a).put(bytes, { pin: true })
    await b.dial(a.addresses()[0]!)
    const storeB = new IpfsStore(b, { timeoutMs: 3_000 })
    for (let round = 0; round < 3; round++) {
      assert.equal(sha256(await collect(storeB.get(cid))), sha256(bytes), `round ${round}`)
      assert.equal((await b.gc()).blocks, 13)
    }
  } finally {
    await b.stop()
    await a.stop()
    await removeDir(dir)
  }
})

test('helia.gc() cannot take the blocks of a put in progress either (the block space refuses)', async () => {
  await withNode('gc5', async (node, store) => {
    const expected = sha256(await bytesOf(6 * MiB, 8))
    const { source, reached, release } = gatedSource(8, 6, 3)
    const putting = store.put(source, { pin: true })
    await reached
    await untilBlocks(node, 8)
    await node.helia.gc()
    assert.ok(node.usage().blocks >= 8)
    release()
    const cid = await putting
    assert.equal(sha256(await collect(store.get(cid, { timeoutMs: 500 }))), expected)
  })
})

test('usage survives a restart (the block files are counted at start; stale temporary files removed)', async () => {
  const dir = await tempDir('gc6')
  try {
    const first = await startIpfsNode({ dir })
    await new IpfsStore(first).put(await bytesOf(MiB + 5, 9), { pin: true })
    const usage = first.usage()
    await first.stop()
    assert.deepEqual(await blocksOnDisk(dir), { blocks: usage.blocks, bytes: usage.usedBytes })

    // A write that crashed leaves `.<name>.data.tmp` behind (blockstore-fs writes through steno).
    await mkdir(join(dir, 'blocks', 'ZZ'), { recursive: true })
    await writeFile(join(dir, 'blocks', 'ZZ', '.CIQSTALEZZ.data.tmp'), new Uint8Array(1000))
    const second = await startIpfsNode({ dir, quotaBytes: 10 * MiB })
    try {
      assert.deepEqual(second.usage(), { ...usage, quotaBytes: 10 * MiB })
      assert.deepEqual(await blocksOnDisk(dir), { blocks: usage.blocks, bytes: usage.usedBytes })
    } finally {
      await second.stop()
    }
  } finally {
    await removeDir(dir)
  }
})

test('stat.local is false when one block deep in the DAG is gone', async () => {
  await withNode('gc8', async (node, store) => {
    const cid = await store.put(prng(12, 48 * MiB)) // two levels of links
    assert.equal((await store.stat(cid)).local, true)
    const space = blockSpaceOf(node.helia)!
    const files: CID[] = []
    for await (const { cid: block } of space.getAll()) files.push(block)
    const root = CID.parse(cid)
    const leaf = files.find(
      (block) => !block.multihash.bytes.every((b, i) => b === root.multihash.bytes[i]),
    )!
    await space.remove(leaf)
    assert.equal((await store.stat(cid)).local, false)
  })
})
