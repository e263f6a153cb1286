// Estimates from a dry run and the offers seen: pure functions, so every case is a table row.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { OfferBook, type SeenOffer } from '../pipeline/offer-book.ts'
import { estimateJob } from './estimate.ts'

const offer = (
  prover: string,
  price: number,
  hz: number,
  extra: Partial<SeenOffer> = {},
): SeenOffer => ({
  prover,
  pricePerSegment: BigInt(price),
  hz,
  capacity: 1,
  evidence: 'verified',
  at: 0,
  ...extra,
})
const run = { segments: 10, totalCycles: 10 * 2 ** 20 }

describe('the offer book', () => {
  test('keeps the latest offer of each prover, forgets the old, and holds at most its cap', () => {
    const book = new OfferBook({ windowMs: 1000, maxProvers: 2 })
    book.record(offer('a', 5, 100, { at: 0 }))
    book.record(offer('a', 7, 100, { at: 10 }))
    assert.deepEqual(
      book.recent(20).map((o) => [o.prover, o.pricePerSegment]),
      [['a', 7n]],
    )
    book.record(offer('b', 1, 100, { at: 20 }))
    book.record(offer('c', 1, 100, { at: 30 }))
    assert.deepEqual(
      book.recent(40).map((o) => o.prover),
      ['b', 'c'],
      'the oldest prover went first',
    )
    assert.deepEqual(
      book.recent(1025).map((o) => o.prover),
      ['c'],
    )
    assert.deepEqual(book.recent(5000), [])
  })
})

describe('a job estimate', () => {
  test('with no offers seen: only the most it can cost, and why', () => {
    const e = estimateJob(run, [], { pricePerSegment: 100n, maxProvers: 4 })
    assert.equal(e.maxCost, 1000n)
    assert.equal(e.costRange, undefined)
    assert.equal(e.proveSecondsAtLeast, undefined)
    assert.match(e.notes.join(), /no offers seen yet/)
  })

  test('when every prover asks more than the price: none eligible, the lowest ask named', () => {
    const e = estimateJob(run, [offer('a', 300, 1e6), offer('b', 200, 1e6)], {
      pricePerSegment: 100n,
      maxProvers: 4,
    })
    assert.equal(e.eligibleProvers, 0)
    assert.match(e.notes.join(), /lowest ask is 200 per segment/)
  })

  test('prices and times against the cheapest provers up to maxProvers', () => {
    const offers = [
      offer('a', 50, 1e6),
      offer('b', 10, 2e6),
      offer('c', 30, 1e6),
      offer('d', 500, 9e9),
    ]
    const e = estimateJob(run, offers, { pricePerSegment: 100n, maxProvers: 2 })
    assert.equal(e.offersSeen, 4)
    assert.equal(e.eligibleProvers, 3)
    // b (10) and c (30) are the two cheapest under 100; d asks too much however fast it is.
    assert.deepEqual(e.costRange, { low: 100n, high: 300n })
    assert.equal(e.proveSecondsAtLeast, run.totalCycles / 3e6)
  })

  test('no more provers are counted than there are segments', () => {
    const offers = [offer('a', 1, 1e6), offer('b', 1, 1e6), offer('c', 1, 1e6)]
    const e = estimateJob({ segments: 1, totalCycles: 1e6 }, offers, {
      pricePerSegment: 1n,
      maxProvers: 16,
    })
    assert.equal(e.proveSecondsAtLeast, 1)
  })

  test('offers whose evidence did not check are left out; a speed without a verified receipt prices but does not time', () => {
    const offers = [
      offer('liar', 1, 1e12, { evidence: 'invalid' }),
      offer('gone', 1, 1e12, { evidence: 'unreachable' }),
      offer('new', 5, 1e12, { evidence: 'absent' }),
      offer('proven', 6, 1e6),
    ]
    const e = estimateJob(run, offers, { pricePerSegment: 10n, maxProvers: 4 })
    assert.equal(e.eligibleProvers, 2)
    assert.deepEqual(e.costRange, { low: 50n, high: 60n })
    // The claimed 10^12 Hz of the prover without a receipt would make the floor ~0 s.
    assert.equal(e.proveSecondsAtLeast, run.totalCycles / 1e6)
    assert.match(e.notes.join(), /2 offer\(s\) left out/)
    assert.match(e.notes.join(), /1 of these provers reported a speed without a benchmark receipt/)
  })

  test('a prover reporting no speed gives a price but no time', () => {
    const e = estimateJob(run, [offer('a', 1, 0)], { pricePerSegment: 1n, maxProvers: 1 })
    assert.deepEqual(e.costRange, { low: 10n, high: 10n })
    assert.equal(e.proveSecondsAtLeast, undefined)
  })
})
