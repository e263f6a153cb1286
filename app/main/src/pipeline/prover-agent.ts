// A prover's side of the pipeline as a sans-IO state machine: answer needs within its settings,
// remember its deals, pick a random open item from each bit field (a segment to prove, or a pair
// to join when the job has a JOIN stage), claim it, do it, notify. Randomness and time come in as
// arguments, so a simulator can run thousands of these.

import { decideOffer, type NeedTerms, type OfferTerms, type ProverSettings } from './market.ts'

export type AgentCommand =
  | {
      readonly type: 'send-offer'
      readonly jobId: string
      readonly client: string
      readonly offer: OfferTerms
    }
  | {
      readonly type: 'send-claim'
      readonly jobId: string
      readonly client: string
      readonly index: number
    }
  | { readonly type: 'prove'; readonly jobId: string; readonly index: number }
  | {
      readonly type: 'send-proof'
      readonly jobId: string
      readonly client: string
      readonly index: number
      readonly receiptCid: string
    }
  | {
      readonly type: 'send-join-claim'
      readonly jobId: string
      readonly client: string
      readonly round: number
      readonly index: number
    }
  /** Fetch the two receipts the claim grant named and join(left, right). */
  | {
      readonly type: 'join'
      readonly jobId: string
      readonly round: number
      readonly index: number
      readonly left: string
      readonly right: string
    }
  | {
      readonly type: 'send-join-proof'
      readonly jobId: string
      readonly client: string
      readonly round: number
      readonly index: number
      readonly receiptCid: string
    }
  /** Renew the claim on an item still being worked on (every TTL/3). */
  | {
      readonly type: 'renew-claim'
      readonly jobId: string
      readonly client: string
      readonly item: ItemRef
    }
  /** The client refused a renewal: stop the work on the item, its result can no longer count. */
  | {
      readonly type: 'abandon'
      readonly jobId: string
      readonly item: ItemRef
      readonly reason: string
    }
  /** Make sure a connection to the job's client is open (dial it if not): every 5 s per job. */
  | { readonly type: 'keep-connected'; readonly jobId: string; readonly client: string }
  | {
      readonly type: 'log'
      readonly level: 'info' | 'warn'
      readonly message: string
      readonly jobId: string
    }

/** A work item named in a command: a segment (`prove`, round 0) or round r's pair (`join`). */
export interface ItemRef {
  readonly stage: 'prove' | 'join'
  readonly round: number
  readonly index: number
}

/** When the agent must act on an item next: renew its claim, or send its notice again. */
interface ItemTimers {
  /** While the item is worked on: renew every `renewEveryMs`, next at `renewAt`. */
  renewEveryMs?: number
  renewAt?: number
  /** While its notice is unanswered: the receipt, the notices sent, and the next retry. */
  notice?: { receiptCid: string; sent: number; retryAt?: number }
}

interface AgentJob {
  readonly jobId: string
  readonly client: string
  readonly need: NeedTerms
  state: 'offered' | 'dealt' | 'finished'
  /** Its client cancelled it: finished for good, whatever bit fields say later. */
  cancelled?: boolean
  /** Items (itemKey) this prover claimed, is working on, or is notifying about. */
  readonly active: Set<string>
  /** Claims granted to this prover per item: an item is given up after `MAX_ATTEMPTS`. */
  readonly attempts: Map<string, number>
  /**
   * Items whose notice the client answered. Skipped while the client may still be verifying them
   * (an endgame bit field lists claimed items too); a later bit field that is not an endgame one
   * and still wants the item means the delivery failed there, and the item may be proved again.
   */
  readonly delivered: Set<string>
  lastBitfieldAt: number
  /** The latest PROVE bit field, so a freed slot can pick at once instead of waiting for the next. */
  lastWanted?: WantedField
  /** Segments refused to this prover since that bit field: not claimed again from it. */
  readonly refusedSince: Set<string>
  /** Claim renewals and notice retries due, per item key. */
  readonly timers: Map<string, ItemTimers>
  /** The last time a keep-connected was asked for this job. */
  lastKeepAliveAt?: number
}

/** A bit field as the agent needs it: the wanted items, and whether claimed ones are among them. */
export interface WantedField {
  readonly indexes: readonly number[]
  /** The endgame: items already claimed (perhaps by us) are offered to everyone again. */
  readonly endgame: boolean
}

/**
 * How many times one prover takes on one item. More than once, because a delivery can be lost
 * through no fault of the prover (a stalled transfer, a restart): with few provers, refusing to
 * retry would leave the item to nobody. Bounded, because a failure that repeats is this
 * prover's own (a segment it cannot prove, a receipt the client never accepts).
 */
export const MAX_ATTEMPTS = 3

/** A segment is `7`, round 2's pair 3 is `j2/3`. */
const segmentKey = (index: number): string => String(index)
const pairKey = (round: number, index: number): string => `j${round}/${index}`

export interface AgentStats {
  readonly proved: number
  readonly joined: number
  readonly accepted: number
  readonly rejected: number
  readonly claimsRefused: number
}

/** Silence from a job's client after which a prover holding nothing of it frees its job slot. */
export const IDLE_JOB_MS = 30_000

/** Notices of one receipt sent before giving up (the client restarting or moving address). */
export const PROOF_NOTICE_ATTEMPTS = 6

/** How often a dealt job's client connection is checked (and re-dialled if gone). */
export const KEEP_ALIVE_MS = 5_000

/** Wait before the n-th retry of a notice: 2 s, 4 s, 8 s … at most 30 s. */
export function noticeBackoffMs(sent: number): number {
  return Math.min(30_000, 2_000 * 2 ** (sent - 1))
}

/** A claim of `ttlMs` is renewed every third of it, and not more often than once a second. */
export function renewEveryMs(ttlMs: number): number {
  return Math.max(1_000, Math.floor(ttlMs / 3))
}

const SEGMENT_ITEM = (index: number): ItemRef => ({ stage: 'prove', round: 0, index })
const PAIR_ITEM = (round: number, index: number): ItemRef => ({ stage: 'join', round, index })
const keyOf = (item: ItemRef): string =>
  item.stage === 'prove' ? segmentKey(item.index) : pairKey(item.round, item.index)

export class ProverAgent {
  readonly settings: ProverSettings
  private readonly jobs = new Map<string, AgentJob>()
  private busy = 0
  private stats = { proved: 0, joined: 0, accepted: 0, rejected: 0, claimsRefused: 0 }

  constructor(settings: ProverSettings) {
    this.settings = settings
  }

  get freeSlots(): number {
    return this.settings.maxConcurrentSegments - this.busy
  }

  get statistics(): AgentStats {
    return { ...this.stats }
  }

  jobState(jobId: string): AgentJob['state'] | undefined {
    return this.jobs.get(jobId)?.state
  }

  /** A need was gossiped. Answer once per job, and only within this prover's settings. */
  need(client: string, need: NeedTerms, now: number): AgentCommand[] {
    if (this.jobs.has(need.jobId)) return []
    const active = [...this.jobs.values()].filter((j) => j.state !== 'finished').length
    const decision = decideOffer(this.settings, need, active, now)
    if ('refuse' in decision) {
      return [
        { type: 'log', level: 'info', jobId: need.jobId, message: `no offer: ${decision.refuse}` },
      ]
    }
    this.jobs.set(need.jobId, {
      jobId: need.jobId,
      client,
      need,
      state: 'offered',
      active: new Set(),
      attempts: new Map(),
      delivered: new Set(),
      lastBitfieldAt: now,
      refusedSince: new Set(),
      timers: new Map(),
    })
    return [{ type: 'send-offer', jobId: need.jobId, client, offer: decision.offer }]
  }

  /**
   * After a restart: a deal this prover made before (from its job store) is live again, so it
   * takes part in the job's bit fields without offering anew.
   */
  restoreDeal(client: string, need: NeedTerms, now: number): void {
    if (this.jobs.has(need.jobId) || now >= need.deadline) return
    this.jobs.set(need.jobId, {
      jobId: need.jobId,
      client,
      need,
      state: 'dealt',
      active: new Set(),
      attempts: new Map(),
      delivered: new Set(),
      lastBitfieldAt: now,
      refusedSince: new Set(),
      timers: new Map(),
    })
  }

  /**
   * After a restart: a receipt was stored but the client never acknowledged its notice. The
   * segment takes a slot again and the notice is sent again.
   */
  resumeDelivery(jobId: string, index: number, receiptCid: string): AgentCommand[] {
    const job = this.jobs.get(jobId)
    if (job === undefined || job.active.has(segmentKey(index))) return []
    job.active.add(segmentKey(index))
    this.busy += 1
    return this.notice(job, index, receiptCid)
  }

  /** The client's answer to our offer. A decline frees the job slot for other needs. */
  offerAnswered(jobId: string, dealt: boolean, now: number): void {
    const job = this.jobs.get(jobId)
    if (job === undefined) return
    if (dealt) {
      job.state = 'dealt'
      job.lastBitfieldAt = now
    } else this.jobs.delete(jobId)
  }

  /**
   * The client's bit field of wanted segments (only the job's client is believed: the adapter
   * checks the signature and the sender). Picks uniformly at random among wanted segments this
   * prover is not already on, as many as it has free slots.
   */
  bitfield(
    from: string,
    jobId: string,
    wanted: WantedField,
    now: number,
    random: () => number,
  ): AgentCommand[] {
    const job = this.dealt(from, jobId, now)
    if (job === undefined) return []
    job.lastWanted = wanted
    job.refusedSince.clear()
    if (wanted.indexes.length === 0) {
      if (job.active.size === 0) job.state = 'finished'
      return []
    }
    return this.pick(job, wanted, segmentKey, random, true).map((index) => ({
      type: 'send-claim',
      jobId,
      client: job.client,
      index,
    }))
  }

  /**
   * A slot came free (a proof answered, a claim refused, a proof failed): pick again from the
   * latest bit field rather than idle until the next one. Segments refused since that bit field
   * are skipped, so a stale bit field costs at most one refused claim per segment.
   */
  refill(jobId: string, random: () => number): AgentCommand[] {
    const job = this.jobs.get(jobId)
    if (job === undefined || job.state !== 'dealt' || job.lastWanted === undefined) return []
    const wanted = {
      ...job.lastWanted,
      indexes: job.lastWanted.indexes.filter((i) => !job.refusedSince.has(segmentKey(i))),
    }
    // Not fresh: it may predate our own deliveries, so it cannot say that one failed.
    return this.pick(job, wanted, segmentKey, random, false).map((index) => ({
      type: 'send-claim',
      jobId,
      client: job.client,
      index,
    }))
  }

  /**
   * One round of the JOIN stage's bit fields: picks at random among wanted pairs, like `bitfield`.
   * An empty round does not end the job: other rounds may still want work.
   */
  joinBitfield(
    from: string,
    jobId: string,
    round: number,
    wanted: WantedField,
    now: number,
    random: () => number,
  ): AgentCommand[] {
    const job = this.dealt(from, jobId, now)
    if (job === undefined) return []
    return this.pick(job, wanted, (i) => pairKey(round, i), random, true).map((index) => ({
      type: 'send-join-claim',
      jobId,
      client: job.client,
      round,
      index,
    }))
  }

  /**
   * The client's answer to a claim. With `renew` (the grant's TTL and the time), the agent renews
   * the claim while the work goes on (`tick` says when); without, nobody renews it.
   */
  claimAnswered(
    jobId: string,
    index: number,
    granted: boolean,
    renew?: { ttlMs: number; now: number },
  ): AgentCommand[] {
    const job = this.holding(jobId, segmentKey(index))
    if (job === undefined) return []
    if (granted) {
      this.attempted(job, segmentKey(index))
      if (renew !== undefined) this.scheduleRenewal(job, segmentKey(index), renew)
      return [{ type: 'prove', jobId, index }]
    }
    this.refused(job, segmentKey(index))
    return []
  }

  /** The client's answer to a join claim; a grant names the two receipts to join. */
  joinClaimAnswered(
    jobId: string,
    round: number,
    index: number,
    grant: { left: string; right: string } | undefined,
    renew?: { ttlMs: number; now: number },
  ): AgentCommand[] {
    const job = this.holding(jobId, pairKey(round, index))
    if (job === undefined) return []
    if (grant !== undefined) {
      this.attempted(job, pairKey(round, index))
      if (renew !== undefined) this.scheduleRenewal(job, pairKey(round, index), renew)
      return [{ type: 'join', jobId, round, index, ...grant }]
    }
    this.refused(job, pairKey(round, index))
    return []
  }

  proved(jobId: string, index: number, receiptCid: string): AgentCommand[] {
    const job = this.holding(jobId, segmentKey(index))
    if (job === undefined) return []
    this.stats.proved += 1
    return this.notice(job, index, receiptCid)
  }

  /**
   * The answer to a `renew-claim`. A refusal (someone else's receipt was credited, the job
   * ended) abandons the item: the adapter stops the work and reports it failed.
   */
  renewalAnswered(jobId: string, item: ItemRef, granted: boolean): AgentCommand[] {
    const key = keyOf(item)
    const job = this.holding(jobId, key)
    const timers = job?.timers.get(key)
    if (job === undefined || timers?.renewAt === undefined || granted) return []
    delete timers.renewAt
    delete timers.renewEveryMs
    return [{ type: 'abandon', jobId, item, reason: `${describeItem(item)} no longer wanted` }]
  }

  /**
   * A notice could not be delivered (the client unreachable: restarting, moving address). The
   * receipt is safe in storage, so the notice is sent again with backoff (`tick` says when),
   * `PROOF_NOTICE_ATTEMPTS` times in all; then the item is given up like a refused one.
   */
  noticeFailed(jobId: string, index: number, reason: string, now: number): AgentCommand[] {
    const key = segmentKey(index)
    const job = this.holding(jobId, key)
    const notice = job?.timers.get(key)?.notice
    if (job === undefined || notice === undefined) return []
    if (notice.sent < PROOF_NOTICE_ATTEMPTS) {
      notice.retryAt = now + noticeBackoffMs(notice.sent)
      return [
        {
          type: 'log',
          level: 'info',
          jobId,
          message: `proof notice ${notice.sent} for segment ${index} failed (${reason}); retrying`,
        },
      ]
    }
    return this.proofAnswered(jobId, index, false, `notice undeliverable: ${reason}`)
  }

  /** The earliest time `tick` has something to do (renewal, retry, keep-alive, deadline). */
  nextWakeAt(): number | undefined {
    let next: number | undefined
    const consider = (at: number | undefined): void => {
      if (at !== undefined && (next === undefined || at < next)) next = at
    }
    for (const job of this.jobs.values()) {
      if (job.state === 'finished') continue
      consider(job.need.deadline)
      // Never checked yet: due at once.
      consider(job.lastKeepAliveAt === undefined ? 0 : job.lastKeepAliveAt + KEEP_ALIVE_MS)
      if (job.state === 'dealt' && job.active.size === 0) consider(job.lastBitfieldAt + IDLE_JOB_MS)
      for (const timers of job.timers.values()) {
        consider(timers.renewAt)
        consider(timers.notice?.retryAt)
      }
    }
    return next
  }

  joined(jobId: string, round: number, index: number, receiptCid: string): AgentCommand[] {
    const job = this.holding(jobId, pairKey(round, index))
    if (job === undefined) return []
    this.stats.joined += 1
    job.timers.delete(pairKey(round, index))
    return [{ type: 'send-join-proof', jobId, client: job.client, round, index, receiptCid }]
  }

  proveFailed(jobId: string, index: number, reason: string): AgentCommand[] {
    return this.failed(jobId, segmentKey(index), `segment ${index} failed: ${reason}`)
  }

  joinFailed(jobId: string, round: number, index: number, reason: string): AgentCommand[] {
    return this.failed(jobId, pairKey(round, index), `join ${round}/${index} failed: ${reason}`)
  }

  /** The client's reply to our proof notice; either way the slot is free again. */
  proofAnswered(jobId: string, index: number, accepted: boolean, reason?: string): AgentCommand[] {
    return this.answered(jobId, segmentKey(index), `segment ${index}`, accepted, reason)
  }

  /** The client's reply to our join notice; either way the slot is free again. */
  joinAnswered(
    jobId: string,
    round: number,
    index: number,
    accepted: boolean,
    reason?: string,
  ): AgentCommand[] {
    return this.answered(jobId, pairKey(round, index), `join ${round}/${index}`, accepted, reason)
  }

  /**
   * The job's client cancelled it: every item held is released and the job never comes back.
   * Only its client may; returns whether the job was ours to drop.
   */
  cancel(from: string, jobId: string): boolean {
    const job = this.jobs.get(jobId)
    if (job === undefined || job.client !== from) return false
    for (const key of job.active) this.release(job, key)
    job.state = 'finished'
    job.cancelled = true
    return true
  }

  /**
   * Jobs whose client went silent past the deadline are dropped, freeing their slots. A dealt job
   * with nothing in hand whose client has sent no bit field for `IDLE_JOB_MS` frees its slot too:
   * a client stops sending bit fields when its job ends (done, failed), and says nothing else. A
   * later bit field brings the job back while its deadline is ahead (see `dealt`).
   */
  tick(now: number): AgentCommand[] {
    const commands: AgentCommand[] = []
    for (const job of this.jobs.values()) {
      if (
        job.state === 'dealt' &&
        job.active.size === 0 &&
        now - job.lastBitfieldAt >= IDLE_JOB_MS &&
        now < job.need.deadline
      ) {
        job.state = 'finished'
        commands.push({
          type: 'log',
          level: 'info',
          jobId: job.jobId,
          message: `no bit field from the client for ${IDLE_JOB_MS / 1000} s and nothing in hand: job slot freed`,
        })
        continue
      }
      if (job.state !== 'finished' && now >= job.need.deadline) {
        for (const key of job.active) this.release(job, key)
        job.state = 'finished'
        commands.push({
          type: 'log',
          level: 'info',
          jobId: job.jobId,
          message: 'job deadline passed',
        })
        continue
      }
      if (job.state === 'finished') continue
      if (now - (job.lastKeepAliveAt ?? -Infinity) >= KEEP_ALIVE_MS) {
        job.lastKeepAliveAt = now
        commands.push({ type: 'keep-connected', jobId: job.jobId, client: job.client })
      }
      for (const [key, timers] of job.timers) {
        if (timers.renewAt !== undefined && timers.renewAt <= now) {
          timers.renewAt = now + timers.renewEveryMs!
          commands.push({
            type: 'renew-claim',
            jobId: job.jobId,
            client: job.client,
            item: itemOf(key),
          })
        }
        const notice = timers.notice
        if (notice?.retryAt !== undefined && notice.retryAt <= now) {
          delete notice.retryAt
          notice.sent += 1
          const index = itemOf(key).index
          commands.push({
            type: 'send-proof',
            jobId: job.jobId,
            client: job.client,
            index,
            receiptCid: notice.receiptCid,
          })
        }
      }
    }
    return commands
  }

  /** The job if `from` is its client and we hold a deal for it. */
  private dealt(from: string, jobId: string, now: number): AgentJob | undefined {
    const job = this.jobs.get(jobId)
    if (job === undefined || job.client !== from) return undefined
    // An empty bit field finished the job here, but with the endgame off an empty one only means
    // "all claimed": when work is wanted again (a claim lapsed, a JOIN round opened), come back
    // while the deadline is ahead and a job slot is free.
    if (
      job.state === 'finished' &&
      job.cancelled !== true &&
      now < job.need.deadline &&
      this.hasJobSlot()
    ) {
      job.state = 'dealt'
    }
    if (job.state !== 'dealt') return undefined
    job.lastBitfieldAt = now
    return job
  }

  private hasJobSlot(): boolean {
    let active = 0
    for (const job of this.jobs.values()) if (job.state !== 'finished') active += 1
    return active < this.settings.maxConcurrentJobs
  }

  /**
   * Random wanted items, one per free slot, among those this prover is not on, has attempts left
   * for, and has not delivered (unless a `fresh` bit field outside the endgame wants one again).
   */
  private pick(
    job: AgentJob,
    wanted: WantedField,
    key: (index: number) => string,
    random: () => number,
    fresh: boolean,
  ): number[] {
    if (fresh && !wanted.endgame) for (const i of wanted.indexes) job.delivered.delete(key(i))
    if (this.busy >= this.settings.maxConcurrentSegments) return []
    const candidates = wanted.indexes.filter((i) => {
      const k = key(i)
      return (
        !job.active.has(k) && !job.delivered.has(k) && (job.attempts.get(k) ?? 0) < MAX_ATTEMPTS
      )
    })
    const picked: number[] = []
    while (this.busy < this.settings.maxConcurrentSegments && candidates.length > 0) {
      const at = Math.min(candidates.length - 1, Math.floor(random() * candidates.length))
      const index = candidates.splice(at, 1)[0]!
      job.active.add(key(index))
      this.busy += 1
      picked.push(index)
    }
    return picked
  }

  /** The job if this prover is on item `key` in it. */
  private holding(jobId: string, key: string): AgentJob | undefined {
    const job = this.jobs.get(jobId)
    return job !== undefined && job.active.has(key) ? job : undefined
  }

  private refused(job: AgentJob, key: string): void {
    this.stats.claimsRefused += 1
    job.refusedSince.add(key)
    this.release(job, key)
  }

  private attempted(job: AgentJob, key: string): void {
    job.attempts.set(key, (job.attempts.get(key) ?? 0) + 1)
  }

  private failed(jobId: string, key: string, message: string): AgentCommand[] {
    const job = this.holding(jobId, key)
    if (job === undefined) return []
    this.release(job, key)
    return [{ type: 'log', level: 'warn', jobId, message }]
  }

  private answered(
    jobId: string,
    key: string,
    what: string,
    accepted: boolean,
    reason: string | undefined,
  ): AgentCommand[] {
    const job = this.holding(jobId, key)
    if (job === undefined) return []
    if (accepted) this.stats.accepted += 1
    else this.stats.rejected += 1
    this.release(job, key)
    job.delivered.add(key)
    if (accepted) return []
    return [{ type: 'log', level: 'warn', jobId, message: `${what} refused: ${reason ?? '?'}` }]
  }

  private release(job: AgentJob, key: string): void {
    job.timers.delete(key)
    if (job.active.delete(key)) this.busy -= 1
  }

  private scheduleRenewal(job: AgentJob, key: string, renew: { ttlMs: number; now: number }): void {
    const every = renewEveryMs(renew.ttlMs)
    job.timers.set(key, { renewEveryMs: every, renewAt: renew.now + every })
  }

  /** The work on the item is done: stop renewing its claim and send its first notice. */
  private notice(job: AgentJob, index: number, receiptCid: string): AgentCommand[] {
    job.timers.set(segmentKey(index), { notice: { receiptCid, sent: 1 } })
    return [{ type: 'send-proof', jobId: job.jobId, client: job.client, index, receiptCid }]
  }
}

/** The item a timer key names (see `segmentKey`, `pairKey`). */
function itemOf(key: string): ItemRef {
  const pair = /^j(\d+)\/(\d+)$/.exec(key)
  return pair === null ? SEGMENT_ITEM(Number(key)) : PAIR_ITEM(Number(pair[1]), Number(pair[2]))
}

function describeItem(item: ItemRef): string {
  return item.stage === 'prove' ? `segment ${item.index}` : `join ${item.round}/${item.index}`
}
