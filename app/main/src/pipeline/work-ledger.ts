// The rules every bit-field stage shares (PROVE, JOIN): claims and their TTL, renewal, the
// endgame exception (an item held by several provers at once, each claim renewed on its own),
// deliveries queued for verification, credit to the first delivery of a receipt that verifies
// (a later sender of the same receipt is a copier, never paid), strikes and bans. A stage owns its work items and its command vocabulary; this ledger owns what
// happens to one item and the strikes of the whole job. No IO: time comes in as `now`.

export type WorkStatus = 'open' | 'claimed' | 'proved'

/** One work item (a segment to prove, a pair to join) as the client tracks it. */
export interface WorkSlot {
  status: WorkStatus
  /**
   * Who holds a claim on the item and when each claim lapses (ms), in the order they were granted.
   * One holder normally; in the endgame several provers race on one item, each on its own claim.
   */
  holders?: Record<string, number>
  /** Views of `holders` for logs and the store: the earliest holder still holding, the last expiry. */
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
export type DeliveryRefusal =
  | 'banned'
  | 'already-proved'
  | 'duplicate-delivery'
  /** The same receipt CID another prover delivered first: a copy, recorded and never paid. */
  | 'copied-receipt'

/** A delivery credited: the item is proved by `receiptCid`, and `prover` is paid for it. */
export interface Credit {
  readonly prover: string
  readonly receiptCid: string
}

/** What a failed verification did. */
export interface Rejection {
  readonly strikes: number
  /** This rejection was the prover's last allowed one: it is banned from now on. */
  readonly banned: boolean
  /** The prover held the claim, so the item is open again. */
  readonly reopened: boolean
}

/** A delivery waiting for its verification. */
interface Delivery {
  readonly prover: string
  readonly receiptCid: string
}

export function openSlot(): WorkSlot {
  return { status: 'open', claims: 0, rejects: 0 }
}

export class WorkLedger {
  readonly rules: WorkRules
  private readonly strikes = new Map<string, number>()
  /** Deliveries handed to verification and not yet answered, per item, in arrival order. */
  private readonly pending = new Map<string | number, Delivery[]>()

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
    this.expire(slot, now)
    const holders = slot.holders ?? {}
    // A prover renews its claim every TTL/3 while it works: that is not a new claim, in the
    // endgame too (two racers each renew their own claim, neither displaces the other).
    const renewal = holders[prover] !== undefined
    if (!renewal && slot.status === 'claimed' && !endgame()) {
      return { granted: false, reason: 'claimed-by-another' }
    }
    holders[prover] = now + this.rules.claimTtlMs
    slot.holders = holders
    slot.status = 'claimed'
    if (!renewal) slot.claims += 1
    view(slot)
    return { granted: true, ttlMs: this.rules.claimTtlMs, renewal }
  }

  /**
   * Queue a delivery for verification; the same receipt from the same prover is queued once. The
   * same receipt CID from a second prover is not verified again: it is a copy of the first
   * delivery, which alone can be credited, however fast either verification would finish.
   */
  deliver(
    slot: WorkSlot,
    key: string | number,
    prover: string,
    receiptCid: string,
  ): { queued: true } | { queued: false; reason: DeliveryRefusal; original?: string } {
    if (this.isBanned(prover)) return { queued: false, reason: 'banned' }
    if (slot.status === 'proved') {
      return slot.receiptCid === receiptCid && slot.provedBy !== prover
        ? { queued: false, reason: 'copied-receipt', original: slot.provedBy! }
        : { queued: false, reason: 'already-proved' }
    }
    const pending = this.pending.get(key) ?? []
    const first = pending.find((d) => d.receiptCid === receiptCid)?.prover
    if (first === prover) return { queued: false, reason: 'duplicate-delivery' }
    if (first !== undefined) return { queued: false, reason: 'copied-receipt', original: first }
    pending.push({ prover, receiptCid })
    this.pending.set(key, pending)
    return { queued: true }
  }

  /**
   * A delivery verified: the first to do so proves the item and is credited (returned); once the
   * item is proved, a later one that also verified is tolerated and never paid (undefined).
   * Between different receipts this is the first verified, not the first arrived: both are real
   * work, and waiting on an earlier delivery's verification would let a slow (or trickling)
   * prover hold the item up. Copies of one receipt never get this far: only the first sender of
   * a receipt CID is verified (see `deliver`).
   */
  accepted(
    slot: WorkSlot,
    key: string | number,
    prover: string,
    receiptCid: string,
  ): Credit | undefined {
    const known = this.forget(key, prover, receiptCid)
    if (!known || slot.status === 'proved') return undefined
    slot.status = 'proved'
    slot.receiptCid = receiptCid
    slot.provedBy = prover
    release(slot)
    this.pending.delete(key)
    return { prover, receiptCid }
  }

  /**
   * A delivery failed verification: a strike against its prover (banned at `maxStrikes`), and the
   * item re-opens if that prover held the claim.
   */
  rejected(slot: WorkSlot, key: string | number, prover: string, receiptCid: string): Rejection {
    this.forget(key, prover, receiptCid)
    slot.rejects += 1
    const strikes = (this.strikes.get(prover) ?? 0) + 1
    this.strikes.set(prover, strikes)
    const banned = strikes === this.rules.maxStrikes
    let reopened = false
    if (slot.status === 'claimed' && slot.holders?.[prover] !== undefined) {
      delete slot.holders[prover]
      // Open again only if nobody else still races on it.
      reopened = Object.keys(slot.holders).length === 0
      if (reopened) {
        slot.status = 'open'
        release(slot)
      } else {
        view(slot)
      }
    }
    return { strikes, banned, reopened }
  }

  /** Claims past their deadline lapse; when the last one lapsed the item re-opens (true). */
  expire(slot: WorkSlot, now: number): boolean {
    if (slot.status !== 'claimed') return false
    const holders = slot.holders ?? {}
    for (const [holder, expires] of Object.entries(holders)) {
      if (expires <= now) delete holders[holder]
    }
    if (Object.keys(holders).length > 0) {
      view(slot)
      return false
    }
    slot.status = 'open'
    release(slot)
    return true
  }

  /** Drops a delivery from the queue; false when it was not queued. */
  private forget(key: string | number, prover: string, receiptCid: string): boolean {
    const pending = this.pending.get(key)
    const at = pending?.findIndex((d) => d.prover === prover && d.receiptCid === receiptCid) ?? -1
    if (at < 0) return false
    pending!.splice(at, 1)
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
  delete slot.holders
  delete slot.claimedBy
  delete slot.claimExpires
}

/** Keeps `claimedBy` and `claimExpires` in step with `holders`. */
function view(slot: WorkSlot): void {
  const entries = Object.entries(slot.holders ?? {})
  if (entries.length === 0) {
    delete slot.claimedBy
    delete slot.claimExpires
    return
  }
  slot.claimedBy = entries[0]![0]
  slot.claimExpires = Math.max(...entries.map(([, expires]) => expires))
}
