// One job's JOIN phase seen from its client, as a sans-IO state machine: it takes the PROVE
// stage's lifted receipts, gossips one bit field per open round, answers claims and join notices
// from dealt provers, and hands verification to the adapter, until one receipt remains. It runs
// after ClientJob's PROVE stage (the simulator drives both); the network adapters do not drive it
// yet, because no worker here has the recursion circuit.

import {
  JoinStage,
  type JoinCommand,
  type JoinStageOptions,
  type JoinStageSnapshot,
} from './join-stage.ts'

export interface ClientJoinConfig {
  /** The bit fields of open pairs are gossiped at this interval (ms). */
  readonly bitfieldIntervalMs: number
  /**
   * When pairs open or re-open between intervals, bit fields go out at once, but not more often
   * than this (ms): a burst of finished joins becomes one gossip round, not one per join.
   */
  readonly bitfieldGapMs: number
}

export type ClientJoinCommand =
  | JoinCommand
  | {
      readonly type: 'publish-join-bitfield'
      readonly round: number
      readonly total: number
      readonly indexes: readonly number[]
      readonly endgame: boolean
    }

export type JoinClaimReply =
  | { granted: true; ttlMs: number; renewal: boolean; left: string; right: string }
  | { granted: false; reason: string }
export type JoinProofReply = { accepted: true } | { accepted: false; reason: string }

export class ClientJoin {
  readonly stage: JoinStage
  private readonly config: ClientJoinConfig
  private readonly hasDeal: (prover: string) => boolean
  private lastBitfieldAt = -Infinity
  /** Something opened since the last bit field: send the next one as soon as the gap allows. */
  private stale = false

  constructor(
    config: ClientJoinConfig,
    stage: JoinStageOptions,
    hasDeal: (prover: string) => boolean,
    snapshot?: JoinStageSnapshot,
  ) {
    this.config = config
    this.stage = new JoinStage(stage, snapshot)
    this.hasDeal = hasDeal
  }

  get done(): boolean {
    return this.stage.done
  }

  /** The first bit fields, or at once the result when there was only one receipt to begin with. */
  start(now: number): ClientJoinCommand[] {
    if (this.stage.done) return [{ type: 'all-joined', ...this.stage.result() }]
    return this.bitfields(now)
  }

  /** Claim expiry and bit field gossip. */
  tick(now: number): ClientJoinCommand[] {
    if (this.stage.done) return []
    const commands: ClientJoinCommand[] = this.stage.tick(now)
    return [...commands, ...this.gossip(commands, now)]
  }

  /** A claim; a grant names the two receipts to fetch (sent only to the claimant). */
  claim(prover: string, round: number, index: number, now: number): JoinClaimReply {
    if (!this.hasDeal(prover)) return { granted: false, reason: 'no deal with this prover' }
    if (this.stage.done) return { granted: false, reason: 'the join is done' }
    const result = this.stage.claim(prover, round, index, now)
    if (!result.granted) return result
    return {
      granted: true,
      ttlMs: result.ttlMs,
      renewal: result.renewal,
      left: result.left.receiptCid,
      right: result.right.receiptCid,
    }
  }

  /** A join-ready notice. Accepted means "queued for verification", not "credited". */
  proof(
    prover: string,
    round: number,
    index: number,
    receiptCid: string,
  ): { reply: JoinProofReply; commands: ClientJoinCommand[] } {
    const refuse = (reason: string) => ({
      reply: { accepted: false, reason } as const,
      commands: [],
    })
    if (!this.hasDeal(prover)) return refuse('no deal with this prover')
    if (this.stage.done) return refuse('the join is done')
    const result = this.stage.deliver(prover, round, index, receiptCid)
    if (!result.queued) return refuse(result.reason)
    return { reply: { accepted: true }, commands: result.commands }
  }

  /** The answer to a `verify-join` command. */
  joinVerified(
    prover: string,
    round: number,
    index: number,
    receiptCid: string,
    outcome: { ok: true } | { ok: false; reason: string },
    now: number,
  ): ClientJoinCommand[] {
    const commands: ClientJoinCommand[] = this.stage.verified(
      prover,
      round,
      index,
      receiptCid,
      outcome,
    )
    if (this.stage.done) return commands
    return [...commands, ...this.gossip(commands, now)]
  }

  /** Bit fields now if the interval is up, or if pairs opened and the gap since the last allows. */
  private gossip(events: readonly ClientJoinCommand[], now: number): ClientJoinCommand[] {
    if (events.some((c) => c.type === 'join-open' || c.type === 'join-reopen')) this.stale = true
    const since = now - this.lastBitfieldAt
    const due =
      since >= this.config.bitfieldIntervalMs || (this.stale && since >= this.config.bitfieldGapMs)
    return due ? this.bitfields(now) : []
  }

  private bitfields(now: number): ClientJoinCommand[] {
    this.lastBitfieldAt = now
    this.stale = false
    return this.stage.wanted().map((w) => ({ type: 'publish-join-bitfield' as const, ...w }))
  }
}
