// The client's PROVE stage as a sans-IO state machine: which segments are open, claimed, being
// verified or proved, who delivered what, and who has lied. Time comes in as `now`; nothing here
// touches a socket, a file or a timer, so the network, the simulator and the tests drive the same code.
// The per-item rules (claims, TTL, endgame, verification, strikes) live in work-ledger.ts.

import {
  WorkLedger,
  restoredSlot,
  type WorkRules,
  type WorkSlot,
  type WorkStatus,
} from './work-ledger.ts'

export type SegmentStatus = WorkStatus
export type SegmentSlot = WorkSlot

export interface ProveStageOptions extends WorkRules {
  readonly total: number
}

/** Why a claim or a delivery was refused, in words a prover's log can show. */
export type Refusal =
  | 'no-such-segment'
  | 'banned'
  | 'already-proved'
  | 'claimed-by-another'
  | 'duplicate-delivery'
  | 'copied-receipt'

export type ProveCommand =
  /**
   * `prover` delivered the receipt `original` delivered first: recorded against it, never paid,
   * and not verified again (the first delivery's verification decides).
   */
  | {
      readonly type: 'copied'
      readonly index: number
      readonly prover: string
      readonly original: string
      readonly receiptCid: string
    }
  /** Check the receipt: it must verify and its claim must equal the expected claim of `index`. */
  | {
      readonly type: 'verify-segment'
      readonly index: number
      readonly prover: string
      readonly receiptCid: string
    }
  /** The first valid delivery of a segment: pay `prover` for it. */
  | {
      readonly type: 'credit'
      readonly index: number
      readonly prover: string
      readonly receiptCid: string
    }
  | {
      readonly type: 'strike'
      readonly index: number
      readonly prover: string
      readonly reason: string
    }
  | { readonly type: 'ban'; readonly prover: string; readonly strikes: number }
  | {
      readonly type: 'reopen'
      readonly index: number
      readonly reason: 'claim-expired' | 'rejected'
    }
  | { readonly type: 'all-proved' }

export interface ProveStageSnapshot {
  readonly slots: readonly SegmentSlot[]
  readonly strikes: Readonly<Record<string, number>>
}

export class ProveStage {
  readonly total: number
  private readonly ledger: WorkLedger
  private readonly slots: SegmentSlot[]
  private provedCount = 0

  constructor(options: ProveStageOptions, snapshot?: ProveStageSnapshot) {
    if (!Number.isInteger(options.total) || options.total < 1) {
      throw new RangeError(`a job needs at least one segment, got ${options.total}`)
    }
    this.total = options.total
    this.ledger = new WorkLedger(options, snapshot?.strikes)
    // Verification in flight is not persisted: after a restart those segments are simply open again.
    this.slots = Array.from({ length: options.total }, (_, i) => restoredSlot(snapshot?.slots[i]))
    this.provedCount = this.slots.filter((s) => s.status === 'proved').length
  }

  get proved(): number {
    return this.provedCount
  }

  get done(): boolean {
    return this.provedCount === this.total
  }

  isBanned(prover: string): boolean {
    return this.ledger.isBanned(prover)
  }

  strikesOf(prover: string): number {
    return this.ledger.strikesOf(prover)
  }

  slot(index: number): Readonly<SegmentSlot> | undefined {
    return this.slots[index]
  }

  /**
   * No segment is open, yet some are unproved: claimed segments are offered to everyone again.
   * Always false when the endgame rule is switched off.
   */
  get endgame(): boolean {
    return this.ledger.endgameAllowed && !this.done && this.slots.every((s) => s.status !== 'open')
  }

  /**
   * A prover announces it starts on `index` (or renews its claim). Granted when the segment is
   * open, or in the endgame when it is merely claimed: near the end, a second prover on a slow
   * segment beats waiting.
   */
  claim(
    prover: string,
    index: number,
    now: number,
  ): { granted: true; ttlMs: number; renewal: boolean } | { granted: false; reason: Refusal } {
    const slot = this.slots[index]
    if (slot === undefined) return { granted: false, reason: 'no-such-segment' }
    return this.ledger.claim(slot, prover, now, () => this.endgame)
  }

  /**
   * A prover says its receipt for `index` is stored under `receiptCid`. Nothing is credited yet:
   * the receipt goes to verification, and the first delivery of a receipt that verifies is
   * credited. The same CID from a second prover is a copy (`copied`), not verified again.
   */
  deliver(
    prover: string,
    index: number,
    receiptCid: string,
  ): { queued: boolean; reason?: Refusal; commands: ProveCommand[] } {
    const slot = this.slots[index]
    if (slot === undefined) return { queued: false, reason: 'no-such-segment', commands: [] }
    const result = this.ledger.deliver(slot, index, prover, receiptCid)
    if (!result.queued) {
      const { reason, original } = result
      const commands: ProveCommand[] =
        original !== undefined ? [{ type: 'copied', index, prover, original, receiptCid }] : []
      return { queued: false, reason, commands }
    }
    return { queued: true, commands: [{ type: 'verify-segment', index, prover, receiptCid }] }
  }

  /** The answer to a `verify-segment` command. */
  verified(
    prover: string,
    index: number,
    receiptCid: string,
    outcome: { ok: true } | { ok: false; reason: string },
  ): ProveCommand[] {
    const slot = this.slots[index]
    if (slot === undefined) return []
    if (outcome.ok) {
      if (this.ledger.accepted(slot, index, prover, receiptCid) === undefined) return []
      this.provedCount += 1
      const credit: ProveCommand = { type: 'credit', index, prover, receiptCid }
      return this.done ? [credit, { type: 'all-proved' }] : [credit]
    }
    const { strikes, banned, reopened } = this.ledger.rejected(slot, index, prover, receiptCid)
    const commands: ProveCommand[] = [{ type: 'strike', index, prover, reason: outcome.reason }]
    if (banned) commands.push({ type: 'ban', prover, strikes })
    if (reopened) commands.push({ type: 'reopen', index, reason: 'rejected' })
    return commands
  }

  /** Claims past their deadline re-open, so a prover that vanished costs a TTL, not the job. */
  tick(now: number): ProveCommand[] {
    const commands: ProveCommand[] = []
    this.slots.forEach((slot, index) => {
      if (this.ledger.expire(slot, now))
        commands.push({ type: 'reopen', index, reason: 'claim-expired' })
    })
    return commands
  }

  /**
   * The bit field to gossip: open segments, or in the endgame every unproved one. Bit i set means
   * segment i wants a prover.
   */
  wanted(): { readonly indexes: number[]; readonly endgame: boolean } {
    const endgame = this.endgame
    const indexes: number[] = []
    this.slots.forEach((slot, i) => {
      if (slot.status === 'open' || (endgame && slot.status === 'claimed')) indexes.push(i)
    })
    return { indexes, endgame }
  }

  /** Receipts in segment order, once every segment is proved. */
  receipts(): string[] {
    if (!this.done) throw new Error(`only ${this.provedCount}/${this.total} segments are proved`)
    return this.slots.map((s) => s.receiptCid!)
  }

  /** Who proved how many segments: the basis of payment. */
  credits(): Map<string, number> {
    const credits = new Map<string, number>()
    for (const slot of this.slots) {
      if (slot.provedBy !== undefined)
        credits.set(slot.provedBy, (credits.get(slot.provedBy) ?? 0) + 1)
    }
    return credits
  }

  snapshot(): ProveStageSnapshot {
    return {
      slots: this.slots.map((s) => ({ ...s })),
      strikes: this.ledger.strikesSnapshot(),
    }
  }
}
