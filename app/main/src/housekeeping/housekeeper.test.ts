// Retention against the real embedded IPFS store and a real job store: once a finished job's
// retention passes, its blobs are unpinned and collected and the store's size falls back; what
// another job still holds, and outputs still within their retention, stay.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { UnavailableError, type StoragePlugin } from '@wholesum/plugin-api'
import { IpfsStore, startIpfsNode, type IpfsNode } from '@wholesum/storage-ipfs'
import { CID } from 'multiformats/cid'
import { createLogger } from '../log/logger.ts'
import { putFile } from '../net/transfer.ts'
import { JobStore } from '../store/index.ts'
import { newJob } from '../store/testing/fixtures.ts'
import { Housekeeper, type CollectableStorage } from './housekeeper.ts'

const HOUR = 3_600_000
const MiB = 1 << 20

describe('storage housekeeping', () => {
  let dir: string
  let node: IpfsNode
  let storage: IpfsStore
  let store: JobStore
  let clock = 10_000_000
  const logLines: string[] = []
  const logger = createLogger({ level: 'info', stream: { write: (l: string) => logLines.push(l) } })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-housekeeping-'))
    node = await startIpfsNode({ dir: join(dir, 'ipfs') })
    storage = new IpfsStore(node)
    store = JobStore.open(join(dir, 'jobs.sqlite'), { now: () => clock })
  })
  after(async () => {
    store.close()
    await node.stop()
    await rm(dir, { recursive: true, force: true })
  })

  /** Whether the object's root block is still on disk (a stat of a missing one asks the network). */
  async function local(cid: string): Promise<boolean> {
    return await node.helia.blockstore.has(CID.parse(cid))
  }

  /** Puts `count` random blobs of `bytes` each for a job, pinned and recorded as `cls`. */
  async function pinBlobs(jobId: string, cls: 'work' | 'output', count: number, bytes: number) {
    const cids: string[] = []
    for (let i = 0; i < count; i++) {
      const file = join(dir, `blob-${jobId.slice(0, 6)}-${cls}-${i}`)
      await writeFile(file, randomBytes(bytes))
      cids.push(await putFile(storage, file))
      await rm(file)
    }
    store.recordPins(jobId, cls, cids)
    return cids
  }

  function housekeeper(
    files: Record<string, string[]> = {},
    over: Partial<CollectableStorage> = {},
  ) {
    return new Housekeeper({
      store,
      storage: { unpin: (cid) => storage.unpin(cid), gc: () => storage.gc(), ...over },
      policy: { workMs: HOUR, outputsMs: 48 * HOUR },
      logger,
      now: () => clock,
      files: (jobId, _role, cls) => files[`${jobId}:${cls}`] ?? [],
    })
  }

  test("a finished job's work is collected once its retention passes; the size falls back", async () => {
    const baseline = node.usage().usedBytes
    const job = store.createJob(newJob('finished', 0))
    const running = store.createJob(newJob('running', 0))
    const work = await pinBlobs(job.jobId, 'work', 3, 2 * MiB)
    const outputs = await pinBlobs(job.jobId, 'output', 1, MiB)
    const shared = await pinBlobs(running.jobId, 'work', 1, MiB)
    store.recordPins(job.jobId, 'work', shared) // the same object, held by both jobs
    const workDir = join(dir, 'client', job.jobId, 'segments')
    await mkdir(workDir, { recursive: true })
    await writeFile(join(workDir, 'segment-0.bin'), 'segment')
    const grown = node.usage().usedBytes
    assert.ok(grown >= baseline + 7 * MiB, `stored ${grown - baseline} bytes`)

    store.updateJob(job.jobId, { status: 'done' })
    const keeper = housekeeper({ [`${job.jobId}:work`]: [workDir] })
    clock += HOUR - 1
    const early = await keeper.sweep()
    assert.deepEqual([early.released, early.unpinned], [0, 0])
    assert.equal(early.nextAt, clock + 1)
    assert.equal(node.usage().usedBytes, grown, 'nothing collected before the retention passes')

    clock += 1
    const report = await keeper.sweep()
    assert.equal(report.released, 4, 'three blobs and the shared one released by this job')
    assert.equal(report.unpinned, 3, 'the shared one stays pinned for the running job')
    assert.ok(report.freedBytes >= 6 * MiB, `freed ${report.freedBytes}`)
    const after = node.usage().usedBytes
    assert.ok(after <= grown - 6 * MiB, `the store fell from ${grown} to ${after} bytes`)
    for (const cid of work) assert.equal(await local(cid), false, `${cid} gone`)
    for (const cid of [...outputs, ...shared]) {
      assert.deepEqual([(await storage.stat(cid)).pinned, await local(cid)], [true, true])
    }
    assert.equal(existsSync(workDir), false, "the job's work files are deleted")
    assert.equal(report.nextAt, clock - HOUR + 48 * HOUR, 'next: the outputs')
    assert.ok(logLines.some((l) => l.includes('job storage released')))

    // Outputs go at their own retention; the running job's pin is untouched throughout.
    clock += 47 * HOUR
    const later = await keeper.sweep()
    assert.equal(later.unpinned, 1)
    assert.equal(await local(outputs[0]!), false)
    assert.equal((await storage.stat(shared[0]!)).pinned, true)
    assert.deepEqual(
      store.heldPins(clock).map((p) => p.jobId),
      [running.jobId],
    )
  })

  test('an unpin that fails is held again and retried by the next sweep; nothing is lost', async () => {
    const job = store.createJob(newJob('retry', 0))
    const [cid] = await pinBlobs(job.jobId, 'work', 1, MiB)
    store.updateJob(job.jobId, { status: 'failed', error: 'boom' })
    clock += HOUR
    let fail = true
    const flaky = housekeeper(
      {},
      {
        unpin: async (c) => {
          if (fail) throw new UnavailableError('storage is busy')
          await storage.unpin(c)
        },
      },
    )
    const first = await flaky.sweep()
    assert.equal(first.unpinned, 0)
    assert.equal((await storage.stat(cid!)).pinned, true)
    assert.ok(
      store.heldPins(clock).some((p) => p.cid === cid),
      'still held, so retried',
    )
    fail = false
    clock += 1 // its job ended long ago, so it is due again at once
    const second = await flaky.sweep()
    assert.equal(second.unpinned, 1)
    assert.equal(await local(cid!), false)
  })

  test('a CID somebody already unpinned by hand counts as released', async () => {
    const job = store.createJob(newJob('by-hand', 0))
    const [cid] = await pinBlobs(job.jobId, 'work', 1, 1000)
    await storage.unpin(cid!)
    store.updateJob(job.jobId, { status: 'cancelled' })
    clock += HOUR
    const report = await housekeeper().sweep()
    assert.equal(report.released, 1)
    assert.ok(!store.heldPins(clock).some((p) => p.jobId === job.jobId))
  })

  test('a storage plugin without gc still has its pins released', async () => {
    const unpinned: string[] = []
    const plain: Pick<StoragePlugin, 'unpin'> = {
      unpin: async (cid) => {
        unpinned.push(cid)
      },
    }
    const job = store.createJob(newJob('no-gc', 0))
    const [cid] = await pinBlobs(job.jobId, 'work', 1, 1000)
    store.updateJob(job.jobId, { status: 'done' })
    clock += HOUR
    const keeper = new Housekeeper({
      store,
      storage: plain,
      policy: { workMs: HOUR },
      logger,
      now: () => clock,
      files: () => [],
    })
    const report = await keeper.sweep()
    assert.deepEqual(unpinned, [cid])
    assert.equal(report.freedBytes, 0)
  })
})
