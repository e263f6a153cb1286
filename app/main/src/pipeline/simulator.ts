// A discrete-event simulator that drives the real ClientJob, ClientJoin and ProverAgent state
// machines with virtual time and virtual provers: honest, lying (deliver receipts that fail
// verification) or vanishing (stop mid-item). With `recursion` the client runs PROVE, then JOIN
// down to one succinct receipt, instead of assembling a composite receipt. Used by tests and by
// bench/pipeline-sim to measure completion time and wasted work.

import { ClientJob, type ClientCommand, type ClientJobConfig } from './client-job.ts'
import { ClientJoin, type ClientJoinCommand } from './client-join.ts'
import type { ProverSettings } from './market.ts'
import { ProverAgent, type AgentCommand } from './prover-agent.ts'

export type VirtualBehaviour = 'honest' | 'liar' | 'vanishes'

export interface VirtualProver {
  readonly id: string
  readonly behaviour: VirtualBehaviour
  /** Virtual ms to prove (and lift) one segment. */
  readonly segmentMs: number
  /** Virtual ms to join one pair; default the simulation's `joinMs`, else `segmentMs`. */
  readonly joinMs?: number
  /** For 'vanishes': the virtual time at which it disappears. */
  readonly vanishAt?: number
  /** For 'liar': the stages it lies in (default both). */
  readonly liesIn?: readonly ('prove' | 'join')[]
  /**
   * An honest prover whose first this-many segment deliveries fail verification anyway, as when
   * the client cannot fetch the receipt (a stalled transfer): the prover did nothing wrong.
   */
  readonly lostDeliveries?: number
  readonly settings?: Partial<ProverSettings>
}

export interface SimulationOptions {
  readonly job: ClientJobConfig
  readonly provers: readonly VirtualProver[]
  /** One-way message latency (virtual ms). */
  readonly latencyMs: number
  /**
   * Each message takes up to this much longer, at random (default 0). Without it, the prover
   * first in the list always wins a race for a lone open item.
   */
  readonly latencyJitterMs?: number
  readonly tickMs: number
  readonly seed: number
  readonly maxVirtualMs: number
  /** Provers lift and join: PROVE, then JOIN to one receipt (default off: composite receipt). */
  readonly recursion?: boolean
  /** Virtual ms per join for provers that do not set their own. */
  readonly joinMs?: number
  /** Least gap between two JOIN bit fields sent early because pairs opened (default `tickMs`). */
  readonly joinBitfieldGapMs?: number
  /** The JOIN stage's endgame rule (default: the job's `endgame`, itself on by default). */
  readonly joinEndgame?: boolean
}

/** Work in one stage; a unit is a segment proof (PROVE) or a join (JOIN). */
export interface StageReport {
  /** Virtual ms when the stage began and when its last item was credited (undefined: never). */
  readonly startedAt: number
  readonly finishedAt: number | undefined
  /** Units provers started, delivered, and that were credited. */
  readonly started: number
  readonly delivered: number
  readonly credited: number
  /** Delivered and thrown away: duplicates (endgame races, late arrivals) and rejected lies. */
  readonly wasted: number
  readonly reopened: number
}

export interface JoinReport extends StageReport {
  readonly rounds: number
  readonly credits: ReadonlyMap<string, number>
  /** The one receipt left and the claim it proves, once the stage is done. */
  readonly receiptCid?: string
  readonly claim?: string
}

export interface SimulationResult {
  readonly phase: string
  readonly virtualMs: number
  readonly proofsDelivered: number
  /** Segment proofs whose work was thrown away: duplicates and rejected lies. */
  readonly wastedProofs: number
  readonly credits: ReadonlyMap<string, number>
  /** Strikes over the whole job (JOIN carries PROVE's over). */
  readonly strikes: ReadonlyMap<string, number>
  readonly reopened: number
  readonly prove: StageReport
  /** Present when the run had `recursion` and PROVE finished. */
  readonly join?: JoinReport
}

/** mulberry32: a tiny seeded PRNG so runs are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The claim of segment i in a simulated run: pre state i, post state i + 1. */
export const segmentClaim = (i: number): string => `${i}:${i + 1}`
/** The claim of join(left, right): left's pre state, right's post state. */
export const joinClaim = (left: string, right: string): string =>
  `${left.slice(0, left.indexOf(':'))}:${right.slice(right.indexOf(':') + 1)}`

const DEFAULT_SETTINGS: ProverSettings = {
  minPricePerSegment: 1n,
  maxConcurrentJobs: 1,
  maxConcurrentSegments: 1,
  memoryMiB: 16_384,
  cpus: 2,
  accelerator: 'cpu',
  recursion: false,
  maxPo2: 22,
  hz: 1_000,
}

interface Scheduled {
  readonly at: number
  readonly seq: number
  readonly run: () => void
}

/** A binary min-heap of events by (time, insertion order): equal times run first-in first-out. */
export class EventQueue {
  private readonly heap: Scheduled[] = []

  get size(): number {
    return this.heap.length
  }

  push(event: Scheduled): void {
    const heap = this.heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  pop(): Scheduled | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    heap[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let least = i
      if (l < heap.length && before(heap[l]!, heap[least]!)) least = l
      if (r < heap.length && before(heap[r]!, heap[least]!)) least = r
      if (least === i) return top
      ;[heap[i], heap[least]] = [heap[least]!, heap[i]!]
      i = least
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

interface Tally {
  started: number
  delivered: number
  reopened: number
  startedAt: number
  finishedAt: number | undefined
}

const tally = (startedAt: number): Tally => ({
  started: 0,
  delivered: 0,
  reopened: 0,
  startedAt,
  finishedAt: undefined,
})

export function simulate(options: SimulationOptions): SimulationResult {
  const random = seededRandom(options.seed)
  const queue = new EventQueue()
  let seq = 0
  let now = 0
  const at = (time: number, run: () => void): void => queue.push({ at: time, seq: seq++, run })
  // Jitter draws from its own generator, so the provers' picks stay those of a run without it.
  const jitter = seededRandom(options.seed ^ 0x5eed)
  const spread = options.latencyJitterMs ?? 0
  const latency = (): number => options.latencyMs + (spread > 0 ? spread * jitter() : 0)
  const jobId = options.job.need.jobId
  const client = new ClientJob(options.job)
  const clientId = 'client'
  const agents = new Map(
    options.provers.map((p) => [
      p.id,
      {
        spec: p,
        agent: new ProverAgent({
          ...DEFAULT_SETTINGS,
          recursion: options.recursion === true,
          ...p.settings,
        }),
      },
    ]),
  )
  const lostLeft = new Map(options.provers.map((p) => [p.id, p.lostDeliveries ?? 0]))
  const gone = (id: string, time: number): boolean => {
    const spec = agents.get(id)?.spec
    return spec?.behaviour === 'vanishes' && time >= (spec.vanishAt ?? 0)
  }
  const lies = (id: string, stage: 'prove' | 'join'): boolean => {
    const spec = agents.get(id)?.spec
    return spec?.behaviour === 'liar' && (spec.liesIn ?? ['prove', 'join']).includes(stage)
  }
  /** Deliver to every prover still there, after the latency. */
  const broadcast = (deliver: (agent: ProverAgent) => AgentCommand[]): void => {
    for (const [id, { agent }] of agents) {
      at(now + latency(), () => {
        if (!gone(id, now)) runAgent(id, deliver(agent))
      })
    }
  }
  const prove = tally(0)
  let join: { tally: Tally; machine: ClientJoin } | undefined
  let offerSeq = 0

  const startJoin = (receipts: readonly string[]): void => {
    const machine = new ClientJoin(
      {
        bitfieldIntervalMs: options.job.bitfieldIntervalMs,
        bitfieldGapMs: options.joinBitfieldGapMs ?? options.tickMs,
      },
      {
        inputs: receipts.map((receiptCid, i) => ({ receiptCid, claim: segmentClaim(i) })),
        joinClaim,
        claimTtlMs: options.job.claimTtlMs,
        maxStrikes: options.job.maxStrikes,
        endgame: options.joinEndgame ?? options.job.endgame,
        strikes: client.stage.snapshot().strikes,
      },
      (prover) => client.hasDeal(prover),
    )
    join = { tally: tally(now), machine }
    runJoin(machine.start(now))
  }

  const runClient = (commands: ClientCommand[]): void => {
    for (const command of commands) {
      switch (command.type) {
        case 'publish-need':
          broadcast((agent) => agent.need(clientId, options.job.need, now))
          break
        case 'answer-offer':
          at(now + latency(), () => {
            agents.get(command.prover)?.agent.offerAnswered(jobId, command.deal, now)
          })
          break
        case 'publish-bitfield':
          broadcast((agent) => agent.bitfield(clientId, jobId, command, now, random))
          break
        case 'verify-segment': {
          const lost = (lostLeft.get(command.prover) ?? 0) > 0
          if (lost) lostLeft.set(command.prover, lostLeft.get(command.prover)! - 1)
          const ok = !lost && !lies(command.prover, 'prove')
          const reason = lost
            ? `receipt ${command.receiptCid} could not be fetched`
            : 'claim digest differs from the expected claim'
          at(now + 1, () =>
            runClient(
              client.segmentVerified(
                command.prover,
                command.index,
                command.receiptCid,
                ok ? { ok } : { ok, reason },
                now,
              ),
            ),
          )
          break
        }
        case 'reopen':
          prove.reopened += 1
          break
        case 'assemble':
          prove.finishedAt = now
          if (options.recursion) startJoin(command.receipts)
          else at(now + 1, () => runClient(client.assembled({ ok: true })))
          break
        case 'verify-final':
          at(now + 1, () => runClient(client.finalVerified({ ok: true })))
          break
        default:
          break
      }
    }
  }

  const runJoin = (commands: ClientJoinCommand[]): void => {
    const machine = join!.machine
    for (const command of commands) {
      switch (command.type) {
        case 'publish-join-bitfield':
          broadcast((agent) =>
            agent.joinBitfield(clientId, jobId, command.round, command, now, random),
          )
          break
        case 'verify-join': {
          const { prover, round, index, receiptCid } = command
          const ok = !lies(prover, 'join')
          at(now + 1, () =>
            runJoin(
              machine.joinVerified(
                prover,
                round,
                index,
                receiptCid,
                ok ? { ok } : { ok, reason: `the join does not prove ${command.expectedClaim}` },
                now,
              ),
            ),
          )
          break
        }
        case 'join-reopen':
          join!.tally.reopened += 1
          break
        case 'all-joined':
          join!.tally.finishedAt = now
          at(now + 1, () => runClient(client.assembled({ ok: true })))
          break
        default:
          break
      }
    }
  }

  /** Items a prover abandoned (`id key`): their work ends as failed. */
  const abandoned = new Set<string>()
  const runAgent = (id: string, commands: AgentCommand[]): void => {
    const { agent, spec } = agents.get(id)!
    // A request to the client and its answer back, each one latency away.
    const ask = <T>(request: () => T, answer: (reply: T) => AgentCommand[]): void =>
      at(now + latency(), () => {
        if (gone(id, now)) return // it vanished before the request left
        const reply = request()
        at(now + latency(), () => {
          if (!gone(id, now)) runAgent(id, answer(reply))
        })
      })
    // Work that takes `ms`, unless the prover vanishes meanwhile or abandons it (a refused
    // renewal), in which case it fails as an aborted proof does.
    const work = (
      key: string,
      ms: number,
      done: () => AgentCommand[],
      failed: () => AgentCommand[],
    ): void =>
      at(now + ms, () => {
        if (gone(id, now)) return
        runAgent(id, abandoned.delete(`${id} ${key}`) ? failed() : done())
      })
    for (const command of commands) {
      switch (command.type) {
        case 'send-offer': {
          const offerId = `offer-${offerSeq++}`
          at(now + latency(), () => runClient(client.offer(offerId, id, command.offer, now)))
          break
        }
        case 'send-claim':
          ask(
            () => client.claim(id, command.index, now),
            (reply) =>
              agent.claimAnswered(
                jobId,
                command.index,
                reply.granted,
                reply.granted ? { ttlMs: reply.ttlMs, now } : undefined,
              ),
          )
          break
        case 'renew-claim': {
          const { stage, round, index } = command.item
          ask(
            () =>
              stage === 'prove'
                ? client.claim(id, index, now).granted
                : join!.machine.claim(id, round, index, now).granted,
            (granted) => agent.renewalAnswered(jobId, command.item, granted),
          )
          break
        }
        case 'abandon': {
          const { stage, round, index } = command.item
          abandoned.add(`${id} ${stage === 'prove' ? index : `j${round}/${index}`}`)
          break
        }
        case 'prove':
          prove.started += 1
          work(
            String(command.index),
            spec.segmentMs,
            () => agent.proved(jobId, command.index, `receipt-${id}-${command.index}`),
            () => agent.proveFailed(jobId, command.index, 'abandoned'),
          )
          break
        case 'send-proof':
          prove.delivered += 1
          ask(
            () => {
              const { reply, commands: follow } = client.proof(
                id,
                command.index,
                command.receiptCid,
              )
              runClient(follow)
              return reply
            },
            (reply) =>
              agent.proofAnswered(
                jobId,
                command.index,
                reply.accepted,
                reply.accepted ? undefined : reply.reason,
              ),
          )
          break
        case 'send-join-claim': {
          const { round, index } = command
          ask(
            () => join!.machine.claim(id, round, index, now),
            (reply) =>
              agent.joinClaimAnswered(
                jobId,
                round,
                index,
                reply.granted ? reply : undefined,
                reply.granted ? { ttlMs: reply.ttlMs, now } : undefined,
              ),
          )
          break
        }
        case 'join': {
          const { round, index } = command
          join!.tally.started += 1
          work(
            `j${round}/${index}`,
            spec.joinMs ?? options.joinMs ?? spec.segmentMs,
            () => agent.joined(jobId, round, index, `join-${id}-${round}-${index}`),
            () => agent.joinFailed(jobId, round, index, 'abandoned'),
          )
          break
        }
        case 'send-join-proof': {
          const { round, index, receiptCid } = command
          join!.tally.delivered += 1
          ask(
            () => {
              const { reply, commands: follow } = join!.machine.proof(id, round, index, receiptCid)
              runJoin(follow)
              return reply
            },
            (reply) =>
              agent.joinAnswered(
                jobId,
                round,
                index,
                reply.accepted,
                reply.accepted ? undefined : reply.reason,
              ),
          )
          break
        }
        default:
          break
      }
    }
  }

  runClient(client.start(0))
  const tick = (): void => {
    runClient(client.tick(now))
    if (join !== undefined && client.phase === 'assembling') runJoin(join.machine.tick(now))
    for (const [id, { agent }] of agents) if (!gone(id, now)) runAgent(id, agent.tick(now))
    if (client.phase !== 'done' && client.phase !== 'failed') at(now + options.tickMs, tick)
  }
  at(options.tickMs, tick)

  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (next.at > options.maxVirtualMs) break
    now = next.at
    next.run()
    if (client.phase === 'done' || client.phase === 'failed') break
  }
  const credits = client.stage.credits()
  const credited = [...credits.values()].reduce((a, b) => a + b, 0)
  const strikes = new Map<string, number>()
  for (const id of agents.keys()) {
    const n = join?.machine.stage.strikesOf(id) ?? client.stage.strikesOf(id)
    if (n > 0) strikes.set(id, n)
  }
  return {
    phase: client.phase,
    virtualMs: now,
    proofsDelivered: prove.delivered,
    // Every delivery beyond the one credited per segment was work thrown away.
    wastedProofs: prove.delivered - credited,
    credits,
    strikes,
    reopened: prove.reopened,
    prove: report(prove, credited),
    ...(join !== undefined ? { join: joinReport(join.tally, join.machine) } : {}),
  }
}

function report(t: Tally, credited: number): StageReport {
  return {
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    started: t.started,
    delivered: t.delivered,
    credited,
    wasted: t.delivered - credited,
    reopened: t.reopened,
  }
}

function joinReport(t: Tally, machine: ClientJoin): JoinReport {
  const stage = machine.stage
  return {
    ...report(t, stage.joined),
    rounds: stage.rounds,
    credits: stage.credits(),
    ...(stage.done ? stage.result() : {}),
  }
}
