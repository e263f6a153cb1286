// The rules every bit-field stage shares (PROVE, JOIN): claims and their TTL, renewal, the
// endgame exception, deliveries queued for verification, the first valid delivery credited,
// strikes and bans. A stage owns its work items and its command vocabulary; this ledger owns what
// happens to one item and the strikes of the whole job. No IO: time comes in as `now`.

export type WorkStatus = 'open' | 'claimed' | 'proved'

/** One work item (a segment to prove, a pair to join) as the client tracks it. */
export interface WorkSlot {
  status: WorkStatus
  /** The latest prover granted a claim and when that claim lapses (ms). */
  claimedBy?: string
  claimExpires?: number
  /** Set once a delivery verified: the receipt credited and its prover. */
  receiptCid?: string
  provedBy?: string
  /** Claims granted on this item, and receipts for it that failed verification. */
  claims: number
  rejects: number
}

export interface WorkRules {
  /** How long a claim keeps an item out of the bit field before it re-opens (ms). */
  readonly claimTtlMs: number
  /** Rejected receipts after which a prover is ignored for the rest of the job. */
  readonly maxStrikes: number
  /**
   * Near the end, when nothing is open, claimed items are offered to everyone again (default on).
   * Off: a claimed item waits for its prover or its TTL, which wastes no work but waits on
   * stragglers.
   */
  readonly endgame?: boolean
}

export type ClaimRefusal = 'banned' | 'already-proved' | 'claimed-by-another'
export type DeliveryRefusal = 'banned' | 'already-proved' | 'duplicate-delivery'

/** What a failed verification did. */
export interface Rejection {
  readonly strikes: number
  /** This rejection was the prover's last allowed one: it is banned from now on. */
  readonly banned: boolean
  /** The prover held the claim, so the item is open again. */
  readonly reopened: boolean
}

export function openSlot(): WorkSlot {
  return { status: 'open', claims: 0, rejects: 0 }
}

export class WorkLedger {
  readonly rules: WorkRules
  private readonly strikes = new Map<string, number>()
  /** Deliveries handed to verification and not yet answered, per item: `prover receiptCid`. */
  private readonly pending = new Map<string | number, Set<string>>()

  constructor(rules: WorkRules, strikes?: Readonly<Record<string, number>>) {
    this.rules = rules
    for (const [prover, n] of Object.entries(strikes ?? {})) this.strikes.set(prover, n)
  }

  /** Whether the endgame rule is switched on (the stage decides when the endgame has come). */
  get endgameAllowed(): boolean {
    return this.rules.endgame !== false
  }

  isBanned(prover: string): boolean {
    return (this.strikes.get(prover) ?? 0) >= this.rules.maxStrikes
  }

  strikesOf(prover: string): number {
    return this.strikes.get(prover) ?? 0
  }

  strikesSnapshot(): Record<string, number> {
    return Object.fromEntries(this.strikes)
  }

  /**
   * Grant a claim on an open item, on a claimed one whose claim lapsed, on the prover's own claim
   * (a renewal), or in the endgame on any unproved one. `endgame` is asked only when it matters.
   */
  claim(
    slot: WorkSlot,
    prover: string,
    now: number,
    endgame: () => boolean,
  ): { granted: true; ttlMs: number; renewal: boolean } | { granted: false; reason: ClaimRefusal } {
    if (this.isBanned(prover)) return { granted: false, reason: 'banned' }
    if (slot.status === 'proved') return { granted: false, reason: 'already-proved' }
    const expired = slot.claimExpires !== undefined && slot.claimExpires <= now
    if (slot.status === 'claimed' && !expired && !endgame() && slot.claimedBy !== prover) {
      return { granted: false, reason: 'claimed-by-another' }
    }
    // A prover renews its claim every TTL/3 while it works: that is not a new claim.
    const renewal = slot.status === 'claimed' && slot.claimedBy === prover
    slot.status = 'claimed'
    slot.claimedBy = prover
    slot.claimExpires = now + this.rules.claimTtlMs
    slot.claims += 1
    return { granted: true, ttlMs: this.rules.claimTtlMs, renewal }
  }

  /** Queue a delivery for verification; the same receipt from the same prover is queued once. */
  deliver(
    slot: WorkSlot,
    key: string | number,
    prover: string,
    receiptCid: string,
  ): { queued: true } | { queued: false; reason: DeliveryRefusal } {
    if (this.isBanned(prover)) return { queued: false, reason: 'banned' }
    if (slot.status === 'proved') return { queued: false, reason: 'already-proved' }
    const entry = `${prover} ${receiptCid}`
    const pending = this.pending.get(key) ?? new Set<string>()
    if (pending.has(entry)) return { queued: false, reason: 'duplicate-delivery' }
    pending.add(entry)
    this.pending.set(key, pending)
    return { queued: true }
  }

  /**
   * A delivery verified. The first one proves the item and is credited (true); a later one that
   * also verified is tolerated and never paid (false).
   */
  accepted(slot: WorkSlot, key: string | number, prover: string, receiptCid: string): boolean {
    this.pending.get(key)?.delete(`${prover} ${receiptCid}`)
    if (slot.status === 'proved') return false
    slot.status = 'proved'
    slot.receiptCid = receiptCid
    slot.provedBy = prover
    release(slot)
    return true
  }

  /**
   * A delivery failed verification: a strike against its prover (banned at `maxStrikes`), and the
   * item re-opens if that prover held the claim.
   */
  rejected(slot: WorkSlot, key: string | number, prover: string, receiptCid: string): Rejection {
    this.pending.get(key)?.delete(`${prover} ${receiptCid}`)
    slot.rejects += 1
    const strikes = (this.strikes.get(prover) ?? 0) + 1
    this.strikes.set(prover, strikes)
    const reopened = slot.status === 'claimed' && slot.claimedBy === prover
    if (reopened) {
      slot.status = 'open'
      release(slot)
    }
    return { strikes, banned: strikes === this.rules.maxStrikes, reopened }
  }

  /** A claim past its deadline re-opens its item: true when that happened. */
  expire(slot: WorkSlot, now: number): boolean {
    if (slot.status !== 'claimed' || (slot.claimExpires ?? 0) > now) return false
    slot.status = 'open'
    release(slot)
    return true
  }
}

/** A slot as persisted: verification in flight is not, so a claimed item restarts open. */
export function restoredSlot(saved: WorkSlot | undefined): WorkSlot {
  if (saved === undefined) return openSlot()
  const slot = { ...saved }
  if (slot.status === 'claimed') {
    slot.status = 'open'
    release(slot)
  }
  return slot
}

function release(slot: WorkSlot): void {
  delete slot.claimedBy
  delete slot.claimExpires
}
