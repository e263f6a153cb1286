import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ClientJob, type ClientCommand, type ClientJobConfig } from './client-job.ts'
import {
  decideOffer,
  selectOffers,
  type NeedTerms,
  type EvidenceCheck,
  type OfferTerms,
  type ProverSettings,
} from './market.ts'
import { ProveStage } from './prove-stage.ts'
import {
  IDLE_JOB_MS,
  PROOF_NOTICE_ATTEMPTS,
  ProverAgent,
  type AgentCommand,
} from './prover-agent.ts'
import { seededRandom, simulate } from './simulator.ts'

const need: NeedTerms = {
  jobId: 'job-1',
  segments: 4,
  po2: 16,
  rewardPerSegment: 100n,
  deadline: 10_000_000,
  requirements: { minMemoryMiB: 1024, proverKind: 'risc0', recursion: false },
}

const verified: EvidenceCheck = { status: 'verified', po2: 16, claimDigest: 'ab'.repeat(32) }

const offer = (
  price: bigint,
  hz = 1000,
  memoryMiB = 4096,
  evidence: EvidenceCheck = verified,
): OfferTerms => ({
  pricePerSegment: price,
  capacity: 1,
  hardware: { cpus: 2, memoryMiB, accelerator: 'cpu' },
  hz,
  recursion: false,
  evidence,
})

const config = (over: Partial<ClientJobConfig> = {}): ClientJobConfig => ({
  need,
  policy: { maxProvers: 3 },
  offerWindowMs: 1000,
  needIntervalMs: 5000,
  bitfieldIntervalMs: 2000,
  claimTtlMs: 10_000,
  maxStrikes: 2,
  ...over,
})

const settings: ProverSettings = {
  minPricePerSegment: 10n,
  maxConcurrentJobs: 1,
  maxConcurrentSegments: 1,
  memoryMiB: 8192,
  cpus: 2,
  accelerator: 'cpu',
  recursion: false,
  maxPo2: 20,
  hz: 1700,
}

const ofType = <T extends ClientCommand['type']>(commands: ClientCommand[], type: T) =>
  commands.filter((c): c is Extract<ClientCommand, { type: T }> => c.type === type)

describe('market policy', () => {
  test('the cheapest eligible offers win, then the fastest, up to maxProvers', () => {
    const offers = [
      { id: 'a', prover: 'A', terms: offer(50n), receivedAt: 1 },
      { id: 'b', prover: 'B', terms: offer(20n, 500), receivedAt: 2 },
      { id: 'c', prover: 'C', terms: offer(20n, 900), receivedAt: 3 },
      { id: 'd', prover: 'D', terms: offer(200n), receivedAt: 0 },
      { id: 'e', prover: 'E', terms: offer(10n, 1000, 512), receivedAt: 0 },
    ]
    const { accepted, declined } = selectOffers(need, offers, { maxProvers: 2 }, 0)
    assert.deepEqual(
      accepted.map((o) => o.prover),
      ['C', 'B'],
    )
    const reasons = new Map(declined.map((d) => [d.offer.prover, d.reason]))
    assert.match(reasons.get('D')!, /exceeds the reward/)
    assert.match(reasons.get('E')!, /memory 512 MiB/)
    assert.match(reasons.get('A')!, /enough provers/)
  })

  test('reported Hz ranks an offer only when its benchmark receipt verified; a bad receipt is declined', () => {
    const offers = [
      { id: 'a', prover: 'A', terms: offer(20n, 9000, 4096, { status: 'absent' }), receivedAt: 1 },
      {
        id: 'b',
        prover: 'B',
        terms: offer(20n, 9000, 4096, { status: 'unreachable', reason: 'timed out' }),
        receivedAt: 2,
      },
      { id: 'c', prover: 'C', terms: offer(20n, 500), receivedAt: 3 },
      {
        id: 'd',
        prover: 'D',
        terms: offer(1n, 9000, 4096, { status: 'invalid', reason: 'does not verify' }),
        receivedAt: 0,
      },
    ]
    const { accepted, declined } = selectOffers(need, offers, { maxProvers: 3 }, 0)
    assert.deepEqual(
      accepted.map((o) => o.prover),
      ['C', 'A', 'B'],
      'verified 500 Hz beats unverified 9000 Hz; unverified ones by arrival',
    )
    assert.match(declined.find((d) => d.offer.prover === 'D')!.reason, /evidence is invalid/)
  })

  test('never more provers than segments', () => {
    const offers = ['A', 'B', 'C'].map((p, i) => ({
      id: p,
      prover: p,
      terms: offer(1n),
      receivedAt: i,
    }))
    const { accepted } = selectOffers({ ...need, segments: 2 }, offers, { maxProvers: 10 }, 0)
    assert.equal(accepted.length, 2)
  })

  test('a prover refuses needs below its price, beyond its memory or po2, or past deadline', () => {
    assert.ok('offer' in decideOffer(settings, need, 0, 0))
    assert.match(
      (decideOffer(settings, { ...need, rewardPerSegment: 5n }, 0, 0) as { refuse: string }).refuse,
      /below the minimum price/,
    )
    assert.match(
      (
        decideOffer(
          settings,
          { ...need, requirements: { ...need.requirements, minMemoryMiB: 9000 } },
          0,
          0,
        ) as { refuse: string }
      ).refuse,
      /needs 9000 MiB/,
    )
    assert.match(
      (decideOffer(settings, { ...need, po2: 21 }, 0, 0) as { refuse: string }).refuse,
      /po2 21/,
    )
    assert.match((decideOffer(settings, need, 1, 0) as { refuse: string }).refuse, /maximum/)
    assert.match(
      (decideOffer(settings, need, 0, need.deadline) as { refuse: string }).refuse,
      /expired/,
    )
  })
})

describe('PROVE stage', () => {
  test('a claimed segment leaves the bit field and re-opens when its claim expires', () => {
    const stage = new ProveStage({ total: 3, claimTtlMs: 100, maxStrikes: 2 })
    assert.deepEqual(stage.claim('P', 1, 0), { granted: true, ttlMs: 100, renewal: false })
    assert.deepEqual(stage.wanted().indexes, [0, 2])
    assert.deepEqual(stage.claim('Q', 1, 50), { granted: false, reason: 'claimed-by-another' })
    assert.deepEqual(stage.tick(99), [])
    assert.deepEqual(stage.tick(100), [{ type: 'reopen', index: 1, reason: 'claim-expired' }])
    assert.deepEqual(stage.wanted().indexes, [0, 1, 2])
  })

  test('only the first delivery that verifies is credited; duplicates are tolerated, not paid', () => {
    const stage = new ProveStage({ total: 1, claimTtlMs: 100, maxStrikes: 2 })
    assert.equal(stage.deliver('P', 0, 'cid-p').queued, true)
    assert.equal(stage.deliver('Q', 0, 'cid-q').queued, true)
    assert.deepEqual(stage.deliver('P', 0, 'cid-p'), {
      queued: false,
      reason: 'duplicate-delivery',
      commands: [],
    })
    const first = stage.verified('Q', 0, 'cid-q', { ok: true })
    assert.deepEqual(
      first.map((c) => c.type),
      ['credit', 'all-proved'],
    )
    assert.deepEqual(stage.verified('P', 0, 'cid-p', { ok: true }), [])
    assert.deepEqual([...stage.credits()], [['Q', 1]])
    assert.deepEqual(stage.deliver('P', 0, 'cid-p2'), {
      queued: false,
      reason: 'already-proved',
      commands: [],
    })
  })

  test('credit goes to the first delivery of a receipt: a copier is recorded, never verified or paid', () => {
    const stage = new ProveStage({ total: 1, claimTtlMs: 100, maxStrikes: 2 })
    assert.equal(stage.deliver('P', 0, 'cid-p').queued, true)
    // C saw P's CID and sends it too: it is not queued, so no verification of C's can win.
    const copy = stage.deliver('C', 0, 'cid-p')
    assert.equal(copy.queued, false)
    assert.equal(copy.reason, 'copied-receipt')
    assert.deepEqual(copy.commands, [
      { type: 'copied', index: 0, prover: 'C', original: 'P', receiptCid: 'cid-p' },
    ])
    // Even a verification answered under C's name cannot credit C: C has nothing pending.
    assert.deepEqual(
      stage.verified('P', 0, 'cid-p', { ok: true }).map((c) => c.type),
      ['credit', 'all-proved'],
    )
    assert.deepEqual([...stage.credits()], [['P', 1]])
    // After the credit, the same CID from someone else is still a copy of P's.
    assert.deepEqual(stage.deliver('D', 0, 'cid-p').commands, [
      { type: 'copied', index: 0, prover: 'D', original: 'P', receiptCid: 'cid-p' },
    ])
  })

  test('a copy of a receipt that fails verification does not save the copier or blame the original twice', () => {
    const stage = new ProveStage({ total: 1, claimTtlMs: 100, maxStrikes: 3 })
    stage.deliver('P', 0, 'bad')
    assert.equal(stage.deliver('C', 0, 'bad').reason, 'copied-receipt')
    const commands = stage.verified('P', 0, 'bad', { ok: false, reason: 'wrong claim' })
    assert.deepEqual(
      commands.map((c) => [c.type, 'prover' in c ? c.prover : undefined]),
      [['strike', 'P']],
    )
    assert.equal(stage.slot(0)!.status, 'open')
  })

  test('in the endgame two racers each hold their own claim: renewals stay renewals', () => {
    const stage = new ProveStage({ total: 2, claimTtlMs: 1000, maxStrikes: 2 })
    stage.claim('P', 0, 0)
    stage.deliver('P', 0, 'c0')
    stage.verified('P', 0, 'c0', { ok: true })
    assert.equal(stage.claim('A', 1, 0).granted, true)
    assert.equal(stage.endgame, true)
    const b = stage.claim('B', 1, 10)
    assert.deepEqual(b, { granted: true, ttlMs: 1000, renewal: false })
    // Each renews in turn, as the demo's two racers did: neither displaces the other.
    for (let t = 300; t <= 900; t += 300) {
      assert.deepEqual(stage.claim('A', 1, t), { granted: true, ttlMs: 1000, renewal: true })
      assert.deepEqual(stage.claim('B', 1, t + 10), { granted: true, ttlMs: 1000, renewal: true })
    }
    const slot = stage.slot(1)!
    assert.deepEqual(Object.keys(slot.holders!), ['A', 'B'])
    assert.equal(slot.claims, 2, 'two claims, however many renewals')
    assert.equal(slot.claimedBy, 'A')
    // A stops renewing: its claim lapses, B still holds, so the segment does not re-open.
    assert.deepEqual(stage.tick(1_905), [])
    assert.deepEqual(Object.keys(slot.holders!), ['B'])
    assert.equal(slot.claimedBy, 'B')
    // B's receipt fails: it was the last holder, so now the segment re-opens.
    stage.deliver('B', 1, 'bad')
    assert.deepEqual(
      stage.verified('B', 1, 'bad', { ok: false, reason: 'wrong claim' }).map((c) => c.type),
      ['strike', 'reopen'],
    )
    assert.equal(slot.status, 'open')
    assert.equal(slot.holders, undefined)
  })

  test('a receipt that fails verification strikes its prover and re-opens its segment', () => {
    const stage = new ProveStage({ total: 2, claimTtlMs: 100, maxStrikes: 2 })
    stage.claim('L', 0, 0)
    stage.deliver('L', 0, 'bad')
    const commands = stage.verified('L', 0, 'bad', { ok: false, reason: 'wrong claim' })
    assert.deepEqual(
      commands.map((c) => c.type),
      ['strike', 'reopen'],
    )
    assert.equal(stage.slot(0)!.status, 'open')
    stage.claim('L', 1, 0)
    stage.deliver('L', 1, 'bad2')
    const second = stage.verified('L', 1, 'bad2', { ok: false, reason: 'wrong claim' })
    assert.deepEqual(
      second.map((c) => c.type),
      ['strike', 'ban', 'reopen'],
    )
    assert.deepEqual(stage.claim('L', 0, 1), { granted: false, reason: 'banned' })
    assert.deepEqual(stage.deliver('L', 0, 'x'), { queued: false, reason: 'banned', commands: [] })
  })

  test('in the endgame claimed segments are offered to everyone', () => {
    const stage = new ProveStage({ total: 2, claimTtlMs: 1000, maxStrikes: 2 })
    stage.claim('P', 0, 0)
    stage.deliver('P', 0, 'c0')
    stage.verified('P', 0, 'c0', { ok: true })
    stage.claim('Slow', 1, 0)
    assert.deepEqual(stage.wanted(), { indexes: [1], endgame: true })
    assert.equal(stage.claim('P', 1, 10).granted, true)
  })

  test('a snapshot restores proved segments and strikes; claims in flight re-open', () => {
    const stage = new ProveStage({ total: 3, claimTtlMs: 1000, maxStrikes: 3 })
    stage.deliver('P', 0, 'c0')
    stage.verified('P', 0, 'c0', { ok: true })
    stage.claim('Q', 1, 0)
    stage.deliver('L', 2, 'bad')
    stage.verified('L', 2, 'bad', { ok: false, reason: 'x' })
    const restored = new ProveStage({ total: 3, claimTtlMs: 1000, maxStrikes: 3 }, stage.snapshot())
    assert.equal(restored.proved, 1)
    assert.equal(restored.strikesOf('L'), 1)
    assert.deepEqual(restored.wanted().indexes, [1, 2])
  })
})

describe('client job', () => {
  test('offers wait for the window, then deals go to the chosen provers and proving starts', () => {
    const job = new ClientJob(config())
    assert.deepEqual(
      job.start(0).map((c) => c.type),
      ['publish-need'],
    )
    assert.deepEqual(job.offer('o1', 'A', offer(30n), 10), [])
    assert.deepEqual(job.offer('o2', 'B', offer(20n), 20), [])
    const bad = job.offer('o3', 'C', offer(500n), 30)
    assert.equal(ofType(bad, 'answer-offer')[0]!.deal, false)
    const closing = job.tick(1000)
    const answers = ofType(closing, 'answer-offer')
    assert.deepEqual(
      answers.map((a) => [a.prover, a.deal]),
      [
        ['B', true],
        ['A', true],
      ],
    )
    assert.equal(job.phase, 'proving')
    assert.deepEqual(ofType(closing, 'publish-bitfield')[0]!.indexes, [0, 1, 2, 3])
  })

  test('an offer made again in the window (its first stream broke) replaces the first: one deal, on the new offer', () => {
    const job = new ClientJob(config({ policy: { maxProvers: 1 } }))
    job.start(0)
    assert.deepEqual(job.offer('o1', 'A', offer(30n), 10), [])
    const again = ofType(job.offer('o2', 'A', offer(30n), 1010), 'answer-offer')
    assert.deepEqual(
      again.map((a) => [a.offerId, a.deal, a.reason]),
      [['o1', false, 'superseded by a newer offer']],
    )
    const answers = ofType(job.tick(1500), 'answer-offer')
    assert.deepEqual(
      answers.map((a) => [a.offerId, a.prover, a.deal]),
      [['o2', 'A', true]],
    )
    // After the window, the same prover offering again gets the same deal.
    assert.deepEqual(
      ofType(job.offer('o3', 'A', offer(30n), 2000), 'answer-offer').map((a) => [
        a.offerId,
        a.deal,
      ]),
      [['o3', true]],
    )
  })

  test('claims and proofs from a peer without a deal are refused', () => {
    const job = new ClientJob(config())
    job.start(0)
    job.offer('o1', 'A', offer(30n), 10)
    job.tick(1000)
    assert.deepEqual(job.claim('Stranger', 0, 1001), {
      granted: false,
      reason: 'no deal with this prover',
    })
    assert.deepEqual(job.proof('Stranger', 0, 'cid').reply, {
      accepted: false,
      reason: 'no deal with this prover',
    })
  })

  test('all segments verified → assemble → verify → done', () => {
    const job = new ClientJob(config({ need: { ...need, segments: 2 } }))
    job.start(0)
    job.offer('o1', 'A', offer(30n), 10)
    job.tick(1000)
    for (const index of [0, 1]) {
      assert.equal(job.claim('A', index, 1100).granted, true)
      const { reply, commands } = job.proof('A', index, `cid${index}`)
      assert.deepEqual(reply, { accepted: true })
      assert.equal(commands[0]!.type, 'verify-segment')
    }
    job.segmentVerified('A', 0, 'cid0', { ok: true }, 1200)
    const last = job.segmentVerified('A', 1, 'cid1', { ok: true }, 1200)
    assert.deepEqual(ofType(last, 'assemble')[0]!.receipts, ['cid0', 'cid1'])
    // One last bit field wanting nothing, so that provers free the job's slot at once.
    assert.deepEqual(ofType(last, 'publish-bitfield')[0]!.indexes, [])
    assert.deepEqual(
      job.assembled({ ok: true }).map((c) => c.type),
      ['phase', 'verify-final'],
    )
    job.finalVerified({ ok: true })
    assert.equal(job.phase, 'done')
  })

  test('the job fails at its deadline, naming how far it got', () => {
    const job = new ClientJob(config({ need: { ...need, deadline: 5000 } }))
    job.start(0)
    const commands = job.tick(5000)
    assert.equal(job.phase, 'failed')
    assert.match(ofType(commands, 'phase')[0]!.reason!, /deadline passed with 0\/4/)
  })

  test('a final receipt that does not verify fails the job', () => {
    const job = new ClientJob(config({ need: { ...need, segments: 1 } }))
    job.start(0)
    job.offer('o1', 'A', offer(30n), 10)
    job.tick(1000)
    job.claim('A', 0, 1001)
    job.proof('A', 0, 'c')
    job.segmentVerified('A', 0, 'c', { ok: true }, 1002)
    job.assembled({ ok: true })
    job.finalVerified({ ok: false, reason: 'journal differs' })
    assert.equal(job.phase, 'failed')
  })
})

describe('prover agent', () => {
  test('offers once, then claims random wanted segments up to its capacity', () => {
    const agent = new ProverAgent({ ...settings, maxConcurrentSegments: 2 })
    assert.equal(agent.need('client', need, 0)[0]!.type, 'send-offer')
    assert.deepEqual(agent.need('client', need, 1), [])
    assert.deepEqual(
      agent.bitfield(
        'client',
        need.jobId,
        { indexes: [0, 1, 2], endgame: false },
        2,
        seededRandom(1),
      ),
      [],
      'no deal yet',
    )
    agent.offerAnswered(need.jobId, true, 3)
    assert.deepEqual(
      agent.bitfield(
        'impostor',
        need.jobId,
        { indexes: [0, 1], endgame: false },
        4,
        seededRandom(1),
      ),
      [],
    )
    const claims = agent.bitfield(
      'client',
      need.jobId,
      { indexes: [0, 1, 2, 3], endgame: false },
      5,
      seededRandom(7),
    )
    assert.equal(claims.length, 2)
    assert.equal(agent.freeSlots, 0)
    const index = (claims[0] as { index: number }).index
    assert.deepEqual(agent.claimAnswered(need.jobId, index, true), [
      { type: 'prove', jobId: need.jobId, index },
    ])
    assert.equal(agent.proved(need.jobId, index, 'r')[0]!.type, 'send-proof')
    agent.proofAnswered(need.jobId, index, true)
    assert.equal(agent.freeSlots, 1)
  })
})

describe('prover agent: a freed slot picks from the latest bit field', () => {
  test('after a delivery it claims another wanted segment at once; refused ones are skipped', () => {
    const agent = new ProverAgent(settings)
    agent.need('client', need, 0)
    agent.offerAnswered(need.jobId, true, 1)
    const first = agent.bitfield(
      'client',
      need.jobId,
      { indexes: [0, 1, 2], endgame: false },
      2,
      () => 0,
    )
    assert.deepEqual(
      first.map((c) => (c as { index: number }).index),
      [0],
    )
    agent.claimAnswered(need.jobId, 0, true)
    agent.proved(need.jobId, 0, 'r0')
    agent.proofAnswered(need.jobId, 0, true)
    const next = agent.refill(need.jobId, () => 0)
    assert.deepEqual(
      next.map((c) => (c as { index: number }).index),
      [1],
      'segment 0 is done here',
    )
    agent.claimAnswered(need.jobId, 1, false)
    const after = agent.refill(need.jobId, () => 0)
    assert.deepEqual(
      after.map((c) => (c as { index: number }).index),
      [2],
      'segment 1 was refused',
    )
    agent.claimAnswered(need.jobId, 2, false)
    assert.deepEqual(
      agent.refill(need.jobId, () => 0),
      [],
      'nothing left in that bit field',
    )
  })
})

describe("prover agent: its timers (claim renewal, notice retries, keep-alive) are the agent's", () => {
  const dealt = () => {
    const agent = new ProverAgent({ ...settings, maxConcurrentSegments: 1 })
    agent.need('client', need, 0)
    agent.offerAnswered(need.jobId, true, 0)
    agent.bitfield('client', need.jobId, { indexes: [0], endgame: false }, 0, () => 0)
    return agent
  }
  const only = (commands: AgentCommand[], type: AgentCommand['type']) =>
    commands.filter((c) => c.type === type)

  test('a granted claim is renewed every TTL/3 while the work goes on, and not after', () => {
    const agent = dealt()
    agent.claimAnswered(need.jobId, 0, true, { ttlMs: 60_000, now: 1_000 })
    assert.equal(agent.nextWakeAt(), 0, 'the first keep-alive is due at once')
    agent.tick(0)
    assert.equal(agent.nextWakeAt(), 5_000, 'then the next keep-alive, before the renewal at 21 s')
    assert.deepEqual(only(agent.tick(20_999), 'renew-claim'), [])
    assert.deepEqual(only(agent.tick(21_000), 'renew-claim'), [
      {
        type: 'renew-claim',
        jobId: need.jobId,
        client: 'client',
        item: { stage: 'prove', round: 0, index: 0 },
      },
    ])
    assert.deepEqual(only(agent.tick(21_500), 'renew-claim'), [], 'once per period')
    assert.equal(only(agent.tick(41_000), 'renew-claim').length, 1)
    agent.proved(need.jobId, 0, 'cid-0')
    assert.deepEqual(only(agent.tick(61_000), 'renew-claim'), [], 'proved: no more renewals')
  })

  test('a refused renewal abandons the item; a granted one changes nothing', () => {
    const agent = dealt()
    agent.claimAnswered(need.jobId, 0, true, { ttlMs: 3_000, now: 0 })
    const item = { stage: 'prove' as const, round: 0, index: 0 }
    assert.deepEqual(agent.renewalAnswered(need.jobId, item, true), [])
    const abandon = agent.renewalAnswered(need.jobId, item, false)
    assert.deepEqual(
      abandon.map((c) => c.type),
      ['abandon'],
    )
    assert.deepEqual(only(agent.tick(10_000), 'renew-claim'), [], 'no renewal of an abandoned item')
    // The adapter aborts the work, which fails: the slot is free again.
    agent.proveFailed(need.jobId, 0, 'aborted')
    assert.equal(agent.freeSlots, 1)
  })

  test('an undeliverable notice is sent again with backoff, six times in all, then given up', () => {
    const agent = dealt()
    agent.claimAnswered(need.jobId, 0, true, { ttlMs: 60_000, now: 0 })
    assert.equal(only(agent.proved(need.jobId, 0, 'cid-0'), 'send-proof').length, 1)
    let now = 100
    for (const backoff of [2_000, 4_000, 8_000, 16_000, 30_000]) {
      agent.noticeFailed(need.jobId, 0, 'unreachable', now)
      assert.deepEqual(only(agent.tick(now + backoff - 1), 'send-proof'), [], 'not before its time')
      assert.equal(only(agent.tick(now + backoff), 'send-proof').length, 1, `after ${backoff} ms`)
      now += backoff
    }
    assert.equal(PROOF_NOTICE_ATTEMPTS, 6)
    const givenUp = agent.noticeFailed(need.jobId, 0, 'unreachable', now)
    assert.match(
      (givenUp[0] as { message: string }).message,
      /segment 0 refused: notice undeliverable/,
    )
    assert.equal(agent.freeSlots, 1)
  })

  test("a dealt job's client connection is checked every 5 s", () => {
    const agent = dealt()
    assert.equal(only(agent.tick(0), 'keep-connected').length, 1)
    assert.equal(only(agent.tick(4_999), 'keep-connected').length, 0)
    assert.equal(only(agent.tick(5_000), 'keep-connected').length, 1)
  })
})

describe('prover agent: a job whose client went quiet frees its slot', () => {
  test('a dealt job holding nothing, with no bit field for IDLE_JOB_MS, lets the next need get an offer', () => {
    const agent = new ProverAgent({ ...settings, maxConcurrentJobs: 1 })
    agent.need('client', need, 0)
    agent.offerAnswered(need.jobId, true, 1)
    const other = { ...need, jobId: 'f'.repeat(64) }
    assert.ok(
      agent.need('client', other, 2).every((c) => c.type !== 'send-offer'),
      'no slot while the first job runs',
    )
    // Its client proved it elsewhere (or finished) and stopped sending bit fields.
    const logs = (commands: AgentCommand[]) => commands.filter((c) => c.type === 'log')
    assert.deepEqual(logs(agent.tick(IDLE_JOB_MS)), [], 'not quiet long enough')
    const freed = logs(agent.tick(1 + IDLE_JOB_MS))
    assert.match((freed[0] as { message: string }).message, /job slot freed/)
    const offer = agent.need('client', { ...other, jobId: 'e'.repeat(64) }, 2 + IDLE_JOB_MS)
    assert.equal(offer[0]?.type, 'send-offer')
  })

  test('a job with a segment in hand keeps its slot however quiet its client is', () => {
    const agent = new ProverAgent({ ...settings, maxConcurrentJobs: 1 })
    agent.need('client', need, 0)
    agent.offerAnswered(need.jobId, true, 1)
    agent.bitfield('client', need.jobId, { indexes: [0], endgame: false }, 2, () => 0)
    agent.claimAnswered(need.jobId, 0, true)
    assert.deepEqual(
      agent.tick(2 + 10 * IDLE_JOB_MS).filter((c) => c.type === 'log'),
      [],
    )
    assert.ok(
      agent
        .need('client', { ...need, jobId: 'e'.repeat(64) }, 3)
        .every((c) => c.type !== 'send-offer'),
    )
  })
})

describe('simulated network (the real state machines, virtual time)', () => {
  const base = {
    latencyMs: 5,
    tickMs: 500,
    maxVirtualMs: 3_600_000,
  }
  const job = (segments: number, maxProvers: number) =>
    config({
      need: { ...need, segments, deadline: 3_600_000 },
      policy: { maxProvers },
      claimTtlMs: 60_000,
    })

  test('honest provers share the work and the job completes', () => {
    const result = simulate({
      ...base,
      seed: 1,
      job: job(24, 4),
      provers: ['p1', 'p2', 'p3', 'p4'].map((id) => ({
        id,
        behaviour: 'honest' as const,
        segmentMs: 10_000,
      })),
    })
    assert.equal(result.phase, 'done')
    assert.equal(
      [...result.credits.values()].reduce((a, b) => a + b),
      24,
    )
    for (const id of ['p1', 'p2', 'p3', 'p4'])
      assert.ok((result.credits.get(id) ?? 0) >= 3, `${id} proved some`)
  })

  test('a liar is struck, banned and credited nothing; the job completes', () => {
    const result = simulate({
      ...base,
      seed: 2,
      job: job(12, 3),
      provers: [
        { id: 'honest1', behaviour: 'honest', segmentMs: 10_000 },
        { id: 'honest2', behaviour: 'honest', segmentMs: 12_000 },
        { id: 'liar', behaviour: 'liar', segmentMs: 1_000 },
      ],
    })
    assert.equal(result.phase, 'done')
    assert.equal(result.credits.get('liar'), undefined)
    assert.equal(result.strikes.get('liar'), 2)
  })

  test('an honest prover whose delivery was lost proves that segment again; a liar cannot stall the job', () => {
    // The devnet's wrong-segment case: one liar and one honest prover. Once the honest prover's
    // receipt for a segment failed verification through no fault of its own, it must be willing to
    // prove that segment again, or nobody ever will.
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const result = simulate({
        ...base,
        seed,
        job: job(3, 2),
        provers: [
          { id: 'liar', behaviour: 'liar', segmentMs: 10_000 },
          { id: 'honest', behaviour: 'honest', segmentMs: 10_000, lostDeliveries: 1 },
        ],
      })
      assert.equal(result.phase, 'done', `seed ${seed}`)
      assert.equal(result.credits.get('honest'), 3, `seed ${seed}`)
      assert.ok(result.virtualMs < 120_000, `seed ${seed}: took ${result.virtualMs} ms`)
    }
  })

  test('a prover that vanishes mid-segment costs at most a claim TTL, not the job', () => {
    const result = simulate({
      ...base,
      seed: 3,
      job: job(8, 3),
      provers: [
        { id: 'a', behaviour: 'honest', segmentMs: 10_000 },
        { id: 'b', behaviour: 'honest', segmentMs: 10_000 },
        { id: 'gone', behaviour: 'vanishes', segmentMs: 10_000, vanishAt: 5_000 },
      ],
    })
    assert.equal(result.phase, 'done')
    // Its segment comes back either when the claim expires or earlier, in the endgame.
    assert.equal(result.credits.get('gone'), undefined)
  })
})
