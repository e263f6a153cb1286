// The client's JOIN stage as a sans-IO state machine: the tree of join(left, right) work items
// that reduces n lifted segment receipts to one succinct receipt, which items are open, claimed or
// joined, and who delivered what. Claims, TTL, renewal, endgame, strikes, bans and first-valid
// credit follow the same rules as the PROVE stage (work-ledger.ts). No IO: time comes in as `now`.
//
// The tree. Level 0 holds the n inputs; round r joins level r in pairs (0,1), (2,3), … into level
// r + 1, and an odd one out is carried up to level r + 1 unchanged (no work item for it). The last
// level holds one receipt; n = 1 needs zero rounds, n = 1,204 needs 11. Round r's item i is the
// pair (2i, 2i + 1) of level r, and its result is level r + 1's receipt i.
//
// Pipelining. An item opens as soon as both of its inputs exist, not when the whole previous round
// is done: a slow join holds up only the items above it. So several rounds can be open at once,
// each with its own bit field (BitfieldBody.round is the round).
//
// Claims. The client executed the job, so it knows every segment's claim; it hands them in as
// opaque strings with `joinClaim(left, right)`, the claim a join of the two must prove (the pre
// state of left, the post state of right). The stage records the expected claim of every item and
// hands it to the `verify-join` command; a join receipt is credited only if it verifies and proves
// exactly that claim, which the adapter checks.

import {
  WorkLedger,
  restoredSlot,
  type ClaimRefusal,
  type DeliveryRefusal,
  type WorkRules,
  type WorkSlot,
} from './work-ledger.ts'

/** A receipt in the join tree: where it is stored and the claim it proves. */
export interface JoinInput {
  readonly receiptCid: string
  readonly claim: string
}

export interface JoinStageOptions extends WorkRules {
  /** Round 0's inputs in segment order: each segment's lifted (succinct) receipt and its claim. */
  readonly inputs: readonly JoinInput[]
  /** The claim that join(left, right) must prove, from the claims of left and right. */
  readonly joinClaim: (left: string, right: string) => string
  /** Strikes carried over from the PROVE stage: a prover banned there stays banned. */
  readonly strikes?: Readonly<Record<string, number>>
}

/** Why a claim or a delivery was refused, in words a prover's log can show. */
export type JoinRefusal = 'no-such-item' | 'not-ready' | ClaimRefusal | DeliveryRefusal

export type JoinCommand =
  /** Check the receipt: it must verify and prove exactly `expectedClaim`. */
  | {
      readonly type: 'verify-join'
      readonly round: number
      readonly index: number
      readonly prover: string
      readonly receiptCid: string
      readonly left: JoinInput
      readonly right: JoinInput
      readonly expectedClaim: string
    }
  /** The first valid delivery of a join: pay `prover` for it. */
  | {
      readonly type: 'join-credit'
      readonly round: number
      readonly index: number
      readonly prover: string
      readonly receiptCid: string
    }
  | {
      readonly type: 'join-strike'
      readonly round: number
      readonly index: number
      readonly prover: string
      readonly reason: string
    }
  | { readonly type: 'ban'; readonly prover: string; readonly strikes: number }
  | {
      readonly type: 'join-reopen'
      readonly round: number
      readonly index: number
      readonly reason: 'claim-expired' | 'rejected'
    }
  /** Both inputs of this item now exist: it wants a prover (a reason to gossip a bit field now). */
  | { readonly type: 'join-open'; readonly round: number; readonly index: number }
  /** One receipt is left: the job's succinct receipt, proving the whole run's claim. */
  | { readonly type: 'all-joined'; readonly receiptCid: string; readonly claim: string }

/** One round's bit field: the items that want a prover. */
export interface JoinWanted {
  readonly round: number
  /** Items in this round (the bit field's length). */
  readonly total: number
  readonly indexes: number[]
  readonly endgame: boolean
}

/** An item as the client sees it: its slot, its two inputs and the claim its join must prove. */
export interface JoinItemView extends Readonly<WorkSlot> {
  readonly round: number
  readonly index: number
  readonly left: JoinInput
  readonly right: JoinInput
  readonly expectedClaim: string
}

export interface JoinStageSnapshot {
  /** Per round, per item: its slot, or null while its inputs did not exist yet. */
  readonly rounds: readonly (readonly (WorkSlot | null)[])[]
  readonly strikes: Readonly<Record<string, number>>
}

interface Item {
  readonly round: number
  readonly index: number
  readonly slot: WorkSlot
  readonly left: JoinInput
  readonly right: JoinInput
  readonly expectedClaim: string
}

export class JoinStage {
  /** Join items in all: n - 1. */
  readonly total: number
  /** Rounds until one receipt remains: ceil(log2(n)). */
  readonly rounds: number
  private readonly ledger: WorkLedger
  private readonly joinClaim: (left: string, right: string) => string
  /** sizes[k]: receipts at level k; sizes[0] = n, the last is 1. */
  private readonly sizes: number[]
  private readonly levels: (JoinInput | undefined)[][]
  /** items[r][i], defined once both of its inputs exist. */
  private readonly items: (Item | undefined)[][]
  /** Items whose inputs exist and that are not joined yet: the frontier of the tree. */
  private readonly active = new Set<Item>()
  private joinedCount = 0

  constructor(options: JoinStageOptions, snapshot?: JoinStageSnapshot) {
    const n = options.inputs.length
    if (n < 1) throw new RangeError('a join needs at least one input receipt')
    this.ledger = new WorkLedger(options, snapshot?.strikes ?? options.strikes)
    this.joinClaim = options.joinClaim
    this.sizes = [n]
    while (this.sizes.at(-1)! > 1) this.sizes.push(Math.ceil(this.sizes.at(-1)! / 2))
    this.rounds = this.sizes.length - 1
    this.total = n - 1
    this.levels = this.sizes.map((size) => new Array<JoinInput | undefined>(size))
    this.items = this.sizes
      .slice(0, -1)
      .map((size) => new Array<Item | undefined>(Math.floor(size / 2)))
    // Replaying the inputs rebuilds the tree; saved slots say which items were already joined.
    options.inputs.forEach((input, i) => this.place(0, i, input, snapshot))
  }

  get joined(): number {
    return this.joinedCount
  }

  get done(): boolean {
    return this.levels[this.rounds]![0] !== undefined
  }

  /** Items in round `round` (the length of its bit field). */
  itemsIn(round: number): number {
    return this.items[round]?.length ?? 0
  }

  item(round: number, index: number): JoinItemView | undefined {
    const item = this.items[round]?.[index]
    if (item === undefined) return undefined
    const { slot, ...rest } = item
    return { ...slot, ...rest }
  }

  isBanned(prover: string): boolean {
    return this.ledger.isBanned(prover)
  }

  strikesOf(prover: string): number {
    return this.ledger.strikesOf(prover)
  }

  /**
   * No item whose inputs exist is open, yet the tree is not finished: claimed items are offered
   * to everyone again. Always false when the endgame rule is switched off.
   */
  get endgame(): boolean {
    if (!this.ledger.endgameAllowed || this.done) return false
    for (const item of this.active) if (item.slot.status === 'open') return false
    return true
  }

  /**
   * A prover starts on (or renews its claim to) round `round`'s item `index`. A grant names the
   * two receipts to fetch; it goes only to the claimant, never into gossip.
   */
  claim(
    prover: string,
    round: number,
    index: number,
    now: number,
  ):
    | { granted: true; ttlMs: number; renewal: boolean; left: JoinInput; right: JoinInput }
    | { granted: false; reason: JoinRefusal } {
    const found = this.find(round, index)
    if ('reason' in found) return { granted: false, reason: found.reason }
    const { item } = found
    const result = this.ledger.claim(item.slot, prover, now, () => this.endgame)
    return result.granted ? { ...result, left: item.left, right: item.right } : result
  }

  /** A prover says its join for the item is stored under `receiptCid`: queue it for verification. */
  deliver(
    prover: string,
    round: number,
    index: number,
    receiptCid: string,
  ): { queued: true; commands: JoinCommand[] } | { queued: false; reason: JoinRefusal } {
    const found = this.find(round, index)
    if ('reason' in found) return { queued: false, reason: found.reason }
    const { item } = found
    const result = this.ledger.deliver(item.slot, `${round}/${index}`, prover, receiptCid)
    if (!result.queued) return result
    const { left, right, expectedClaim } = item
    return {
      queued: true,
      commands: [
        { type: 'verify-join', round, index, prover, receiptCid, left, right, expectedClaim },
      ],
    }
  }

  /**
   * The answer to a `verify-join` command. The first valid join is credited and becomes an input
   * of the round above, which may open an item there at once (pipelining); the last one finishes
   * the stage.
   */
  verified(
    prover: string,
    round: number,
    index: number,
    receiptCid: string,
    outcome: { ok: true } | { ok: false; reason: string },
  ): JoinCommand[] {
    const item = this.items[round]?.[index]
    if (item === undefined) return []
    const key = `${round}/${index}`
    if (outcome.ok) {
      if (this.ledger.accepted(item.slot, key, prover, receiptCid) === undefined) return []
      this.joinedCount += 1
      this.active.delete(item)
      const commands: JoinCommand[] = [{ type: 'join-credit', round, index, prover, receiptCid }]
      const opened: Item[] = []
      this.place(round + 1, index, { receiptCid, claim: item.expectedClaim }, undefined, opened)
      for (const o of opened) commands.push({ type: 'join-open', round: o.round, index: o.index })
      if (this.done) commands.push({ type: 'all-joined', ...this.result() })
      return commands
    }
    const { strikes, banned, reopened } = this.ledger.rejected(item.slot, key, prover, receiptCid)
    const commands: JoinCommand[] = [
      { type: 'join-strike', round, index, prover, reason: outcome.reason },
    ]
    if (banned) commands.push({ type: 'ban', prover, strikes })
    if (reopened) commands.push({ type: 'join-reopen', round, index, reason: 'rejected' })
    return commands
  }

  /** Claims past their deadline re-open, so a prover that vanished costs a TTL, not the job. */
  tick(now: number): JoinCommand[] {
    const commands: JoinCommand[] = []
    for (const { slot, round, index } of this.active) {
      if (this.ledger.expire(slot, now)) {
        commands.push({ type: 'join-reopen', round, index, reason: 'claim-expired' })
      }
    }
    return commands
  }

  /**
   * The bit fields to gossip, one per round that has items waiting to be joined (rounds not
   * reached yet and rounds finished are left out): open items, or in the endgame every unjoined
   * one whose inputs exist. A round whose items are all claimed outside the endgame has none.
   */
  wanted(): JoinWanted[] {
    const endgame = this.endgame
    const byRound = new Map<number, number[]>()
    for (const { slot, round, index } of this.active) {
      const indexes = byRound.get(round) ?? []
      byRound.set(round, indexes)
      if (slot.status === 'open' || (endgame && slot.status === 'claimed')) indexes.push(index)
    }
    return [...byRound]
      .sort(([a], [b]) => a - b)
      .map(([round, indexes]) => ({
        round,
        total: this.itemsIn(round),
        indexes: indexes.sort((a, b) => a - b),
        endgame,
      }))
  }

  /** The one receipt left, once the stage is done. */
  result(): JoinInput {
    const root = this.levels[this.rounds]![0]
    if (root === undefined) throw new Error(`only ${this.joinedCount}/${this.total} joins are done`)
    return root
  }

  /** Who joined how many pairs: the basis of payment. */
  credits(): Map<string, number> {
    const credits = new Map<string, number>()
    for (const round of this.items) {
      for (const item of round) {
        const by = item?.slot.provedBy
        if (by !== undefined) credits.set(by, (credits.get(by) ?? 0) + 1)
      }
    }
    return credits
  }

  snapshot(): JoinStageSnapshot {
    return {
      rounds: this.items.map((round) => Array.from(round, (it) => (it ? { ...it.slot } : null))),
      strikes: this.ledger.strikesSnapshot(),
    }
  }

  private find(round: number, index: number): { item: Item } | { reason: JoinRefusal } {
    const items = this.items[round]
    if (items === undefined || !Number.isInteger(index) || index < 0 || index >= items.length) {
      return { reason: 'no-such-item' }
    }
    const item = items[index]
    return item === undefined ? { reason: 'not-ready' } : { item }
  }

  /**
   * A receipt now exists at `level`'s position `at`: carry it up if it is the odd one out, or
   * make the item it belongs to once its partner exists too. An item restored as joined places
   * its own result in turn, so replaying the inputs rebuilds a saved tree.
   */
  private place(
    level: number,
    at: number,
    receipt: JoinInput,
    saved: JoinStageSnapshot | undefined,
    opened: Item[] = [],
  ): void {
    this.levels[level]![at] = receipt
    if (level === this.rounds) return
    const size = this.sizes[level]!
    if (size % 2 === 1 && at === size - 1) {
      this.place(level + 1, this.sizes[level + 1]! - 1, receipt, saved, opened)
      return
    }
    const index = at >> 1
    const left = this.levels[level]![2 * index]
    const right = this.levels[level]![2 * index + 1]
    if (left === undefined || right === undefined) return
    const slot = restoredSlot(saved?.rounds[level]?.[index] ?? undefined)
    const expectedClaim = this.joinClaim(left.claim, right.claim)
    const item: Item = { round: level, index, slot, left, right, expectedClaim }
    this.items[level]![index] = item
    if (slot.status === 'proved' && slot.receiptCid !== undefined) {
      this.joinedCount += 1
      this.place(level + 1, index, { receiptCid: slot.receiptCid, claim: expectedClaim }, saved)
      return
    }
    if (slot.status === 'proved') slot.status = 'open' // a saved slot without its receipt: redo it
    this.active.add(item)
    opened.push(item)
  }
}
