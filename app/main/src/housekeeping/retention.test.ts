import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { HeldPin } from '../store/index.ts'
import { planRetention } from './retention.ts'

const HOUR = 3_600_000
const pin = (jobId: string, cls: HeldPin['class'], endedAt: number | undefined): HeldPin => ({
  jobId,
  cid: `${jobId}-${cls}`,
  class: cls,
  pinnedAt: 0,
  endedAt,
  role: 'client',
})

describe('planRetention', () => {
  const policy = { workMs: HOUR, outputsMs: 24 * HOUR }

  test('work is due its retention after the job ended; outputs later; running jobs never', () => {
    const pins = [pin('a', 'work', 0), pin('a', 'output', 0), pin('run', 'work', undefined)]
    assert.equal(planRetention(pins, HOUR - 1, policy).due.size, 0)
    assert.equal(planRetention(pins, HOUR - 1, policy).nextAt, HOUR)
    const atHour = planRetention(pins, HOUR, policy)
    assert.deepEqual(
      atHour.due.get('a')!.map((p) => p.class),
      ['work'],
    )
    assert.equal(atHour.nextAt, 24 * HOUR)
    const atDay = planRetention(pins, 24 * HOUR, policy)
    assert.deepEqual(
      atDay.due.get('a')!.map((p) => p.class),
      ['work', 'output'],
    )
    assert.equal(atDay.due.has('run'), false)
    assert.equal(atDay.nextAt, undefined)
  })

  test('outputs with no retention are kept for good', () => {
    const plan = planRetention([pin('a', 'output', 0)], 1e15, { workMs: HOUR })
    assert.equal(plan.due.size, 0)
    assert.equal(plan.nextAt, undefined)
  })

  test('a retention of 0 releases at once', () => {
    assert.equal(planRetention([pin('a', 'work', 5)], 5, { workMs: 0 }).due.size, 1)
  })
})
