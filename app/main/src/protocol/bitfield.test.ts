// Specification of the bit field: wire layout, bounds, and uniform random picks of open items.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Bitfield, bitfieldBytes } from './bitfield.ts'
import { MAX_ITEMS } from './messages.ts'

/** A deterministic rng (mulberry32) so picks are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('Bitfield', () => {
  it('lays bit i in byte i >> 3 under mask 1 << (i & 7): items 0 and 9 of 10 are [0x01, 0x02]', () => {
    const field = new Bitfield(10)
    field.set(0)
    field.set(9)
    assert.deepEqual(field.toBytes(), new Uint8Array([0x01, 0x02]))
    assert.equal(bitfieldBytes(10), 2)
  })

  it('sets, clears, gets and counts', () => {
    const field = new Bitfield(20)
    for (const i of [0, 3, 8, 19]) field.set(i)
    field.set(3)
    field.clear(8)
    field.clear(8)
    assert.equal(field.get(3), true)
    assert.equal(field.get(8), false)
    assert.equal(field.count(), 3)
    assert.deepEqual(field.ones(), [0, 3, 19])
  })

  it('allOpen sets exactly `size` bits and leaves the spare bits of the last byte clear', () => {
    const field = Bitfield.allOpen(11)
    assert.equal(field.count(), 11)
    assert.deepEqual(field.toBytes(), new Uint8Array([0xff, 0x07]))
    assert.equal(Bitfield.allOpen(16).count(), 16)
  })

  it('round-trips through its wire form, and toBytes returns a copy', () => {
    const field = new Bitfield(1204)
    for (let i = 0; i < 1204; i += 7) field.set(i)
    const bytes = field.toBytes()
    bytes[0] = 0
    assert.equal(field.get(0), true)
    assert.deepEqual(Bitfield.fromBytes(field.toBytes(), 1204).ones(), field.ones())
  })

  it('fromBytes refuses a wrong length, and bits set past size', () => {
    assert.throws(() => Bitfield.fromBytes(new Uint8Array(1), 10), RangeError)
    assert.throws(() => Bitfield.fromBytes(new Uint8Array(3), 10), RangeError)
    assert.throws(() => Bitfield.fromBytes(new Uint8Array([0, 0x04]), 10), RangeError)
    assert.throws(() => Bitfield.fromBytes(new Uint8Array(0), MAX_ITEMS + 1), RangeError)
  })

  it('refuses indexes outside the field, and sizes outside 0..MAX_ITEMS', () => {
    const field = new Bitfield(8)
    assert.throws(() => field.get(8), RangeError)
    assert.throws(() => field.set(-1), RangeError)
    assert.throws(() => field.clear(1.5), RangeError)
    assert.throws(() => new Bitfield(MAX_ITEMS + 1), RangeError)
    assert.equal(new Bitfield(MAX_ITEMS).toBytes().byteLength, MAX_ITEMS / 8)
  })

  it('pickRandom returns undefined when nothing is open', () => {
    assert.equal(new Bitfield(100).pickRandom(Math.random), undefined)
    assert.equal(new Bitfield(0).pickRandom(Math.random), undefined)
  })

  it('pickRandom maps the rng onto the open items in order', () => {
    const field = new Bitfield(64)
    for (const i of [5, 17, 40, 63]) field.set(i)
    assert.equal(
      field.pickRandom(() => 0),
      5,
    )
    assert.equal(
      field.pickRandom(() => 0.3),
      17,
    )
    assert.equal(
      field.pickRandom(() => 0.5),
      40,
    )
    assert.equal(
      field.pickRandom(() => 0.999999),
      63,
    )
    assert.equal(
      field.pickRandom(() => 1),
      63,
      'an rng returning 1 is clamped',
    )
    assert.equal(
      field.pickRandom(() => Number.NaN),
      5,
      'a broken rng does not break the pick',
    )
  })

  it('pickRandom is uniform over the open items', () => {
    const field = new Bitfield(1000)
    const open = [1, 2, 3, 500, 998, 999, 7, 64, 65, 333]
    for (const i of open) field.set(i)
    const counts = new Map<number, number>()
    const draw = rng(42)
    const n = 50_000
    for (let k = 0; k < n; k++) {
      const pick = field.pickRandom(draw)!
      counts.set(pick, (counts.get(pick) ?? 0) + 1)
    }
    assert.deepEqual(
      [...counts.keys()].sort((a, b) => a - b),
      [...open].sort((a, b) => a - b),
    )
    // Chi-square with 9 degrees of freedom; 27.9 is the 0.999 quantile.
    const expected = n / open.length
    let chi = 0
    for (const c of counts.values()) chi += (c - expected) ** 2 / expected
    assert.ok(chi < 27.9, `chi-square ${chi}`)
  })

  it('pickRandom skips the items set in exclude', () => {
    const field = Bitfield.allOpen(30)
    const mine = new Bitfield(30)
    for (let i = 0; i < 30; i++) if (i !== 12) mine.set(i)
    const draw = rng(7)
    for (let k = 0; k < 100; k++) assert.equal(field.pickRandom(draw, mine), 12)
    mine.set(12)
    assert.equal(field.pickRandom(draw, mine), undefined)
    assert.throws(() => field.pickRandom(draw, new Bitfield(31)), RangeError)
  })
})
