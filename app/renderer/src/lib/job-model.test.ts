// The page's job model against event sequences as the node sends them.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { JobDetail, JobEvent } from '@wholesum/api-client'
import { CELL, JobModel } from './job-model.ts'

let nextId = 1
const ev = (type: string, data: unknown, at = 1000 + nextId): JobEvent => ({
  id: nextId++,
  jobId: 'a'.repeat(64),
  at,
  type,
  data,
})

describe('JobModel', () => {
  test('claims, credits, strikes and reopens move cells, each change naming its one cell', () => {
    const model = new JobModel(0)
    assert.deepEqual(model.apply(ev('executed', { segments: 4, cycles: 1 })), { all: true })
    assert.equal(model.segments, 4)
    assert.deepEqual(model.apply(ev('claim', { prover: 'P1', index: 2 })), { cells: [2] })
    assert.equal(model.cells[2], CELL.claimed)
    assert.equal(model.proverOf(2), 'P1')
    model.apply(ev('strike', { prover: 'P1', index: 2, reason: 'bad' }))
    assert.equal(model.cells[2], CELL.struck)
    assert.equal(model.proverOf(2), undefined)
    model.apply(ev('claim', { prover: 'P2', index: 2 }))
    model.apply(ev('credit', { prover: 'P2', index: 2 }))
    assert.equal(model.cells[2], CELL.proved)
    assert.equal(model.proverOf(2), 'P2')
    assert.deepEqual(model.counts(), { 0: 3, 1: 0, 2: 1, 3: 0 })
  })

  test('a credit is final: a late reopen or claim of a proved segment changes nothing', () => {
    const model = new JobModel(2)
    model.apply(ev('credit', { prover: 'P1', index: 0 }))
    assert.deepEqual(model.apply(ev('reopen', { index: 0, reason: 'expired' })), { cells: [] })
    assert.deepEqual(model.apply(ev('claim', { prover: 'P2', index: 0 })), { cells: [] })
    assert.equal(model.cells[0], CELL.proved)
    assert.equal(model.proverOf(0), 'P1')
  })

  test('out-of-range and malformed events are ignored, not thrown', () => {
    const model = new JobModel(2)
    for (const data of [{ index: 5, prover: 'P' }, { index: -1 }, {}, null, 'text']) {
      assert.deepEqual(model.apply(ev('claim', data)), { cells: [] })
    }
    assert.deepEqual([...model.cells], [0, 0])
  })

  test('stages start and end from phases; finished closes what is open; join only when joined', () => {
    const model = new JobModel(0)
    model.apply(ev('executed', { segments: 1 }, 100))
    model.apply(ev('phase', { phase: 'proving' }, 200))
    model.apply(ev('claim', { prover: 'P', index: 0 }, 250))
    model.apply(ev('phase', { phase: 'assembling' }, 300))
    model.apply(ev('phase', { phase: 'verifying' }, 350))
    model.apply(ev('finished', { status: 'done' }, 400))
    assert.deepEqual(model.stages.execute, { startedAt: 100, endedAt: 100 })
    assert.deepEqual(model.stages.prove, { startedAt: 200, endedAt: 300 })
    assert.deepEqual(model.stages.verify, { startedAt: 300, endedAt: 400 })
    assert.ok(model.stages.join.skipped !== undefined)
    assert.ok(model.stages.settle.skipped !== undefined)
    assert.equal(model.status, 'done')
    const succinct = new JobModel(1)
    succinct.apply(ev('phase', { phase: 'joining' }, 10))
    assert.equal(succinct.stages.join.skipped, undefined)
    assert.equal(succinct.stages.join.startedAt, 10)
  })

  test('a detail loads the segment table: states, holders, rejected-and-open', () => {
    const model = new JobModel(0)
    const detail = {
      status: 'proving',
      segmentStates: [
        { index: 0, status: 'proved', provedBy: 'P1', attempts: 1, rejects: 0 },
        { index: 1, status: 'claimed', claimedBy: 'P2', attempts: 1, rejects: 0 },
        { index: 2, status: 'open', attempts: 1, rejects: 1 },
        { index: 3, status: 'open', attempts: 0, rejects: 0 },
      ],
    } as unknown as JobDetail
    model.loadDetail(detail)
    assert.deepEqual([...model.cells], [CELL.proved, CELL.claimed, CELL.struck, CELL.open])
    assert.equal(model.proverOf(0), 'P1')
    assert.equal(model.proverOf(1), 'P2')
    assert.equal(model.provers.length, 2)
  })

  test('5,000 segments: a claim and a credit per segment stay cheap (typed arrays)', () => {
    const model = new JobModel(5000)
    for (let i = 0; i < 5000; i++) {
      model.apply(ev('claim', { prover: `P${i % 16}`, index: i }))
      model.apply(ev('credit', { prover: `P${i % 16}`, index: i }))
    }
    assert.equal(model.counts()[CELL.proved], 5000)
    assert.equal(model.provers.length, 16)
  })
})
