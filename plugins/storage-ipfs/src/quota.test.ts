// The quota on `blocks/`: a write that would pass it runs gc first, then fails with
// ResourceLimitError, and a failed put or pin leaves nothing of itself behind.

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { ResourceLimitError } from '@wholesum/plugin-api'
import { startIpfsNode, type IpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'
import {
  blocksOnDisk,
  bytesOf,
  collect,
  MiB,
  prng,
  removeDir,
  sha256,
  tempDir,
} from './fixtures/data.ts'

async function pins(node: IpfsNode): Promise<string[]> {
  const out: string[] = []
  for await (const pin of node.helia.pins.ls()) out.push(pin.cid.toV1().toString())
  return out
}

test('a put over the quota first runs gc: unpinned garbage makes room for it', async () => {
  const dir = await tempDir('q1')
  const node = await startIpfsNode({ dir, quotaBytes: 4 * MiB })
  try {
    const store = new IpfsStore(node)
    const garbage = await store.put(prng(1, 3 * MiB))
    const kept = await bytesOf(3 * MiB, 2)
    const cid = await store.put(kept, { pin: true })
    assert.equal(await store.has(garbage), false, 'the unpinned object was collected')
    assert.equal(sha256(await collect(store.get(cid))), sha256(kept))
    const usage = store.usage()
    assert.equal(usage.quotaBytes, 4 * MiB)
    assert.ok(usage.usedBytes <= 4 * MiB && usage.usedBytes > 3 * MiB, `${usage.usedBytes}`)
    assert.deepEqual(await blocksOnDisk(dir), { blocks: usage.blocks, bytes: usage.usedBytes })
  } finally {
    await node.stop()
    await removeDir(dir)
  }
})

test('a put that does not fit even after gc fails with ResourceLimitError naming the quota, and leaves nothing', async () => {
  const dir = await tempDir('q2')
  const node = await startIpfsNode({ dir, quotaBytes: 4 * MiB })
  try {
    const store = new IpfsStore(node)
    const first = await store.put(prng(3, 3 * MiB), { pin: true })
    const before = store.usage()
    const pinsBefore = await pins(node)

    for (const source of [await bytesOf(2 * MiB, 4), prng(5, 2 * MiB)]) {
      const err = await store.put(source, { pin: true }).then(
        () => assert.fail('the put should not fit'),
        (e: unknown) => e,
      )
      assert.ok(err instanceof ResourceLimitError, String(err))
      assert.equal(err.code, 'RESOURCE_LIMIT')
      assert.match(err.message, /quota \(quotaBytes 4194304, 4\.0 MiB\)/)
      assert.deepEqual(store.usage(), before, 'the failed put removed the blocks it wrote')
      assert.deepEqual(await blocksOnDisk(dir), { blocks: before.blocks, bytes: before.usedBytes })
      assert.deepEqual(await pins(node), pinsBefore)
    }
    assert.equal((await store.stat(first)).local, true)

    // Raising the quota lets the same put through.
    node.setQuota(8 * MiB)
    await store.put(await bytesOf(2 * MiB, 4), { pin: true })
    node.setQuota(undefined)
    assert.equal(store.usage().quotaBytes, undefined)
  } finally {
    await node.stop()
    await removeDir(dir)
  }
})

test('a failed put removes only the blocks it wrote, never those it shares with stored content', async () => {
  const dir = await tempDir('q3')
  const node = await startIpfsNode({ dir })
  try {
    const store = new IpfsStore(node)
    const stored = await bytesOf(4 * MiB, 6)
    const cid = await store.put(stored) // unpinned: nothing but this put's success protects it
    const before = store.usage()
    async function* sharedThenFails(): AsyncGenerator<Uint8Array> {
      yield stored.subarray(0, 2 * MiB) // the same chunks as the stored object
      for await (const piece of prng(7, 2 * MiB)) yield piece // new chunks
      throw new Error('the uploader vanished')
    }
    await assert.rejects(store.put(sharedThenFails(), { pin: true }), /the uploader vanished/)
    assert.deepEqual(store.usage(), before)
    assert.equal(sha256(await collect(store.get(cid, { timeoutMs: 500 }))), sha256(stored))
  } finally {
    await node.stop()
    await removeDir(dir)
  }
})

test('blocks fetched from a peer count against the quota: a get or pin that does not fit fails and pins nothing', async () => {
  const dir = await tempDir('q4')
  const a = await startIpfsNode({ dir: join(dir, 'a') })
  const b = await startIpfsNode({ dir: join(dir, 'b'), quotaBytes: MiB })
  try {
    const storeA = new IpfsStore(a)
    const forGet = await storeA.put(prng(8, 3 * MiB), { pin: true })
    const forPin = await storeA.put(prng(9, 3 * MiB), { pin: true })
    await b.dial(a.addresses()[0]!)
    const storeB = new IpfsStore(b, { timeoutMs: 5_000 })

    // A get ends with the quota's error instead of filling the disk.
    await assert.rejects(collect(storeB.get(forGet)), ResourceLimitError)
    assert.ok(storeB.usage().usedBytes <= MiB)
    // A pin too; it pins nothing. What it fetched stays unpinned, for a retry or for gc.
    await assert.rejects(storeB.pin(forPin), ResourceLimitError)
    assert.deepEqual(await pins(b), [])
    assert.ok(storeB.usage().usedBytes <= MiB)
    await storeB.gc()
    assert.deepEqual(storeB.usage(), { usedBytes: 0, blocks: 0, quotaBytes: MiB })
    assert.deepEqual(await blocksOnDisk(join(dir, 'b')), { blocks: 0, bytes: 0 })

    // With room, the same pin succeeds at once from the same peer (blocks it sent before and B
    // dropped are sent again).
    b.setQuota(8 * MiB)
    await storeB.pin(forPin)
    assert.equal((await storeB.stat(forPin)).local, true)
  } finally {
    await b.stop()
    await a.stop()
    await removeDir(dir)
  }
})

test('puts racing for the last room: the quota is never passed, and the losers leave nothing', async () => {
  const dir = await tempDir('q5')
  const node = await startIpfsNode({ dir, quotaBytes: 5 * MiB })
  try {
    const store = new IpfsStore(node)
    const results = await Promise.allSettled(
      [11, 12, 13, 14].map((seed) => store.put(prng(seed, 2 * MiB), { pin: true })),
    )
    const ok = results.filter((r) => r.status === 'fulfilled')
    const failed = results.filter((r) => r.status === 'rejected')
    assert.ok(ok.length >= 1 && ok.length <= 2, `${ok.length} puts fit`)
    for (const r of failed) assert.ok(r.reason instanceof ResourceLimitError, String(r.reason))
    const usage = store.usage()
    assert.ok(usage.usedBytes <= 5 * MiB)
    assert.deepEqual(await blocksOnDisk(dir), { blocks: usage.blocks, bytes: usage.usedBytes })
    assert.equal((await pins(node)).length, ok.length)
    await store.gc() // everything left is pinned
    assert.deepEqual(store.usage(), usage)
  } finally {
    await node.stop()
    await removeDir(dir)
  }
})
