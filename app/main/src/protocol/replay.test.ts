// Specification of the replay guard: each message once, bounded memory, and no replay under floods.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MessageError } from './errors.ts'
import { messageId, ReplayGuard, type SeenMessage } from './replay.ts'
import { SeqCounter } from './seq.ts'

const T0 = 1_767_225_600_000
const W = 300_000

function msg(from: string, seq: number, ts = T0): SeenMessage & { id: string } {
  return { from, seq, ts, id: `${from}/${seq}/${ts}` }
}

function admit(guard: ReplayGuard, m: SeenMessage & { id: string }, now = m.ts) {
  return guard.admit(m, m.id, now)
}

describe('ReplayGuard', () => {
  it('accepts a first delivery and calls the very same message again a duplicate', () => {
    const guard = new ReplayGuard({ now: T0 - 1 })
    assert.equal(admit(guard, msg('a', 1)), 'ok')
    assert.equal(admit(guard, msg('a', 1)), 'duplicate')
  })

  it('calls another message under a seq already used a replay', () => {
    const guard = new ReplayGuard({ now: T0 - 1 })
    assert.equal(admit(guard, msg('a', 1)), 'ok')
    assert.equal(admit(guard, msg('a', 1, T0 + 5)), 'replay')
  })

  it('keeps senders apart: the same seq from two senders is two messages', () => {
    const guard = new ReplayGuard({ now: T0 - 1 })
    assert.equal(admit(guard, msg('a', 1)), 'ok')
    assert.equal(admit(guard, msg('b', 1)), 'ok')
  })

  it('accepts seqs out of order within the sender’s window (gossip and streams reorder)', () => {
    const guard = new ReplayGuard({ now: T0 - 1, maxSeqsPerSender: 4 })
    for (const seq of [10, 7, 9, 8]) assert.equal(admit(guard, msg('a', seq)), 'ok')
  })

  it('refuses a seq at or below the window once the window has moved past it', () => {
    const guard = new ReplayGuard({ now: T0 - 1, maxSeqsPerSender: 4 })
    for (let seq = 1; seq <= 10; seq++) assert.equal(admit(guard, msg('a', seq)), 'ok')
    assert.equal(guard.entries, 4)
    assert.equal(admit(guard, msg('a', 6)), 'replay', 'forgotten, but below the window')
    assert.equal(admit(guard, msg('a', 3, T0 + 1)), 'replay', 'never seen, but below the window')
    assert.equal(admit(guard, msg('a', 11)), 'ok')
  })

  it('refuses messages made before the guard started, as a restarted node must', () => {
    const guard = new ReplayGuard({ now: T0 })
    assert.equal(admit(guard, msg('a', 1, T0 - 1)), 'replay')
    assert.equal(admit(guard, msg('a', 2, T0)), 'ok')
  })

  it('without a start time accepts any ts (the codec still bounds it)', () => {
    const guard = new ReplayGuard()
    assert.equal(admit(guard, msg('a', 1, 5)), 'ok')
  })

  it('forgets a sender once all its messages are stale', () => {
    const guard = new ReplayGuard({ now: T0 - 1, windowMs: W })
    admit(guard, msg('a', 1, T0))
    admit(guard, msg('b', 1, T0 + 1000))
    assert.equal(guard.senders, 2)
    guard.prune(T0 + W)
    assert.equal(guard.senders, 2, 'a message exactly at the window edge is still fresh')
    guard.prune(T0 + W + 1)
    assert.equal(guard.senders, 1)
    admit(guard, msg('c', 1, T0 + W + 2000), T0 + W + 2000)
    assert.equal(guard.senders, 1, 'check() expires the oldest senders as it goes')
    assert.equal(guard.entries, 1)
  })

  it('refuses a message already stale by its own clock, whose record may be gone', () => {
    const guard = new ReplayGuard({ now: T0 - 1, windowMs: W })
    assert.equal(admit(guard, msg('a', 1, T0), T0 + W + 1), 'replay')
  })

  it('check() throws MessageError replay or duplicate, identifying messages by their bytes', () => {
    const guard = new ReplayGuard({ now: T0 - 1 })
    const header = { from: 'a', seq: 1, ts: T0 }
    guard.check(header, new Uint8Array([1]), T0)
    assert.throws(
      () => guard.check(header, new Uint8Array([1]), T0),
      (err: unknown) => err instanceof MessageError && err.code === 'duplicate',
    )
    assert.throws(
      () => guard.check(header, new Uint8Array([2]), T0),
      (err: unknown) => err instanceof MessageError && err.code === 'replay',
    )
    assert.equal(messageId(new Uint8Array([1])).length, 64)
  })

  it('refuses bad options', () => {
    assert.throws(() => new ReplayGuard({ maxSenders: 0 }), RangeError)
    assert.throws(() => new ReplayGuard({ maxSeqsPerSender: 10, maxEntries: 5 }), RangeError)
  })
})

describe('ReplayGuard under floods of 100,000 messages', () => {
  const N = 100_000

  it('from 100,000 senders: memory stays at its caps and not one replay passes', () => {
    const guard = new ReplayGuard({ now: T0 - 1, maxSenders: 1000, maxEntries: 5000 })
    const started = performance.now()
    for (let i = 0; i < N; i++) {
      assert.equal(admit(guard, msg(`p${i}`, 1, T0 + (i >> 4)), T0 + (i >> 4)), 'ok')
      assert.ok(guard.senders <= 1000)
    }
    const now = T0 + (N >> 4)
    for (let i = 0; i < N; i++) {
      const verdict = admit(guard, msg(`p${i}`, 1, T0 + (i >> 4)), now)
      assert.notEqual(verdict, 'ok', `replay of p${i} passed`)
    }
    assert.ok(guard.senders <= 1000 && guard.entries <= 5000)
    assert.equal(admit(guard, msg('newcomer', 1, now + 1), now + 1), 'ok', 'fresh traffic passes')
    const ms = performance.now() - started
    assert.ok(ms < 5000, `took ${ms} ms`)
  })

  it('from one sender: its window stays at maxSeqsPerSender and not one replay passes', () => {
    const guard = new ReplayGuard({ now: T0 - 1, maxSeqsPerSender: 256 })
    const seqs = new SeqCounter()
    const sent: Array<SeenMessage & { id: string }> = []
    for (let i = 0; i < N; i++) {
      const ts = T0 + Math.floor(i / 100)
      const m = msg('flooder', seqs.next(ts), ts)
      sent.push(m)
      assert.equal(admit(guard, m), 'ok')
    }
    assert.equal(guard.entries, 256)
    const now = T0 + N / 100
    for (const m of sent) assert.notEqual(admit(guard, m, now), 'ok')
  })

  it('of distinct messages spread over an hour: expiry keeps only the last window', () => {
    const guard = new ReplayGuard({ now: T0 - 1, windowMs: W })
    const step = 3_600_000 / N
    for (let i = 0; i < N; i++) {
      const ts = T0 + Math.floor(i * step)
      assert.equal(admit(guard, msg(`p${i % 5000}`, i, ts), ts), 'ok')
    }
    // 5,000 senders, each last seen within the final window: all kept, nothing older.
    assert.ok(guard.senders <= 5000)
    guard.prune(T0 + 3_600_000 + W + 1)
    assert.equal(guard.senders, 0)
    assert.equal(guard.entries, 0)
  })
})

describe('SeqCounter', () => {
  it('is strictly increasing, even when the clock stands still or steps back', () => {
    const seqs = new SeqCounter()
    const a = seqs.next(T0)
    const b = seqs.next(T0)
    const c = seqs.next(T0 - 10_000)
    assert.ok(a < b && b < c)
  })

  it('starts above what it handed out before a restart, without stored state', () => {
    const before = new SeqCounter()
    let last = 0
    for (let i = 0; i < 500; i++) last = before.next(T0)
    const after = new SeqCounter()
    assert.ok(after.next(T0 + 1) > last)
  })

  it('stays a safe integer', () => {
    assert.ok(Number.isSafeInteger(new SeqCounter().next(Date.UTC(2200, 0, 1))))
    assert.throws(() => new SeqCounter().next(Date.UTC(2300, 0, 1)), RangeError)
  })
})
