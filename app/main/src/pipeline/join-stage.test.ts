import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ClientJobConfig } from './client-job.ts'
import { ClientJoin, type ClientJoinCommand } from './client-join.ts'
import { JoinStage, type JoinCommand, type JoinStageOptions } from './join-stage.ts'
import type { NeedTerms, ProverSettings } from './market.ts'
import { ProverAgent } from './prover-agent.ts'
import {
  EventQueue,
  joinClaim,
  seededRandom,
  segmentClaim,
  simulate,
  type SimulationOptions,
  type VirtualProver,
} from './simulator.ts'

const inputs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ receiptCid: `seg${i}`, claim: segmentClaim(i) }))

const options = (n: number, over: Partial<JoinStageOptions> = {}): JoinStageOptions => ({
  inputs: inputs(n),
  joinClaim,
  claimTtlMs: 100,
  maxStrikes: 2,
  ...over,
})

const types = (commands: readonly { type: string }[]) => commands.map((c) => c.type)

/** Claim, deliver and verify one pair as `prover`; the commands of the verification. */
function joinPair(stage: JoinStage, prover: string, round: number, index: number, now = 0) {
  assert.equal(stage.claim(prover, round, index, now).granted, true)
  const cid = `j-${prover}-${round}-${index}`
  assert.equal(stage.deliver(prover, round, index, cid).queued, true)
  return stage.verified(prover, round, index, cid, { ok: true })
}

/** Join whatever is open, round by round, until one receipt remains. */
function joinAll(stage: JoinStage, prover = 'P'): JoinCommand[] {
  const commands: JoinCommand[] = []
  while (!stage.done) {
    for (const { round, indexes } of stage.wanted()) {
      for (const index of indexes) commands.push(...joinPair(stage, prover, round, index))
    }
  }
  return commands
}

describe('JOIN stage: the tree', () => {
  test('round r pairs the previous results in order, (0,1), (2,3), …, and carries an odd one out', () => {
    const stage = new JoinStage(options(5))
    assert.equal(stage.rounds, 3)
    assert.equal(stage.total, 4)
    assert.deepEqual(
      [0, 1, 2].map((r) => stage.itemsIn(r)),
      [2, 1, 1],
    )
    assert.deepEqual(stage.wanted(), [{ round: 0, total: 2, indexes: [0, 1], endgame: false }])
    const item = stage.item(0, 1)!
    assert.deepEqual([item.left.receiptCid, item.right.receiptCid], ['seg2', 'seg3'])
    joinPair(stage, 'P', 0, 0)
    joinPair(stage, 'P', 0, 1)
    // Level 1 is [j(0,1), j(2,3), seg4]: seg4 is the odd one out, carried up without a work item.
    const top = stage.item(2, 0)
    assert.equal(top, undefined, 'round 2 waits for round 1')
    joinPair(stage, 'P', 1, 0)
    const last = stage.item(2, 0)!
    assert.deepEqual([last.left.receiptCid, last.right.receiptCid], ['j-P-1-0', 'seg4'])
  })

  test('n inputs take ceil(log2 n) rounds and n − 1 joins, and the last proves the whole run', () => {
    for (const n of [2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100, 1204]) {
      const stage = new JoinStage(options(n))
      assert.equal(stage.rounds, Math.ceil(Math.log2(n)), `rounds for ${n}`)
      const commands = joinAll(stage)
      assert.equal(stage.joined, n - 1)
      assert.equal(commands.filter((c) => c.type === 'join-credit').length, n - 1)
      assert.deepEqual(commands.at(-1), { type: 'all-joined', ...stage.result() })
      assert.equal(stage.result().claim, `0:${n}`)
      assert.deepEqual(stage.wanted(), [])
    }
    assert.equal(new JoinStage(options(1204)).rounds, 11, "the seed's zeth example")
  })

  test('one input needs zero rounds: the stage is done at once and its result is that input', () => {
    const stage = new JoinStage(options(1))
    assert.equal(stage.rounds, 0)
    assert.equal(stage.done, true)
    assert.deepEqual(stage.result(), { receiptCid: 'seg0', claim: '0:1' })
    assert.deepEqual(stage.wanted(), [])
    assert.deepEqual(stage.claim('P', 0, 0, 0), { granted: false, reason: 'no-such-item' })
  })

  test('the expected claim of a pair is joinClaim(pre of left, post of right), and verify-join carries it', () => {
    const stage = new JoinStage(options(4))
    assert.equal(stage.item(0, 1)!.expectedClaim, '2:4')
    const delivered = stage.deliver('P', 0, 1, 'r')
    assert.ok(delivered.queued)
    assert.deepEqual(delivered.commands, [
      {
        type: 'verify-join',
        round: 0,
        index: 1,
        prover: 'P',
        receiptCid: 'r',
        left: { receiptCid: 'seg2', claim: '2:3' },
        right: { receiptCid: 'seg3', claim: '3:4' },
        expectedClaim: '2:4',
      },
    ])
    joinPair(stage, 'P', 0, 0)
    stage.verified('P', 0, 1, 'r', { ok: true })
    assert.equal(stage.item(1, 0)!.expectedClaim, '0:4')
  })

  test('pipelining: a pair opens as soon as both its inputs are joined, before its round is done', () => {
    const stage = new JoinStage(options(8))
    joinPair(stage, 'P', 0, 0)
    assert.deepEqual(types(joinPair(stage, 'P', 0, 1)), ['join-credit', 'join-open'])
    assert.equal(stage.item(1, 0)!.status, 'open')
    assert.deepEqual(
      stage.wanted().map((w) => [w.round, w.indexes]),
      [
        [0, [2, 3]],
        [1, [0]],
      ],
      'rounds 0 and 1 are open together',
    )
    assert.equal(stage.claim('Q', 1, 0, 0).granted, true)
  })

  test('a pair whose inputs are not joined yet cannot be claimed or delivered', () => {
    const stage = new JoinStage(options(4))
    assert.deepEqual(stage.claim('P', 1, 0, 0), { granted: false, reason: 'not-ready' })
    assert.deepEqual(stage.deliver('P', 1, 0, 'x'), { queued: false, reason: 'not-ready' })
    assert.deepEqual(stage.claim('P', 0, 2, 0), { granted: false, reason: 'no-such-item' })
    assert.deepEqual(stage.claim('P', 2, 0, 0), { granted: false, reason: 'no-such-item' })
  })
})

describe('JOIN stage: claims, verification, strikes (the PROVE rules)', () => {
  test('a claimed pair leaves its bit field, its prover may renew, and it re-opens when the claim expires', () => {
    const stage = new JoinStage(options(6))
    const grant = stage.claim('P', 0, 1, 0)
    assert.deepEqual(grant, {
      granted: true,
      ttlMs: 100,
      renewal: false,
      left: inputs(6)[2],
      right: inputs(6)[3],
    })
    assert.deepEqual(stage.wanted()[0]!.indexes, [0, 2])
    assert.deepEqual(stage.claim('Q', 0, 1, 50), { granted: false, reason: 'claimed-by-another' })
    const renewed = stage.claim('P', 0, 1, 60)
    assert.equal(renewed.granted, true, 'a renewal')
    assert.equal(renewed.granted && renewed.renewal, true)
    assert.deepEqual(stage.tick(159), [])
    assert.deepEqual(stage.tick(160), [
      { type: 'join-reopen', round: 0, index: 1, reason: 'claim-expired' },
    ])
    assert.deepEqual(stage.wanted()[0]!.indexes, [0, 1, 2])
  })

  test('only the first join that verifies is credited; duplicates are tolerated, not paid', () => {
    const stage = new JoinStage(options(2))
    assert.equal(stage.deliver('P', 0, 0, 'cid-p').queued, true)
    assert.equal(stage.deliver('Q', 0, 0, 'cid-q').queued, true)
    assert.deepEqual(stage.deliver('P', 0, 0, 'cid-p'), {
      queued: false,
      reason: 'duplicate-delivery',
    })
    assert.deepEqual(types(stage.verified('Q', 0, 0, 'cid-q', { ok: true })), [
      'join-credit',
      'all-joined',
    ])
    assert.deepEqual(stage.verified('P', 0, 0, 'cid-p', { ok: true }), [])
    assert.deepEqual([...stage.credits()], [['Q', 1]])
    assert.deepEqual(stage.result(), { receiptCid: 'cid-q', claim: '0:2' })
    assert.deepEqual(stage.deliver('P', 0, 0, 'cid-p2'), {
      queued: false,
      reason: 'already-proved',
    })
  })

  test('a join that fails verification strikes its prover and re-opens the pair; the second strike bans', () => {
    const stage = new JoinStage(options(4))
    stage.claim('L', 0, 0, 0)
    stage.deliver('L', 0, 0, 'bad')
    assert.deepEqual(stage.verified('L', 0, 0, 'bad', { ok: false, reason: 'wrong claim' }), [
      { type: 'join-strike', round: 0, index: 0, prover: 'L', reason: 'wrong claim' },
      { type: 'join-reopen', round: 0, index: 0, reason: 'rejected' },
    ])
    assert.equal(stage.item(0, 0)!.status, 'open')
    stage.claim('L', 0, 1, 0)
    stage.deliver('L', 0, 1, 'bad2')
    assert.deepEqual(types(stage.verified('L', 0, 1, 'bad2', { ok: false, reason: 'x' })), [
      'join-strike',
      'ban',
      'join-reopen',
    ])
    assert.deepEqual(stage.claim('L', 0, 0, 1), { granted: false, reason: 'banned' })
    assert.deepEqual(stage.deliver('L', 0, 0, 'y'), { queued: false, reason: 'banned' })
    assert.equal(stage.credits().size, 0)
  })

  test('strikes carried over from PROVE count: a prover banned there cannot claim a pair', () => {
    const stage = new JoinStage(options(4, { strikes: { L: 2, M: 1 } }))
    assert.deepEqual(stage.claim('L', 0, 0, 0), { granted: false, reason: 'banned' })
    assert.equal(stage.claim('M', 0, 0, 0).granted, true)
    stage.deliver('M', 0, 0, 'bad')
    assert.ok(
      stage.verified('M', 0, 0, 'bad', { ok: false, reason: 'x' }).some((c) => c.type === 'ban'),
    )
  })

  test('in the endgame (no pair open, some unjoined) claimed pairs are offered to everyone', () => {
    const stage = new JoinStage(options(4))
    stage.claim('P', 0, 0, 0)
    assert.equal(stage.endgame, false)
    stage.claim('Slow', 0, 1, 0)
    assert.equal(stage.endgame, true)
    assert.deepEqual(stage.wanted(), [{ round: 0, total: 2, indexes: [0, 1], endgame: true }])
    assert.equal(stage.claim('Q', 0, 1, 10).granted, true)
  })

  test('with the endgame rule off, claimed pairs stay out of the bit field until their claim lapses', () => {
    const stage = new JoinStage(options(4, { endgame: false }))
    stage.claim('P', 0, 0, 0)
    stage.claim('Slow', 0, 1, 0)
    assert.equal(stage.endgame, false)
    assert.deepEqual(stage.wanted(), [{ round: 0, total: 2, indexes: [], endgame: false }])
    assert.deepEqual(stage.claim('Q', 0, 1, 10), { granted: false, reason: 'claimed-by-another' })
  })

  test('a snapshot restores joined pairs, strikes and the open frontier; claims in flight re-open', () => {
    const stage = new JoinStage(options(7))
    joinPair(stage, 'P', 0, 0)
    joinPair(stage, 'P', 0, 1)
    joinPair(stage, 'Q', 1, 0)
    stage.claim('R', 0, 2, 0)
    stage.deliver('L', 0, 2, 'bad')
    stage.verified('L', 0, 2, 'bad', { ok: false, reason: 'x' })
    const saved = JSON.parse(JSON.stringify(stage.snapshot()))
    const restored = new JoinStage(options(7), saved)
    assert.equal(restored.joined, 3)
    assert.equal(restored.strikesOf('L'), 1)
    assert.deepEqual([...restored.credits()], [...stage.credits()])
    assert.equal(restored.item(0, 2)!.status, 'open')
    assert.equal(restored.item(0, 2)!.claimedBy, undefined)
    assert.deepEqual(restored.wanted(), [{ round: 0, total: 3, indexes: [2], endgame: false }])
    assert.equal(restored.item(1, 0)!.receiptCid, 'j-Q-1-0')
    assert.equal(restored.item(1, 1), undefined, 'waits for round 0 pair 2')
    joinAll(restored)
    assert.equal(restored.result().claim, '0:7')
  })
})

describe('client JOIN phase', () => {
  const config = { bitfieldIntervalMs: 2000, bitfieldGapMs: 200 }
  const dealt = new Set(['P', 'Q'])
  const make = (n: number) => new ClientJoin(config, options(n), (p) => dealt.has(p))
  const bitfields = (commands: ClientJoinCommand[]) =>
    commands.flatMap((c) => (c.type === 'publish-join-bitfield' ? [[c.round, c.indexes]] : []))

  test('only dealt provers may claim or deliver pairs; a grant names the two receipts to fetch', () => {
    const join = make(4)
    join.start(0)
    assert.deepEqual(join.claim('Stranger', 0, 0, 1), {
      granted: false,
      reason: 'no deal with this prover',
    })
    assert.deepEqual(join.proof('Stranger', 0, 0, 'x').reply, {
      accepted: false,
      reason: 'no deal with this prover',
    })
    assert.deepEqual(join.claim('P', 0, 1, 1), {
      granted: true,
      ttlMs: 100,
      renewal: false,
      left: 'seg2',
      right: 'seg3',
    })
    const { reply, commands } = join.proof('P', 0, 1, 'j')
    assert.deepEqual(reply, { accepted: true })
    assert.deepEqual(types(commands), ['verify-join'])
  })

  test('bit fields go out per round at the interval, and early, after the gap, when a pair opens', () => {
    const join = make(4)
    assert.deepEqual(bitfields(join.start(0)), [[0, [0, 1]]])
    assert.deepEqual(bitfields(join.tick(1999)), [])
    for (const index of [0, 1]) {
      join.claim('P', 0, index, 100)
      join.proof('P', 0, index, `j${index}`)
    }
    join.joinVerified('P', 0, 0, 'j0', { ok: true }, 150)
    const opened = join.joinVerified('P', 0, 1, 'j1', { ok: true }, 150)
    assert.deepEqual(types(opened), ['join-credit', 'join-open'], 'the gap has not passed')
    assert.deepEqual(bitfields(join.tick(199)), [])
    assert.deepEqual(bitfields(join.tick(200)), [[1, [0]]])
    assert.deepEqual(bitfields(join.tick(2199)), [])
    assert.deepEqual(bitfields(join.tick(2200)), [[1, [0]]], 'the interval')
  })

  test('the last verified join ends the phase with the one receipt and its claim', () => {
    const join = make(2)
    join.start(0)
    join.claim('Q', 0, 0, 0)
    join.proof('Q', 0, 0, 'final')
    const commands = join.joinVerified('Q', 0, 0, 'final', { ok: true }, 10)
    assert.deepEqual(commands.at(-1), { type: 'all-joined', receiptCid: 'final', claim: '0:2' })
    assert.equal(join.done, true)
    assert.deepEqual(join.tick(5000), [])
    assert.deepEqual(join.claim('P', 0, 0, 11), { granted: false, reason: 'the join is done' })
  })

  test('with one input the phase is done at start', () => {
    assert.deepEqual(make(1).start(0), [{ type: 'all-joined', receiptCid: 'seg0', claim: '0:1' }])
  })
})

describe('prover agent in the JOIN stage', () => {
  const need: NeedTerms = {
    jobId: 'job-j',
    segments: 8,
    po2: 16,
    rewardPerSegment: 100n,
    deadline: 1_000_000,
    requirements: { minMemoryMiB: 1024, proverKind: 'risc0', recursion: true },
  }
  const settings: ProverSettings = {
    minPricePerSegment: 10n,
    maxConcurrentJobs: 1,
    maxConcurrentSegments: 1,
    memoryMiB: 8192,
    cpus: 2,
    accelerator: 'cpu',
    recursion: true,
    maxPo2: 20,
    hz: 1700,
  }
  const dealtAgent = () => {
    const agent = new ProverAgent(settings)
    agent.need('client', need, 0)
    agent.offerAnswered(need.jobId, true, 1)
    return agent
  }

  test('a prover picks a random wanted pair of a round, joins the two receipts its grant names, and notifies', () => {
    const agent = dealtAgent()
    const [claim, ...more] = agent.joinBitfield(
      'client',
      need.jobId,
      2,
      { indexes: [0, 1], endgame: false },
      5,
      seededRandom(3),
    )
    assert.equal(more.length, 0, 'one slot, one claim')
    assert.equal(claim!.type, 'send-join-claim')
    const { index } = claim as { index: number }
    assert.deepEqual(
      agent.joinBitfield(
        'client',
        need.jobId,
        1,
        { indexes: [0], endgame: false },
        6,
        seededRandom(3),
      ),
      [],
      'busy',
    )
    assert.deepEqual(agent.joinClaimAnswered(need.jobId, 2, index, { left: 'a', right: 'b' }), [
      { type: 'join', jobId: need.jobId, round: 2, index, left: 'a', right: 'b' },
    ])
    assert.deepEqual(agent.joined(need.jobId, 2, index, 'r'), [
      {
        type: 'send-join-proof',
        jobId: need.jobId,
        client: 'client',
        round: 2,
        index,
        receiptCid: 'r',
      },
    ])
    agent.joinAnswered(need.jobId, 2, index, true)
    assert.equal(agent.freeSlots, 1)
    assert.equal(agent.statistics.joined, 1)
    assert.deepEqual(
      agent.joinBitfield('client', need.jobId, 2, { indexes: [index], endgame: true }, 7, () => 0),
      [],
      'a pair it delivered is not picked from an endgame bit field (the client may be verifying it)',
    )
    assert.equal(
      agent.joinBitfield('client', need.jobId, 2, { indexes: [index], endgame: false }, 8, () => 0)
        .length,
      1,
      'wanted again outside the endgame: the delivery failed there, so the pair is joined again',
    )
  })

  test('a refused join claim frees the slot; the pair may be picked again from a later bit field', () => {
    const agent = dealtAgent()
    agent.joinBitfield(
      'client',
      need.jobId,
      0,
      { indexes: [3], endgame: false },
      5,
      seededRandom(1),
    )
    assert.deepEqual(agent.joinClaimAnswered(need.jobId, 0, 3, undefined), [])
    assert.equal(agent.freeSlots, 1)
    assert.equal(
      agent.joinBitfield(
        'client',
        need.jobId,
        0,
        { indexes: [3], endgame: false },
        6,
        seededRandom(1),
      ).length,
      1,
    )
  })

  test('an empty bit field ends a job here only until work is wanted again', () => {
    const agent = dealtAgent()
    assert.deepEqual(
      agent.bitfield('client', need.jobId, { indexes: [], endgame: false }, 5, seededRandom(1)),
      [],
    )
    assert.equal(agent.jobState(need.jobId), 'finished')
    assert.equal(
      agent.joinBitfield(
        'client',
        need.jobId,
        0,
        { indexes: [0], endgame: false },
        6,
        seededRandom(1),
      ).length,
      1,
    )
    assert.equal(agent.jobState(need.jobId), 'dealt')
  })
})

describe('simulated PROVE + JOIN (the real state machines, virtual time)', () => {
  const run = (
    segments: number,
    provers: readonly VirtualProver[],
    over: Partial<SimulationOptions> = {},
    job: Partial<ClientJobConfig> = {},
  ) =>
    simulate({
      latencyMs: 5,
      tickMs: 500,
      maxVirtualMs: 3_600_000,
      seed: 1,
      recursion: true,
      joinMs: 4_000,
      job: {
        need: {
          jobId: 'job-r',
          segments,
          po2: 16,
          rewardPerSegment: 100n,
          deadline: 3_600_000,
          requirements: {
            minMemoryMiB: 1024,
            proverKind: 'risc0',
            recursion: over.recursion ?? true,
          },
        },
        policy: { maxProvers: provers.length },
        offerWindowMs: 1000,
        needIntervalMs: 5000,
        bitfieldIntervalMs: 2000,
        claimTtlMs: 60_000,
        maxStrikes: 2,
        ...job,
      },
      provers,
      ...over,
    })
  const honest = (n: number): VirtualProver[] =>
    Array.from({ length: n }, (_, i) => ({
      id: `p${i}`,
      behaviour: 'honest',
      segmentMs: 10_000 + 1000 * i,
    }))

  test('with recursion, PROVE then JOIN reduce 24 segments to one receipt proving the whole run, in 5 rounds', () => {
    const result = run(24, honest(4))
    assert.equal(result.phase, 'done')
    assert.equal(result.prove.credited, 24)
    const join = result.join!
    assert.equal(join.rounds, 5)
    assert.equal(join.credited, 23)
    assert.equal(join.claim, '0:24')
    assert.ok(join.startedAt === result.prove.finishedAt && join.finishedAt! <= result.virtualMs)
    assert.equal(
      [...join.credits.values()].reduce((a, b) => a + b),
      23,
    )
  })

  test('without recursion there is no JOIN stage, as before', () => {
    const result = run(6, honest(2), { recursion: false })
    assert.equal(result.phase, 'done')
    assert.equal(result.join, undefined)
  })

  test('a liar in JOIN is struck, banned and credited no join; the job completes', () => {
    const result = run(16, [
      ...honest(3),
      { id: 'liar', behaviour: 'liar', segmentMs: 10_000, joinMs: 500, liesIn: ['join'] },
    ])
    assert.equal(result.phase, 'done')
    assert.equal(result.join!.claim, '0:16')
    assert.equal(result.join!.credits.get('liar'), undefined)
    assert.equal(result.strikes.get('liar'), 2)
    assert.ok(result.join!.reopened >= 1 && result.join!.wasted >= 2)
  })

  test('a liar in both stages is banned in PROVE and stays banned in JOIN', () => {
    const result = run(12, [...honest(2), { id: 'liar', behaviour: 'liar', segmentMs: 1_000 }])
    assert.equal(result.phase, 'done')
    assert.equal(result.strikes.get('liar'), 2)
    assert.equal(result.join!.credits.get('liar'), undefined)
    assert.equal(result.join!.delivered, result.join!.credited + result.join!.wasted)
  })

  test('a prover that vanishes mid-join costs at most a claim TTL, not the job', () => {
    const result = run(
      8,
      [
        ...honest(2),
        { id: 'gone', behaviour: 'vanishes', segmentMs: 10_000, joinMs: 50_000, vanishAt: 60_000 },
      ],
      { joinEndgame: false },
    )
    assert.equal(result.phase, 'done')
    const join = result.join!
    assert.equal(join.credits.get('gone'), undefined)
    assert.equal(join.reopened, 1, 'its claim lapsed once')
    // It renewed its claim while it was there; the claim lapses one TTL after its last renewal,
    // so within one TTL of vanishing. Then three rounds of 4 s joins, bit field intervals as slack.
    const vanishedAt = 60_000
    assert.ok(join.finishedAt! - vanishedAt < 60_000 + 3 * 4_000 + 3 * 2_000)
  })

  test('with the endgame rule off, honest provers waste no proof and no join', () => {
    const result = run(24, honest(6), {}, { endgame: false })
    assert.equal(result.phase, 'done')
    assert.equal(result.prove.wasted, 0)
    assert.equal(result.join!.wasted, 0)
  })

  test('1,204 segments and 500 provers, PROVE and JOIN, simulate in seconds', () => {
    const started = performance.now()
    const result = run(1204, honest(500), { latencyJitterMs: 5 })
    assert.equal(result.phase, 'done')
    assert.equal(result.join!.rounds, 11)
    assert.ok(performance.now() - started < 30_000)
  })
})

describe('event queue', () => {
  test('events run in time order, and events at the same time first-in first-out', () => {
    const queue = new EventQueue()
    const order: string[] = []
    const times = [5, 1, 3, 1, 9, 0, 3, 5, 2, 1]
    times.forEach((at, seq) => queue.push({ at, seq, run: () => order.push(`${at}.${seq}`) }))
    assert.equal(queue.size, times.length)
    for (let e = queue.pop(); e !== undefined; e = queue.pop()) e.run()
    const expected = times
      .map((at, seq) => ({ at, seq }))
      .sort((a, b) => a.at - b.at || a.seq - b.seq)
      .map(({ at, seq }) => `${at}.${seq}`)
    assert.deepEqual(order, expected)
  })
})
