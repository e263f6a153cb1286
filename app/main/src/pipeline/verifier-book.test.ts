import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VerifierBook } from './verifier-book.ts'
import { tallyAttestations } from './quorum.ts'

function book(n: number, at = 0): VerifierBook {
  const b = new VerifierBook(60_000)
  for (let i = 0; i < n; i++)
    b.record({ peer: `v${i}`, fee: BigInt(i), capacity: 1, account: `0x${i}`, at })
  return b
}

describe('VerifierBook', () => {
  it('forgets a verifier whose ad is older than the freshness window', () => {
    const b = book(2)
    b.record({ peer: 'v1', fee: 1n, capacity: 1, at: 50_000 })
    assert.deepEqual(
      b.recent(70_000).map((a) => a.peer),
      ['v1'],
    )
  })

  it('picks without repeats, never an excluded peer or account, never over the fee', () => {
    const b = book(10)
    for (let seed = 0; seed < 50; seed++) {
      const picked = b.pick({
        count: 4,
        now: 1,
        exclude: new Set(['v0']),
        excludeAccounts: new Set(['0x1']),
        maxFee: 8n,
      })
      const peers = picked.map((a) => a.peer)
      assert.equal(new Set(peers).size, 4)
      for (const p of ['v0', 'v1', 'v9']) assert.ok(!peers.includes(p))
    }
  })

  it('gives fewer than asked when fewer are eligible, and skips ads without an account when one is needed', () => {
    const b = book(2)
    b.record({ peer: 'anon', fee: 0n, capacity: 1, at: 0 })
    assert.equal(b.pick({ count: 5, now: 0 }).length, 3)
    assert.equal(b.pick({ count: 5, now: 0, needAccount: true }).length, 2)
  })

  it('draws uniformly: every verifier is picked about as often', () => {
    const b = book(5)
    const counts = new Map<string, number>()
    let state = 7
    // A fixed linear congruential sequence: the test is the same on every run.
    const random = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let i = 0; i < 5000; i++)
      for (const a of b.pick({ count: 2, now: 0, random }))
        counts.set(a.peer, (counts.get(a.peer) ?? 0) + 1)
    for (const n of counts.values()) assert.ok(Math.abs(n - 2000) < 200, `${n} of 2000`)
  })
})

describe('tallyAttestations', () => {
  const own = { verdict: 'valid' as const, receiptDigest: 'r', journalDigest: 'j' }
  const att = (
    verifier: string,
    verdict: 'valid' | 'invalid',
    journalDigest = 'j',
    receiptDigest = 'r',
  ) => ({
    verifier,
    verdict,
    receiptDigest,
    journalDigest,
  })

  it('reaches the right verdict with one dishonest verifier of three, and names it', () => {
    const out = tallyAttestations(
      [att('a', 'valid'), att('b', 'invalid'), att('c', 'valid')],
      own,
      2,
    )
    assert.equal(out.verdict, 'valid')
    assert.deepEqual(out.wrong, ['b'])
  })

  it('counts a valid verdict about another journal as wrong', () => {
    const out = tallyAttestations([att('a', 'valid', 'other'), att('b', 'valid')], own, 2)
    assert.deepEqual(out.wrong, ['a'])
  })

  it('reaches no verdict without a quorum, and sets aside attestations about other bytes', () => {
    const out = tallyAttestations([att('a', 'valid'), att('b', 'valid', 'j', 'x')], own, 2)
    assert.equal(out.verdict, undefined)
    assert.deepEqual(out.otherReceipt, ['b'])
  })
})
