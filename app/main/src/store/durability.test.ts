// Specification of what survives: reopen, a writer killed mid-loop, and several connections on one file.

import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { JobStore, JobStoreError } from './index.ts'
import { cidOf, newJob, newSegments, peerId, sha256Hex } from './testing/fixtures.ts'

const work = mkdtempSync(join(tmpdir(), 'wholesum-store-durability-'))
after(() => rmSync(work, { recursive: true, force: true }))
let files = 0
const fresh = (): string => join(work, `case-${files++}`, 'jobs.sqlite')

const writer = fileURLToPath(new URL('./testing/writer-process.ts', import.meta.url))

function startWriter(args: string[]): ChildProcess {
  return spawn(process.execPath, [writer, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
}

/** Collects a child's stdout lines and stderr; resolves when it exits. */
function watch(child: ChildProcess, onLine: (line: string) => void = () => {}) {
  let buffered = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, newline))
      buffered = buffered.slice(newline + 1)
    }
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<{
    code: number | null
    signal: NodeJS.Signals | null
    stderr: string
  }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })))
  return { exited }
}

describe('a store survives its process', () => {
  test('everything written is there after close and reopen', () => {
    const file = fresh()
    const first = JobStore.open(file)
    const job = first.createJob(
      newJob('a', 3, { extra: { claims: ['aa', 'bb', 'cc'] } }),
      newSegments('a', 3),
    )
    first.markProved(job.jobId, 1, { receiptCid: cidOf('r1'), prover: peerId('p'), at: 5 })
    first.appendEvent(job.jobId, 'segment-proved', { idx: 1 }, 5)
    const snapshot = {
      job: first.getJob(job.jobId),
      segments: first.getSegments(job.jobId),
      events: first.events(job.jobId),
    }
    first.close()
    const second = JobStore.open(file)
    assert.deepEqual(
      {
        job: second.getJob(job.jobId),
        segments: second.getSegments(job.jobId),
        events: second.events(job.jobId),
      },
      snapshot,
    )
    second.close()
  })

  test('a writer killed with SIGKILL mid-loop loses no acknowledged write and leaves no half job', async () => {
    const file = fresh()
    const segments = 64
    const setup = JobStore.open(file)
    const main = setup.createJob(newJob('main', segments), newSegments('main', segments))
    setup.close()

    const child = startWriter(['crash', file, 'main', String(segments)])
    const acked: number[] = []
    const { exited } = watch(child, (line) => {
      const match = /^ack (\d+)$/.exec(line)
      if (match !== null) acked.push(Number(match[1]))
      if (acked.length === 40) child.kill('SIGKILL')
    })
    const { signal, stderr } = await exited
    assert.equal(signal, 'SIGKILL', `the writer should have been killed; stderr: ${stderr}`)
    assert.ok(acked.length >= 40)

    const store = JobStore.open(file)
    try {
      const events = store.events(main.jobId, { limit: 100_000 })
      const ticks = new Set(events.map((e) => (e.data as { i: number }).i))
      for (const i of acked) {
        assert.ok(ticks.has(i), `acknowledged event ${i} is there`)
        const job = store.getJob(sha256Hex(`job:crash-${i}`))
        assert.ok(job !== undefined, `acknowledged job crash-${i} is there`)
        assert.equal(store.getSegment(main.jobId, i % segments)?.status, 'proved')
      }
      // createJob is atomic: every job the writer got to has all 4 segments, even the last one
      const crashJobs = store.listJobs().filter((j) => j.jobId !== main.jobId)
      assert.ok(crashJobs.length >= acked.length)
      for (const job of crashJobs) assert.equal(store.getSegments(job.jobId).length, 4)
    } finally {
      store.close()
    }
  })
})

describe('several connections on one file', () => {
  test("a second JobStore sees the first one's writes at once, without either closing", () => {
    const file = fresh()
    const a = JobStore.open(file)
    const b = JobStore.open(file)
    try {
      const job = a.createJob(newJob('shared', 2), newSegments('shared', 2))
      assert.equal(b.getJob(job.jobId)?.status, 'proving')
      b.updateJob(job.jobId, { status: 'joining' })
      assert.equal(a.getJob(job.jobId)?.status, 'joining')
      assert.equal(
        a.markProved(job.jobId, 0, { receiptCid: cidOf('a'), prover: peerId('a') }),
        true,
      )
      assert.equal(
        b.markProved(job.jobId, 0, { receiptCid: cidOf('b'), prover: peerId('b') }),
        false,
      )
    } finally {
      a.close()
      b.close()
    }
  })

  test("a writer waits for another's transaction up to its busy timeout, then fails with BUSY; readers never wait", () => {
    const file = fresh()
    const a = JobStore.open(file)
    const b = JobStore.open(file, { busyTimeoutMs: 50 })
    try {
      const job = a.createJob(newJob('locked', 1), newSegments('locked', 1))
      a.transaction(() => {
        a.appendEvent(job.jobId, 'held')
        const started = performance.now()
        assert.throws(
          () => b.appendEvent(job.jobId, 'blocked'),
          (err) =>
            err instanceof JobStoreError &&
            err.code === 'BUSY' &&
            /locked by another connection/.test(err.message),
        )
        assert.ok(performance.now() - started >= 40, 'it waited for the lock first')
        assert.deepEqual(b.events(job.jobId), [], 'a reader sees the last committed state')
      })
      assert.ok(b.appendEvent(job.jobId, 'after') > 0)
      assert.deepEqual(
        a.events(job.jobId).map((e) => e.type),
        ['held', 'after'],
      )
    } finally {
      a.close()
      b.close()
    }
  })

  test('two processes crediting the same segments at once: each segment goes to exactly one', async (t) => {
    const file = fresh()
    const segments = 150
    const setup = JobStore.open(file)
    const job = setup.createJob(newJob('race', segments), newSegments('race', segments))
    for (const name of ['left', 'right']) {
      setup.upsertDeal({
        jobId: job.jobId,
        prover: peerId(name),
        pricePerSegment: '1',
        signedAt: 1,
        expires: 9,
      })
    }
    setup.close()

    // left credits upwards and right downwards: they meet and contend in the middle
    const runs = ['left', 'right'].map((name) => {
      const order = name === 'left' ? 'up' : 'down'
      const child = startWriter(['race', file, 'race', String(segments), name, order])
      let won: number[] = []
      let ready!: () => void
      const opened = new Promise<void>((resolve) => (ready = resolve))
      const { exited } = watch(child, (line) => {
        if (line === 'ready') ready()
        else won = JSON.parse(line) as number[]
      })
      return { child, opened, exited: exited.then((result) => ({ ...result, won })) }
    })
    await Promise.race([
      Promise.all(runs.map((run) => run.opened)),
      Promise.all(runs.map((run) => run.exited)),
    ])
    for (const run of runs) run.child.stdin?.end('go\n')
    const [left, right] = await Promise.all(runs.map((run) => run.exited))
    assert.equal(left?.code, 0, left?.stderr)
    assert.equal(right?.code, 0, right?.stderr)
    t.diagnostic(`left won ${left!.won.length}, right won ${right!.won.length}`)
    const both = [...left!.won, ...right!.won].sort((x, y) => x - y)
    assert.deepEqual(
      both,
      Array.from({ length: segments }, (_, i) => i),
      'every segment credited once',
    )

    const store = JobStore.open(file)
    try {
      const deals = new Map(store.getDeals(job.jobId).map((d) => [d.prover, d.accepted]))
      assert.equal(deals.get(peerId('left')), left!.won.length)
      assert.equal(deals.get(peerId('right')), right!.won.length)
      for (const segment of store.getSegments(job.jobId)) {
        const winner: string = left!.won.includes(segment.idx) ? 'left' : 'right'
        assert.equal(segment.provedBy, peerId(winner))
        assert.equal(segment.receiptCid, cidOf(`receipt:${winner}:${segment.idx}`))
      }
      const events = store.events(job.jobId, { limit: 10_000 })
      assert.equal(events.length, 2 * segments, 'no append was lost')
      assert.equal(new Set(events.map((e) => e.id)).size, 2 * segments)
    } finally {
      store.close()
    }
  })
})
