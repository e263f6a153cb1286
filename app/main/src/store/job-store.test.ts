// Specification of the job store's records: round trips, crediting rules, claims, deals, events, work.

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, beforeEach, describe, test } from 'node:test'
import { InvalidInputError, NotFoundError } from '@wholesum/plugin-api'
import { JobStore, JobStoreError, MAX_ERROR_LENGTH } from './index.ts'
import { cidOf, newJob, newSegments, peerId, sha256Hex } from './testing/fixtures.ts'

const work = mkdtempSync(join(tmpdir(), 'wholesum-store-'))
after(() => rmSync(work, { recursive: true, force: true }))

let store: JobStore
let clock: number
let files = 0

beforeEach(() => {
  clock = 5_000_000
  store = JobStore.open(join(work, `jobs-${files++}.sqlite`), { now: () => clock })
})
afterEach(() => store.close())

const alice = peerId('alice')
const bob = peerId('bob')
const carol = peerId('carol')

function seed(name = 'a', segments = 4) {
  return store.createJob(newJob(name, segments), newSegments(name, segments))
}

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof InvalidInputError && err.code === 'INVALID_INPUT' && pattern.test(err.message)

describe('jobs', () => {
  test('a created job reads back exactly, with updatedAt = createdAt and an empty extra', () => {
    const input = newJob('a', 2, { manifestCid: cidOf('manifest') })
    const created = store.createJob(input, newSegments('a', 2))
    const expected = { ...input, updatedAt: input.createdAt, extra: {} }
    assert.deepEqual(created, expected)
    assert.deepEqual(store.getJob(input.jobId), expected)
    assert.equal(store.getJob(sha256Hex('nobody')), undefined)
  })

  test('the job and all its segments are written together, each segment open', () => {
    const job = seed('a', 3)
    const segments = store.getSegments(job.jobId)
    assert.deepEqual(
      segments,
      newSegments('a', 3).map((s) => ({
        ...s,
        jobId: job.jobId,
        status: 'open',
        attempts: 0,
        rejects: 0,
      })),
    )
    assert.deepEqual(store.segmentCounts(job.jobId), { open: 3, claimed: 0, proved: 0 })
  })

  test('a failing segment leaves no job behind (createJob is atomic)', () => {
    const segments = newSegments('a', 3)
    const broken = [segments[0]!, segments[1]!, { ...segments[2]!, segmentCid: 'not-a-cid' }]
    assert.throws(
      () => store.createJob(newJob('a', 3), broken),
      invalid(/segments\[2\]\.segmentCid is not a valid CID/),
    )
    assert.equal(store.getJob(newJob('a', 3).jobId), undefined)
    assert.deepEqual(store.getSegments(newJob('a', 3).jobId), [])
  })

  test('a job ID can be created once', () => {
    seed('a')
    assert.throws(() => seed('a'), invalid(/already exists/))
  })

  test('a client job needs every segment; a prover job needs none or all, and a client peer', () => {
    assert.throws(
      () => store.createJob(newJob('a', 3), newSegments('a', 2)),
      invalid(/has 3 segments but 2 segment records/),
    )
    assert.throws(
      () => store.createJob(newJob('p', 3, { role: 'prover' }), []),
      invalid(/clientPeer is required/),
    )
    const prover = store.createJob(newJob('p', 3, { role: 'prover', clientPeer: alice }), [])
    assert.equal(prover.clientPeer, alice)
    assert.deepEqual(store.getSegments(prover.jobId), [])
  })

  test('bad values are refused with InvalidInputError naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ status: 'finished' }, /job\.status must be one of executing, proving/],
      [{ role: 'boss' }, /job\.role must be one of client, prover/],
      [{ jobId: 'XYZ' }, /job\.jobId must be lowercase hex/],
      [{ jobId: 'ABCD' }, /job\.jobId must be lowercase hex/],
      [{ imageId: '' }, /job\.imageId must be lowercase hex/],
      [{ programCid: 'Qm-nope' }, /job\.programCid is not a valid CID/],
      [{ po2: 12.5 }, /job\.po2 must be a whole number/],
      [{ segments: -1 }, /job\.segments must be a whole number, zero or more/],
      [{ rewardPerSegment: '-3' }, /job\.rewardPerSegment must be a non-negative decimal/],
      [{ rewardPerSegment: 15 }, /job\.rewardPerSegment must be a non-negative decimal/],
      [{ deadline: Number.NaN }, /job\.deadline must be a whole number of ms/],
      [{ createdAt: -5 }, /job\.createdAt must be a whole number of ms/],
      [{ nonce: 'a b' }, /job\.nonce must be 1 to 128/],
      [{ extra: [1, 2] }, /job\.extra must be a JSON object/],
      [{ extra: { n: Number.POSITIVE_INFINITY } }, /job\.extra\.n must hold only finite numbers/],
      [{ extra: { d: new Date(0) } }, /job\.extra\.d must be plain JSON data/],
      [{ clientPeer: 'not a peer' }, /job\.clientPeer must be a peer ID/],
    ]
    for (const [override, message] of cases) {
      const job = { ...newJob('bad', 0), ...override } as Parameters<JobStore['createJob']>[0]
      assert.throws(() => store.createJob(job), invalid(message), String(message))
    }
    const segments = newSegments('a', 2)
    assert.throws(
      () => store.createJob(newJob('a', 2), [segments[0]!, { ...segments[1]!, idx: -1 }]),
      invalid(/segments\[1\]\.idx must be a whole number, zero or more; got -1/),
    )
    assert.throws(
      () => store.createJob(newJob('a', 2), [segments[0]!, { ...segments[1]!, idx: 0 }]),
      invalid(/idx 0 appears twice/),
    )
    assert.throws(
      () => store.createJob(newJob('a', 2), [segments[0]!, { ...segments[1]!, idx: 2 }]),
      invalid(/idx is 2, but job .* has only 2 segments/),
    )
    assert.deepEqual(store.listJobs(), [])
  })

  test('listJobs filters by role and any of some statuses, oldest first', () => {
    store.createJob(newJob('c1', 0, { createdAt: 30 }))
    store.createJob(newJob('c2', 0, { createdAt: 10, status: 'done' }))
    store.createJob(newJob('c3', 0, { createdAt: 20, status: 'failed' }))
    store.createJob(newJob('p1', 0, { createdAt: 5, role: 'prover', clientPeer: alice }))
    const ids = (jobs: { jobId: string }[]) => jobs.map((j) => j.jobId)
    const id = (name: string) => sha256Hex(`job:${name}`)
    assert.deepEqual(ids(store.listJobs()), [id('p1'), id('c2'), id('c3'), id('c1')])
    assert.deepEqual(ids(store.listJobs({ role: 'client' })), [id('c2'), id('c3'), id('c1')])
    assert.deepEqual(ids(store.listJobs({ role: 'prover' })), [id('p1')])
    assert.deepEqual(ids(store.listJobs({ status: ['done', 'failed'] })), [id('c2'), id('c3')])
    assert.deepEqual(ids(store.listJobs({ role: 'prover', status: ['done'] })), [])
    assert.deepEqual(ids(store.listJobs({ status: [] })), [])
    assert.throws(
      () => store.listJobs({ status: ['done', 'bogus' as 'done'] }),
      invalid(/filter\.status\[1\] must be one of/),
    )
  })

  test('updateJob changes what it is given, stamps updatedAt, and null clears a field', () => {
    const job = seed('a')
    clock = 6_000_000
    const updated = store.updateJob(job.jobId, {
      status: 'failed',
      error: 'prover vanished',
      receiptCid: cidOf('receipt'),
      extra: { claims: ['ab', 'cd'], round: 2 },
    })
    assert.equal(updated.status, 'failed')
    assert.equal(updated.error, 'prover vanished')
    assert.equal(updated.receiptCid, cidOf('receipt'))
    assert.deepEqual(updated.extra, { claims: ['ab', 'cd'], round: 2 })
    assert.equal(updated.updatedAt, 6_000_000)
    assert.equal(updated.createdAt, job.createdAt)
    const cleared = store.updateJob(job.jobId, { status: 'proving', error: null, updatedAt: 7 })
    assert.equal(cleared.error, undefined)
    assert.equal('error' in cleared, false)
    assert.equal(cleared.updatedAt, 7)
    assert.deepEqual(store.getJob(job.jobId), cleared)
  })

  test('updateJob refuses unknown jobs, immutable fields and bad values', () => {
    const job = seed('a')
    assert.throws(
      () => store.updateJob(sha256Hex('ghost'), { status: 'done' }),
      (err) => err instanceof NotFoundError && /not found/.test(err.message),
    )
    assert.throws(
      () => store.updateJob(job.jobId, { imageId: 'ff' } as never),
      invalid(/patch\.imageId cannot be changed/),
    )
    assert.throws(
      () => store.updateJob(job.jobId, { status: 'paused' as 'done' }),
      invalid(/patch\.status must be one of/),
    )
    assert.equal(store.getJob(job.jobId)?.status, 'proving')
  })

  test('a long error text is cut, not refused', () => {
    const job = seed('a')
    const updated = store.updateJob(job.jobId, { error: 'x'.repeat(MAX_ERROR_LENGTH * 2) })
    assert.equal(updated.error?.length, MAX_ERROR_LENGTH)
  })

  test('deleteJob forgets the job and everything recorded for it', () => {
    const job = seed('a')
    store.upsertDeal({
      jobId: job.jobId,
      prover: alice,
      pricePerSegment: '1',
      signedAt: 1,
      expires: 9,
    })
    store.appendEvent(job.jobId, 'created', null)
    assert.equal(store.deleteJob(job.jobId), true)
    assert.equal(store.deleteJob(job.jobId), false)
    assert.deepEqual(store.getSegments(job.jobId), [])
    assert.deepEqual(store.getDeals(job.jobId), [])
    assert.deepEqual(store.events(job.jobId), [])
  })
})

describe('segments', () => {
  test('markProved: the first valid delivery wins, a second one changes nothing', () => {
    const job = seed('a')
    store.upsertDeal({
      jobId: job.jobId,
      prover: alice,
      pricePerSegment: '1',
      signedAt: 1,
      expires: 9,
    })
    store.upsertDeal({
      jobId: job.jobId,
      prover: bob,
      pricePerSegment: '1',
      signedAt: 2,
      expires: 9,
    })
    store.updateSegment(job.jobId, 2, { status: 'claimed', claimedBy: bob, claimExpires: 100 })
    assert.equal(
      store.markProved(job.jobId, 2, { receiptCid: cidOf('alice-2'), prover: alice, at: 60 }),
      true,
    )
    assert.equal(
      store.markProved(job.jobId, 2, { receiptCid: cidOf('bob-2'), prover: bob, at: 61 }),
      false,
    )
    const segment = store.getSegment(job.jobId, 2)
    assert.equal(segment?.status, 'proved')
    assert.equal(segment?.provedBy, alice)
    assert.equal(segment?.receiptCid, cidOf('alice-2'))
    assert.equal(segment?.provedAt, 60)
    assert.equal(segment?.claimExpires, undefined)
    const deals = new Map(store.getDeals(job.jobId).map((d) => [d.prover, d]))
    assert.equal(deals.get(alice)?.accepted, 1)
    assert.equal(deals.get(bob)?.accepted, 0)
    assert.deepEqual(store.segmentCounts(job.jobId), { open: 3, claimed: 0, proved: 1 })
  })

  test('markProved names a segment that does not exist', () => {
    const job = seed('a')
    assert.throws(
      () => store.markProved(job.jobId, 4, { receiptCid: cidOf('r'), prover: alice }),
      (err) => err instanceof NotFoundError && /segment 4 of job/.test(err.message),
    )
  })

  test('updateSegment sets fields as given and refuses bad ones', () => {
    const job = seed('a')
    const updated = store.updateSegment(job.jobId, 1, {
      rejects: 3,
      claimedBy: alice,
      status: 'claimed',
    })
    assert.equal(updated.rejects, 3)
    assert.equal(updated.claimedBy, alice)
    assert.equal(store.updateSegment(job.jobId, 1, { claimedBy: null }).claimedBy, undefined)
    assert.throws(
      () => store.updateSegment(job.jobId, 1, { status: 'done' as 'open' }),
      invalid(/patch\.status must be one of open, claimed, proved/),
    )
    assert.throws(
      () => store.updateSegment(job.jobId, 1, { idx: 4 } as never),
      invalid(/patch\.idx cannot be changed/),
    )
    assert.throws(() => store.updateSegment(job.jobId, 7, { rejects: 1 }), NotFoundError)
  })
})

describe('deals and strikes', () => {
  test('upsertDeal records a deal and updates its terms, keeping its counts', () => {
    const job = seed('a')
    const deal = store.upsertDeal({
      jobId: job.jobId,
      prover: alice,
      pricePerSegment: '12.5',
      signedAt: 10,
      expires: 90,
    })
    assert.deepEqual(deal, {
      jobId: job.jobId,
      prover: alice,
      pricePerSegment: '12.5',
      signedAt: 10,
      expires: 90,
      status: 'active',
      strikes: 0,
      accepted: 0,
    })
    store.strike(job.jobId, alice)
    store.markProved(job.jobId, 0, { receiptCid: cidOf('r0'), prover: alice })
    const revoked = store.upsertDeal({ ...deal, status: 'revoked', expires: 50 })
    assert.equal(revoked.status, 'revoked')
    assert.equal(revoked.expires, 50)
    assert.equal(revoked.strikes, 1)
    assert.equal(revoked.accepted, 1)
    assert.deepEqual(store.getDeals(job.jobId), [revoked])
  })

  test('upsertDeal refuses an unknown job and bad terms', () => {
    seed('a')
    assert.throws(
      () =>
        store.upsertDeal({
          jobId: sha256Hex('ghost'),
          prover: alice,
          pricePerSegment: '1',
          signedAt: 1,
          expires: 2,
        }),
      (err) => err instanceof NotFoundError && /job [0-9a-f]+ not found/.test(err.message),
    )
    assert.throws(
      () =>
        store.upsertDeal({
          jobId: newJob('a', 0).jobId,
          prover: alice,
          pricePerSegment: '1e5',
          signedAt: 1,
          expires: 2,
        }),
      invalid(/deal\.pricePerSegment must be a non-negative decimal/),
    )
  })

  test('strike counts rejected receipts against the deal and on the segment; claims are not its business', () => {
    const job = seed('a')
    store.upsertDeal({
      jobId: job.jobId,
      prover: alice,
      pricePerSegment: '1',
      signedAt: 1,
      expires: 9,
    })
    store.updateSegment(job.jobId, 1, { status: 'claimed', claimedBy: alice, claimExpires: 100 })
    store.updateSegment(job.jobId, 2, { status: 'claimed', claimedBy: bob, claimExpires: 100 })
    assert.equal(store.strike(job.jobId, alice, 1), 1)
    assert.equal(store.strike(job.jobId, alice, 2), 2)
    assert.equal(store.strike(job.jobId, alice), 3)
    const [s1, s2] = [store.getSegment(job.jobId, 1), store.getSegment(job.jobId, 2)]
    // Re-opening is the work ledger's decision, recorded by the client with updateSegment.
    assert.equal(s1?.status, 'claimed')
    assert.equal(s1?.claimedBy, alice)
    assert.equal(s1?.rejects, 1)
    assert.equal(s2?.status, 'claimed', "bob's claim stays")
    assert.equal(s2?.claimedBy, bob)
    assert.equal(s2?.rejects, 1)
    assert.equal(store.getDeals(job.jobId)[0]?.strikes, 3)
  })

  test('strike without a deal, or on a missing segment, changes nothing', () => {
    const job = seed('a')
    assert.throws(
      () => store.strike(job.jobId, bob),
      (err) => err instanceof NotFoundError && /no deal/.test(err.message),
    )
    store.upsertDeal({
      jobId: job.jobId,
      prover: bob,
      pricePerSegment: '1',
      signedAt: 1,
      expires: 9,
    })
    assert.throws(() => store.strike(job.jobId, bob, 42), NotFoundError)
    assert.equal(store.getDeals(job.jobId)[0]?.strikes, 0, 'the strike rolled back')
  })
})

describe('receipts', () => {
  test('a receipt is recorded once per CID; the first record stands', () => {
    const job = seed('a')
    const receipt = {
      receiptCid: cidOf('r1'),
      jobId: job.jobId,
      kind: 'segment' as const,
      idx: 1,
      prover: alice,
      verified: true,
    }
    assert.equal(store.addReceipt(receipt), true)
    assert.equal(store.addReceipt({ ...receipt, prover: bob }), false)
    assert.deepEqual(store.getReceipt(receipt.receiptCid), { ...receipt, createdAt: clock })
    store.addReceipt({
      receiptCid: cidOf('final'),
      jobId: job.jobId,
      kind: 'composite',
      verified: false,
      createdAt: clock + 1,
    })
    store.setReceiptVerified(cidOf('final'), true)
    assert.deepEqual(
      store.getReceipts(job.jobId).map((r) => [r.kind, r.verified, r.idx ?? null]),
      [
        ['segment', true, 1],
        ['composite', true, null],
      ],
    )
  })

  test('a receipt needs a known job, a known kind and a boolean verified', () => {
    const job = seed('a')
    assert.throws(
      () =>
        store.addReceipt({
          receiptCid: cidOf('x'),
          jobId: sha256Hex('ghost'),
          kind: 'segment',
          verified: true,
        }),
      NotFoundError,
    )
    assert.throws(
      () =>
        store.addReceipt({
          receiptCid: cidOf('x'),
          jobId: job.jobId,
          kind: 'groth16' as 'segment',
          verified: true,
        }),
      invalid(/receipt\.kind must be one of segment, succinct, composite/),
    )
    assert.throws(
      () =>
        store.addReceipt({
          receiptCid: cidOf('x'),
          jobId: job.jobId,
          kind: 'segment',
          verified: 1 as unknown as boolean,
        }),
      invalid(/receipt\.verified must be true or false/),
    )
  })
})

describe('events', () => {
  test('events come back in append order with their data, a page at a time after an ID', () => {
    const a = seed('a')
    const b = seed('b')
    const ids: number[] = []
    for (let i = 0; i < 25; i++) {
      ids.push(store.appendEvent(a.jobId, 'segment-proved', { idx: i }, 1000 + i))
      store.appendEvent(b.jobId, 'noise', i)
    }
    assert.deepEqual(
      [...ids].sort((x, y) => x - y),
      ids,
      'IDs grow',
    )
    const all = store.events(a.jobId)
    assert.equal(all.length, 25)
    assert.deepEqual(all[3], {
      id: ids[3],
      jobId: a.jobId,
      at: 1003,
      type: 'segment-proved',
      data: { idx: 3 },
    })
    const pages: number[][] = []
    let afterId: number | undefined
    for (;;) {
      const page = store.events(a.jobId, {
        limit: 10,
        ...(afterId === undefined ? {} : { afterId }),
      })
      if (page.length === 0) break
      pages.push(page.map((e) => (e.data as { idx: number }).idx))
      afterId = page.at(-1)!.id
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [10, 10, 5],
    )
    assert.deepEqual(
      pages.flat(),
      Array.from({ length: 25 }, (_, i) => i),
    )
    assert.equal(store.events(b.jobId, { afterId: 0 }).length, 25)
    assert.equal(store.events(a.jobId, { afterId: ids[24]! }).length, 0)
  })

  test('an event needs a known job, a sane type and JSON data', () => {
    const job = seed('a')
    assert.throws(() => store.appendEvent(sha256Hex('ghost'), 'x', null), NotFoundError)
    assert.throws(
      () => store.appendEvent(job.jobId, 'Bad Type', null),
      invalid(/type must be 1 to 64/),
    )
    assert.throws(
      () => store.appendEvent(job.jobId, 'x', { big: 1n } as never),
      invalid(/data\.big must be JSON data/),
    )
    assert.throws(
      () => store.appendEvent(job.jobId, 'x', 'y'.repeat(1024 * 1024 + 1)),
      invalid(/data must serialize to at most 1048576 bytes/),
    )
    assert.throws(() => store.events(job.jobId, { afterId: -1 }), invalid(/query\.afterId/))
    assert.equal(store.appendEvent(job.jobId, 'at-clock') > 0, true)
    assert.equal(store.events(job.jobId)[0]?.at, clock)
  })
})

describe('prover work', () => {
  function proverJob(name: string, status: 'proving' | 'done' = 'proving') {
    return store.createJob(newJob(name, 8, { role: 'prover', clientPeer: alice, status }))
  }

  test('work goes proving → proved → notified, and finished work is not started again', () => {
    const job = proverJob('p')
    assert.equal(store.startWork(job.jobId, 'prove', 3, 100), true)
    const proved = store.finishWork(job.jobId, 'prove', 3, {
      status: 'proved',
      receiptCid: cidOf('r3'),
      at: 150,
    })
    assert.deepEqual(proved, {
      jobId: job.jobId,
      stage: 'prove',
      idx: 3,
      status: 'proved',
      receiptCid: cidOf('r3'),
      startedAt: 100,
      finishedAt: 150,
    })
    assert.equal(store.startWork(job.jobId, 'prove', 3, 200), false)
    assert.equal(store.finishWork(job.jobId, 'prove', 3, { status: 'notified' }).status, 'notified')
    assert.equal(store.startWork(job.jobId, 'prove', 3, 300), false)
    assert.throws(
      () => store.finishWork(job.jobId, 'prove', 3, { status: 'failed', error: 'late' }),
      invalid(/is notified; it cannot become failed/),
    )
  })

  test('failed work may be started again, which clears its error', () => {
    const job = proverJob('p')
    store.startWork(job.jobId, 'lift', 0, 100)
    const failed = store.finishWork(job.jobId, 'lift', 0, {
      status: 'failed',
      error: 'out of memory',
      at: 120,
    })
    assert.equal(failed.error, 'out of memory')
    assert.throws(
      () => store.finishWork(job.jobId, 'lift', 0, { status: 'notified' }),
      invalid(/is failed; it cannot become notified/),
    )
    assert.equal(store.startWork(job.jobId, 'lift', 0, 130), true)
    assert.deepEqual(store.getWork(job.jobId), [
      { jobId: job.jobId, stage: 'lift', idx: 0, status: 'proving', startedAt: 130 },
    ])
  })

  test('pendingWork lists interrupted and un-notified work of unfinished jobs, oldest first', () => {
    const live = proverJob('live')
    const done = proverJob('done', 'done')
    store.startWork(live.jobId, 'prove', 0, 10) // proved, not notified → resend
    store.finishWork(live.jobId, 'prove', 0, { status: 'proved', receiptCid: cidOf('r0') })
    store.startWork(live.jobId, 'prove', 1, 30) // notified → nothing to do
    store.finishWork(live.jobId, 'prove', 1, { status: 'proved', receiptCid: cidOf('r1') })
    store.finishWork(live.jobId, 'prove', 1, { status: 'notified' })
    store.startWork(live.jobId, 'join', 5, 20) // interrupted → prove again
    store.startWork(live.jobId, 'prove', 2, 5) // failed → not resumed
    store.finishWork(live.jobId, 'prove', 2, { status: 'failed', error: 'bad segment' })
    store.startWork(done.jobId, 'prove', 0, 1) // job finished → not resumed
    assert.deepEqual(
      store.pendingWork().map((w) => [w.jobId, w.stage, w.idx, w.status]),
      [
        [live.jobId, 'prove', 0, 'proved'],
        [live.jobId, 'join', 5, 'proving'],
      ],
    )
  })

  test('work needs a known job, a known stage and a receipt to be proved', () => {
    const job = proverJob('p')
    assert.throws(() => store.startWork(sha256Hex('ghost'), 'prove', 0), NotFoundError)
    assert.throws(
      () => store.startWork(job.jobId, 'mine' as 'prove', 0),
      invalid(/stage must be one of prove, lift, join, snark/),
    )
    store.startWork(job.jobId, 'prove', 0)
    assert.throws(
      () => store.finishWork(job.jobId, 'prove', 0, { status: 'proved', receiptCid: '' }),
      invalid(/outcome\.receiptCid must be a CID/),
    )
    assert.throws(
      () => store.finishWork(job.jobId, 'prove', 1, { status: 'notified' }),
      NotFoundError,
    )
  })
})

describe('transactions', () => {
  test('all writes in a transaction land together, or none do', () => {
    const job = seed('a')
    assert.throws(
      () =>
        store.transaction(() => {
          store.appendEvent(job.jobId, 'one')
          store.markProved(job.jobId, 0, { receiptCid: cidOf('r0'), prover: alice })
          throw new Error('engine changed its mind')
        }),
      /engine changed its mind/,
    )
    assert.deepEqual(store.events(job.jobId), [])
    assert.equal(store.getSegment(job.jobId, 0)?.status, 'open')
    const value = store.transaction(() => {
      store.appendEvent(job.jobId, 'one')
      return store.markProved(job.jobId, 0, { receiptCid: cidOf('r0'), prover: alice })
    })
    assert.equal(value, true)
    assert.equal(store.events(job.jobId).length, 1)
  })

  test('a nested transaction that fails rolls back only its own writes', () => {
    const job = seed('a')
    store.transaction(() => {
      store.appendEvent(job.jobId, 'outer')
      assert.throws(() =>
        store.transaction(() => {
          store.appendEvent(job.jobId, 'inner')
          throw new Error('inner fails')
        }),
      )
      store.appendEvent(job.jobId, 'after')
    })
    assert.deepEqual(
      store.events(job.jobId).map((e) => e.type),
      ['outer', 'after'],
    )
  })

  test('an async function is refused, and its writes rolled back', () => {
    const job = seed('a')
    assert.throws(
      () =>
        store.transaction(() => {
          store.appendEvent(job.jobId, 'sync-part')
          return Promise.resolve(1)
        }),
      /synchronous function/,
    )
    assert.deepEqual(store.events(job.jobId), [])
  })

  test('a closed store says so', () => {
    store.close()
    store.close()
    assert.throws(
      () => store.listJobs(),
      (err) =>
        err instanceof JobStoreError && err.code === 'CLOSED' && err.message.includes(store.path),
    )
  })
})

describe('pins', () => {
  const [p1, p2, out] = [cidOf('pin:1'), cidOf('pin:2'), cidOf('pin:out')]

  test('recorded pins read back; a running job has no end, a finished one ends at its last update', () => {
    const job = seed('a')
    store.recordPins(job.jobId, 'work', [p1, p2], 10)
    store.recordPins(job.jobId, 'output', [out], 11)
    const pins = store.getPins(job.jobId)
    assert.deepEqual(
      pins.map((p) => p.pinnedAt),
      [10, 10, 11],
      'in the order pinned',
    )
    assert.deepEqual(
      new Set(pins.map((p) => `${p.cid} ${p.class} ${p.releasedAt}`)),
      new Set([`${p1} work undefined`, `${p2} work undefined`, `${out} output undefined`]),
    )
    assert.ok(store.heldPins(clock).every((p) => p.endedAt === undefined && p.role === 'client'))
    clock = 6_000_000
    store.updateJob(job.jobId, { status: 'done' })
    assert.ok(store.heldPins(clock).every((p) => p.endedAt === 6_000_000))
  })

  test("a prover's unfinished job ends at its deadline once the deadline has passed", () => {
    const job = store.createJob(
      newJob('p', 1, { role: 'prover', clientPeer: alice, deadline: 7_000 }),
    )
    store.recordPins(job.jobId, 'work', [p1])
    assert.equal(store.heldPins(6_999)[0]!.endedAt, undefined)
    assert.equal(store.heldPins(7_000)[0]!.endedAt, 7_000)
  })

  test('a CID two jobs hold is freed only when the last one releases it', () => {
    const a = seed('a')
    const b = seed('b')
    store.recordPins(a.jobId, 'work', [p1, p2])
    store.recordPins(b.jobId, 'work', [p1])
    assert.deepEqual(store.releasePins(a.jobId, [p1, p2]), [p2])
    assert.deepEqual(store.releasePins(a.jobId, [p1, p2]), [], 'already released: nothing again')
    assert.deepEqual(store.releasePins(b.jobId, [p1]), [p1])
    assert.deepEqual(store.heldPins(clock), [])
    assert.ok(store.getPins(a.jobId).every((p) => p.releasedAt === clock))
  })

  test('pinning a released CID again holds it again; a CID of both classes stays an output', () => {
    const job = seed('a')
    store.recordPins(job.jobId, 'output', [out])
    store.recordPins(job.jobId, 'work', [out])
    assert.equal(store.getPins(job.jobId)[0]!.class, 'output')
    store.releasePins(job.jobId, [out])
    store.recordPins(job.jobId, 'work', [out])
    assert.equal(store.getPins(job.jobId)[0]!.releasedAt, undefined)
  })

  test('pins of a deleted job stay held until released, ending when they were pinned', () => {
    const job = seed('a')
    store.recordPins(job.jobId, 'work', [p1], 42)
    store.deleteJob(job.jobId)
    assert.deepEqual(
      store.heldPins(clock).map((p) => [p.cid, p.endedAt, p.role]),
      [[p1, 42, undefined]],
    )
  })

  test('bad input is refused, naming the field; an unknown job is NotFoundError', () => {
    const job = seed('a')
    assert.throws(() => store.recordPins(job.jobId, 'cache' as 'work', [p1]), invalid(/pinClass/))
    assert.throws(() => store.recordPins(job.jobId, 'work', ['']), invalid(/cids\[0\]/))
    assert.throws(() => store.recordPins('f'.repeat(64), 'work', [p1]), NotFoundError)
    assert.deepEqual(store.getPins(job.jobId), [], 'nothing half-recorded')
  })
})
