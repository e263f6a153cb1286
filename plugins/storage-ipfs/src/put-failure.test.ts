// A put that fails half way leaves nothing pinned (the pin is taken only after the whole import)
// and none of the blocks it wrote (it deletes them).

import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { AbortError } from '@wholesum/plugin-api'
import { CID } from 'multiformats/cid'
import { startIpfsNode, type IpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'

const MiB = 1 << 20
let dir: string
let node: IpfsNode
let store: IpfsStore

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-put-failure-'))
  node = await startIpfsNode({ dir })
  store = new IpfsStore(node.helia)
})
after(async () => {
  await node.stop()
  await rm(dir, { recursive: true, force: true })
})

async function pinned(): Promise<string[]> {
  const cids: string[] = []
  // Helia lists pins as CIDv1; compare in that form.
  for await (const pin of node.helia.pins.ls()) cids.push(pin.cid.toV1().toString())
  return cids
}

test('a source that fails after 3 MiB rejects the put and pins nothing', async () => {
  async function* failing(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 3; i++) yield new Uint8Array(MiB).fill(i + 1)
    throw new Error('the uploader vanished')
  }
  await assert.rejects(store.put(failing(), { pin: true }), /the uploader vanished/)
  assert.deepEqual(await pinned(), [])
  assert.deepEqual(store.usage(), { usedBytes: 0, blocks: 0, quotaBytes: undefined })
})

test('a put aborted half way rejects with AbortError and pins nothing', async () => {
  const controller = new AbortController()
  async function* slow(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 8; i++) {
      if (i === 2) controller.abort()
      yield new Uint8Array(MiB).fill(i + 10)
    }
  }
  await assert.rejects(store.put(slow(), { pin: true, signal: controller.signal }), AbortError)
  assert.deepEqual(await pinned(), [])
  assert.deepEqual(store.usage(), { usedBytes: 0, blocks: 0, quotaBytes: undefined })
})

test('a put that completes with pin: true is the only pin', async () => {
  const cid = await store.put(new Uint8Array(2 * MiB).fill(7), { pin: true })
  assert.deepEqual(await pinned(), [CID.parse(cid).toV1().toString()])
})
