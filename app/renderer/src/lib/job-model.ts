// A job as the page shows it, kept current from its event stream: the state and prover of every
// segment, and when each stage started and ended. Pure (no DOM), so it is tested in Node and the
// map redraws only the cells an event changed.

import type { JobDetail, JobEvent, JobStatus } from '@wholesum/api-client'

/** Cell states, as small integers so 5,000 segments live in one typed array. */
export const CELL = { open: 0, claimed: 1, proved: 2, struck: 3 } as const
export type Cell = (typeof CELL)[keyof typeof CELL]
export const CELL_NAMES: Record<Cell, string> = {
  0: 'open',
  1: 'claimed',
  2: 'proved',
  3: 'rejected, open again',
}

export const STAGES = ['execute', 'prove', 'join', 'verify', 'settle'] as const
export type Stage = (typeof STAGES)[number]

export interface StageTime {
  startedAt?: number
  endedAt?: number
  /** A stage this job does not have (join for a composite receipt; settle: no payments yet). */
  skipped?: string
}

/** What changed with one event: cell indices to redraw, or everything (a new segment count). */
export type Change = { readonly cells: readonly number[] } | { readonly all: true }

interface Data {
  readonly prover?: string
  readonly index?: number
  readonly segments?: number
  readonly phase?: string
  readonly status?: string
}

const PHASE_STAGE: Partial<Record<string, Stage>> = {
  proving: 'prove',
  joining: 'join',
  assembling: 'verify',
  verifying: 'verify',
}

export class JobModel {
  cells: Uint8Array
  /** Who holds or proved each segment, as an index into `provers` (-1: nobody). */
  holders: Int32Array
  readonly provers: string[] = []
  readonly stages: Record<Stage, StageTime> = {
    execute: {},
    prove: {},
    join: { skipped: 'only succinct receipts are joined' },
    verify: {},
    settle: { skipped: 'no payments in this build' },
  }
  status: JobStatus | undefined
  lastEventId = 0
  readonly #proverIds = new Map<string, number>()

  constructor(segments: number) {
    this.cells = new Uint8Array(segments)
    this.holders = new Int32Array(segments).fill(-1)
  }

  get segments(): number {
    return this.cells.length
  }

  /** Counts per cell state, for the map's legend and its text summary. */
  counts(): Record<Cell, number> {
    const counts: Record<Cell, number> = { 0: 0, 1: 0, 2: 0, 3: 0 }
    for (const cell of this.cells) counts[cell as Cell] += 1
    return counts
  }

  proverOf(index: number): string | undefined {
    const holder = this.holders[index]
    return holder === undefined || holder < 0 ? undefined : this.provers[holder]
  }

  /** Takes the job's current state (the segment table), before or between events. */
  loadDetail(detail: JobDetail): void {
    if (detail.segmentStates.length !== this.segments) this.#resize(detail.segmentStates.length)
    for (const segment of detail.segmentStates) {
      const cell =
        segment.status === 'proved'
          ? CELL.proved
          : segment.status === 'claimed'
            ? CELL.claimed
            : CELL.open
      this.cells[segment.index] = cell === CELL.open && segment.rejects > 0 ? CELL.struck : cell
      const who = segment.provedBy ?? segment.claimedBy
      this.holders[segment.index] = who === undefined ? -1 : this.#prover(who)
    }
    this.status = detail.status
    if (detail.status === 'joining') delete this.stages.join.skipped
  }

  apply(event: JobEvent): Change {
    this.lastEventId = Math.max(this.lastEventId, event.id)
    const data = (event.data ?? {}) as Data
    const at = event.at
    switch (event.type) {
      case 'executed': {
        this.#start('execute', at)
        this.stages.execute.endedAt = at
        if (data.segments !== undefined && data.segments !== this.segments) {
          this.#resize(data.segments)
          return { all: true }
        }
        return { cells: [] }
      }
      case 'claim':
        return this.#set(data.index, CELL.claimed, data.prover, () => this.#start('prove', at))
      case 'credit':
        return this.#set(data.index, CELL.proved, data.prover)
      case 'strike':
        return this.#set(data.index, CELL.struck, undefined)
      case 'reopen': {
        if (data.index === undefined || this.cells[data.index] === CELL.proved) return { cells: [] }
        const struck = this.cells[data.index] === CELL.struck
        return this.#set(data.index, struck ? CELL.struck : CELL.open, undefined)
      }
      case 'phase': {
        const stage = data.phase !== undefined ? PHASE_STAGE[data.phase] : undefined
        if (stage !== undefined) this.#enter(stage, at)
        if (data.phase === 'joining') delete this.stages.join.skipped
        return { cells: [] }
      }
      case 'finished': {
        if (data.status === 'done' || data.status === 'failed' || data.status === 'cancelled') {
          this.status = data.status
        }
        for (const stage of STAGES) {
          const time = this.stages[stage]
          if (time.startedAt !== undefined && time.endedAt === undefined) time.endedAt = at
        }
        return { cells: [] }
      }
      default:
        return { cells: [] }
    }
  }

  /** A stage begins: the one before it has ended by then. */
  #enter(stage: Stage, at: number): void {
    const order = STAGES.indexOf(stage)
    for (const earlier of STAGES.slice(0, order)) {
      const time = this.stages[earlier]
      if (time.startedAt !== undefined && time.endedAt === undefined) time.endedAt = at
    }
    this.#start(stage, at)
  }

  #start(stage: Stage, at: number): void {
    if (this.stages[stage].startedAt === undefined) this.stages[stage].startedAt = at
  }

  #set(
    index: number | undefined,
    cell: Cell,
    prover: string | undefined,
    then?: () => void,
  ): Change {
    if (index === undefined || index < 0 || index >= this.segments) return { cells: [] }
    // A credit is final: a late claim or reopen for the same segment does not undo it.
    if (this.cells[index] === CELL.proved && cell !== CELL.proved) return { cells: [] }
    this.cells[index] = cell
    this.holders[index] =
      prover === undefined
        ? cell === CELL.proved
          ? this.holders[index]!
          : -1
        : this.#prover(prover)
    then?.()
    return { cells: [index] }
  }

  #prover(peerId: string): number {
    let id = this.#proverIds.get(peerId)
    if (id === undefined) {
      id = this.provers.push(peerId) - 1
      this.#proverIds.set(peerId, id)
    }
    return id
  }

  #resize(segments: number): void {
    this.cells = new Uint8Array(segments)
    this.holders = new Int32Array(segments).fill(-1)
  }
}
