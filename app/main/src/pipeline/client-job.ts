// One job seen from its client, as a sans-IO state machine: need → offers → deals → PROVE stage →
// assemble → verify. Every method takes `now` and returns the commands the adapter must carry out
// (gossip, replies, verification, assembly); the adapter feeds the outcomes back as events.

import {
  selectOffers,
  offerMeetsNeed,
  type NeedTerms,
  type OfferTerms,
  type PendingOffer,
  type SelectionPolicy,
} from './market.ts'
import {
  ProveStage,
  type ProveCommand,
  type ProveStageSnapshot,
  type Refusal,
} from './prove-stage.ts'

export interface ClientJobConfig {
  readonly need: NeedTerms
  readonly policy: SelectionPolicy
  /** Offers are collected this long after the first need before the client chooses (ms). */
  readonly offerWindowMs: number
  /** The need is gossiped again at this interval while more provers are welcome (ms). */
  readonly needIntervalMs: number
  /** The bit field of open segments is gossiped at this interval (ms). */
  readonly bitfieldIntervalMs: number
  readonly claimTtlMs: number
  readonly maxStrikes: number
  /** The PROVE stage's endgame rule (default on); off only to measure what it buys. */
  readonly endgame?: boolean
}

export type ClientPhase =
  'negotiating' | 'proving' | 'assembling' | 'verifying' | 'done' | 'failed' | 'cancelled'

export type ClientCommand =
  | { readonly type: 'publish-need' }
  | {
      readonly type: 'answer-offer'
      readonly offerId: string
      readonly prover: string
      readonly deal: boolean
      readonly reason?: string
      readonly pricePerSegment?: bigint
    }
  | {
      readonly type: 'publish-bitfield'
      readonly round: number
      readonly indexes: readonly number[]
      readonly endgame: boolean
    }
  | ProveCommand
  | { readonly type: 'assemble'; readonly receipts: readonly string[] }
  | { readonly type: 'verify-final' }
  | { readonly type: 'phase'; readonly phase: ClientPhase; readonly reason?: string }

export type ClaimReply =
  { granted: true; ttlMs: number; renewal: boolean } | { granted: false; reason: string }
export type ProofReply = { accepted: true } | { accepted: false; reason: string }

export interface ClientJobSnapshot {
  readonly phase: ClientPhase
  readonly deals: Readonly<Record<string, string>>
  readonly stage: ProveStageSnapshot
}

export class ClientJob {
  readonly config: ClientJobConfig
  readonly stage: ProveStage
  private phaseNow: ClientPhase
  /** Dealt provers and their price (decimal wei). */
  private readonly deals = new Map<string, bigint>()
  private readonly pendingOffers: PendingOffer[] = []
  private startedAt: number | undefined
  private windowClosed = false
  private lastNeedAt = -Infinity
  private lastBitfieldAt = -Infinity
  private round = 0

  constructor(config: ClientJobConfig, snapshot?: ClientJobSnapshot) {
    this.config = config
    this.stage = new ProveStage(
      {
        total: config.need.segments,
        claimTtlMs: config.claimTtlMs,
        maxStrikes: config.maxStrikes,
        endgame: config.endgame,
      },
      snapshot?.stage,
    )
    this.phaseNow = snapshot?.phase ?? 'negotiating'
    for (const [prover, price] of Object.entries(snapshot?.deals ?? {})) {
      this.deals.set(prover, BigInt(price))
    }
    // A resumed job re-runs the step it was in: assembly and verification are repeatable.
    if (this.phaseNow === 'assembling' || this.phaseNow === 'verifying') this.phaseNow = 'proving'
  }

  get phase(): ClientPhase {
    return this.phaseNow
  }

  get dealtProvers(): string[] {
    return [...this.deals.keys()]
  }

  /** The price per segment of `prover`'s deal, if it has one. */
  dealPrice(prover: string): bigint | undefined {
    return this.deals.get(prover)
  }

  hasDeal(prover: string): boolean {
    return this.deals.has(prover)
  }

  start(now: number): ClientCommand[] {
    this.startedAt = now
    return this.tick(now)
  }

  /** Drives every timed behaviour: need and bit field gossip, offer window, claim expiry, deadline. */
  tick(now: number): ClientCommand[] {
    const commands: ClientCommand[] = []
    if (this.ended) return commands
    if (now >= this.config.need.deadline) {
      return this.fail(
        `deadline passed with ${this.stage.proved}/${this.stage.total} segments proved`,
      )
    }
    this.startedAt ??= now
    if (
      !this.windowClosed &&
      this.phaseNow === 'negotiating' &&
      now - this.startedAt >= this.config.offerWindowMs
    ) {
      this.windowClosed = true
      commands.push(...this.choose(now))
    }
    if (this.wantsProvers() && now - this.lastNeedAt >= this.config.needIntervalMs) {
      this.lastNeedAt = now
      commands.push({ type: 'publish-need' })
    }
    if (this.phaseNow === 'proving') {
      commands.push(...this.stage.tick(now))
      if (now - this.lastBitfieldAt >= this.config.bitfieldIntervalMs) {
        commands.push(this.bitfield(now))
      }
    }
    return commands
  }

  /**
   * An offer arrived on a direct stream that waits for our answer. During the offer window it is
   * held and answered when the window closes; afterwards it is answered at once.
   */
  offer(offerId: string, prover: string, terms: OfferTerms, now: number): ClientCommand[] {
    if (this.ended) {
      return [this.decline(offerId, prover, `job is ${this.phaseNow}`)]
    }
    if (this.deals.has(prover)) {
      return [this.answer(offerId, prover, this.deals.get(prover)!)]
    }
    if (this.stage.isBanned(prover)) return [this.decline(offerId, prover, 'banned from this job')]
    const pending: PendingOffer = { id: offerId, prover, terms, receivedAt: now }
    if (!this.windowClosed) {
      const verdict = offerMeetsNeed(this.config.need, terms)
      if (!verdict.accept) return [this.decline(offerId, prover, verdict.reason)]
      // A prover offers again only when its first offer's stream broke: that one is answered
      // (into the void) and the new one takes its place, so the deal goes where it is heard.
      const superseded = this.pendingOffers.findIndex((o) => o.prover === prover)
      const commands: ClientCommand[] = []
      if (superseded >= 0) {
        const [old] = this.pendingOffers.splice(superseded, 1)
        commands.push(this.decline(old!.id, prover, 'superseded by a newer offer'))
      }
      this.pendingOffers.push(pending)
      return commands
    }
    return this.settle([pending], now)
  }

  claim(prover: string, index: number, now: number): ClaimReply {
    if (this.phaseNow !== 'proving') return { granted: false, reason: `job is ${this.phaseNow}` }
    if (!this.deals.has(prover)) return { granted: false, reason: 'no deal with this prover' }
    const result = this.stage.claim(prover, index, now)
    return result.granted ? result : { granted: false, reason: result.reason }
  }

  /** A proof-ready notice. Accepted means "queued for verification", not "credited". */
  proof(
    prover: string,
    index: number,
    receiptCid: string,
  ): { reply: ProofReply; commands: ClientCommand[] } {
    if (this.phaseNow !== 'proving') {
      return { reply: { accepted: false, reason: `job is ${this.phaseNow}` }, commands: [] }
    }
    if (!this.deals.has(prover)) {
      return { reply: { accepted: false, reason: 'no deal with this prover' }, commands: [] }
    }
    const result = this.stage.deliver(prover, index, receiptCid)
    if (!result.queued) {
      return {
        reply: { accepted: false, reason: result.reason ?? 'refused' },
        commands: result.commands,
      }
    }
    return { reply: { accepted: true }, commands: result.commands }
  }

  segmentVerified(
    prover: string,
    index: number,
    receiptCid: string,
    outcome: { ok: true } | { ok: false; reason: string },
    now: number,
  ): ClientCommand[] {
    const commands: ClientCommand[] = this.stage.verified(prover, index, receiptCid, outcome)
    if (commands.some((c) => c.type === 'all-proved') && this.phaseNow === 'proving') {
      // A last bit field, with nothing wanted: provers free the job's slot now, instead of
      // waiting out their idle timeout for a bit field that no longer comes. Not before a JOIN
      // stage: its provers are the same and must keep their slot for it.
      if (!this.config.need.requirements.recursion) commands.push(this.bitfield(now))
      commands.push(...this.setPhase('assembling'))
      commands.push({ type: 'assemble', receipts: this.stage.receipts() })
    } else if (commands.some((c) => c.type === 'reopen') && this.phaseNow === 'proving') {
      // Tell provers at once rather than at the next interval: the segment is wanted again.
      commands.push(this.bitfield(now))
    }
    return commands
  }

  assembled(outcome: { ok: true } | { ok: false; reason: string }): ClientCommand[] {
    if (this.phaseNow !== 'assembling') return []
    if (!outcome.ok) return this.fail(`assembly failed: ${outcome.reason}`)
    return [...this.setPhase('verifying'), { type: 'verify-final' }]
  }

  finalVerified(outcome: { ok: true } | { ok: false; reason: string }): ClientCommand[] {
    if (this.phaseNow !== 'verifying') return []
    if (!outcome.ok) return this.fail(`the final receipt does not verify: ${outcome.reason}`)
    return this.setPhase('done')
  }

  /** The owner cancels the job: pending offers are declined and nothing more is sent. */
  cancel(reason: string): ClientCommand[] {
    if (this.ended) return []
    const declines = this.pendingOffers
      .splice(0)
      .map((o) => this.decline(o.id, o.prover, 'job cancelled'))
    return [...declines, ...this.setPhase('cancelled', reason)]
  }

  /** Done, failed or cancelled: the job takes no more commands. */
  get ended(): boolean {
    return this.phaseNow === 'done' || this.phaseNow === 'failed' || this.phaseNow === 'cancelled'
  }

  snapshot(): ClientJobSnapshot {
    return {
      phase: this.phaseNow,
      deals: Object.fromEntries([...this.deals].map(([p, price]) => [p, price.toString()])),
      stage: this.stage.snapshot(),
    }
  }

  private wantsProvers(): boolean {
    if (this.phaseNow !== 'negotiating' && this.phaseNow !== 'proving') return false
    const wanted = Math.min(this.config.policy.maxProvers, this.config.need.segments)
    return this.deals.size < wanted
  }

  private choose(now: number): ClientCommand[] {
    const offers = this.pendingOffers.splice(0)
    return this.settle(offers, now)
  }

  private settle(offers: PendingOffer[], now: number): ClientCommand[] {
    const commands: ClientCommand[] = []
    const { accepted, declined } = selectOffers(
      this.config.need,
      offers,
      this.config.policy,
      this.deals.size,
    )
    for (const offer of accepted) {
      this.deals.set(offer.prover, offer.terms.pricePerSegment)
      commands.push(this.answer(offer.id, offer.prover, offer.terms.pricePerSegment))
    }
    for (const { offer, reason } of declined)
      commands.push(this.decline(offer.id, offer.prover, reason))
    if (this.phaseNow === 'negotiating' && this.deals.size > 0) {
      commands.push(...this.setPhase('proving'))
      commands.push(this.bitfield(now))
    }
    return commands
  }

  private bitfield(now: number): ClientCommand {
    this.lastBitfieldAt = now
    const { indexes, endgame } = this.stage.wanted()
    return { type: 'publish-bitfield', round: this.round++, indexes, endgame }
  }

  private answer(offerId: string, prover: string, price: bigint): ClientCommand {
    return { type: 'answer-offer', offerId, prover, deal: true, pricePerSegment: price }
  }

  private decline(offerId: string, prover: string, reason: string): ClientCommand {
    return { type: 'answer-offer', offerId, prover, deal: false, reason }
  }

  private setPhase(phase: ClientPhase, reason?: string): ClientCommand[] {
    this.phaseNow = phase
    return [reason === undefined ? { type: 'phase', phase } : { type: 'phase', phase, reason }]
  }

  private fail(reason: string): ClientCommand[] {
    const declines = this.pendingOffers
      .splice(0)
      .map((o) => this.decline(o.id, o.prover, 'job failed'))
    return [...declines, ...this.setPhase('failed', reason)]
  }
}

export type { Refusal }
