// A job's estimate before it is submitted: its dry run's counts, priced and timed against the
// offers seen lately. Pure: the caller hands in the dry run, the offers and the terms.

import type { SeenOffer } from '../pipeline/offer-book.ts'

export interface EstimateTerms {
  readonly pricePerSegment: bigint
  readonly maxProvers: number
}

export interface JobEstimate {
  readonly offersSeen: number
  /** Provers whose latest offer asked at most the job's price, with evidence that held. */
  readonly eligibleProvers: number
  /** The most the job can cost: every segment at the job's own price. */
  readonly maxCost: bigint
  /** Every segment at the lowest and at the highest ask among the provers it would likely get. */
  readonly costRange?: { readonly low: bigint; readonly high: bigint }
  /**
   * Proving time if the likely provers shared the work perfectly: cycles over their summed
   * benchmark speed (only speeds backed by a verified benchmark receipt). A floor: transfers,
   * checks and assembly come on top.
   */
  readonly proveSecondsAtLeast?: number
  /** Why a part is missing, or what to watch. */
  readonly notes: readonly string[]
}

export function estimateJob(
  run: { readonly segments: number; readonly totalCycles: number },
  offers: readonly SeenOffer[],
  terms: EstimateTerms,
): JobEstimate {
  const segments = BigInt(run.segments)
  const maxCost = segments * terms.pricePerSegment
  const notes: string[] = []
  // A prover whose benchmark receipt did not verify is not counted on, as the market does not.
  const trusted = offers.filter((o) => o.evidence === 'verified' || o.evidence === 'absent')
  if (trusted.length < offers.length) {
    notes.push(
      `${offers.length - trusted.length} offer(s) left out: their benchmark receipts did not verify or could not be fetched`,
    )
  }
  const eligible = trusted
    .filter((o) => o.pricePerSegment <= terms.pricePerSegment)
    .sort((a, b) =>
      a.pricePerSegment < b.pricePerSegment ? -1 : a.pricePerSegment > b.pricePerSegment ? 1 : 0,
    )
  if (offers.length === 0) {
    notes.push(
      'no offers seen yet: this node learns prices and speeds from the offers its jobs get',
    )
    return { offersSeen: 0, eligibleProvers: 0, maxCost, notes }
  }
  if (eligible.length === 0) {
    const lowest = trusted.reduce<bigint | undefined>(
      (min, o) => (min === undefined || o.pricePerSegment < min ? o.pricePerSegment : min),
      undefined,
    )
    notes.push(
      lowest === undefined
        ? 'no offer seen lately can be counted on'
        : `every prover seen lately asks more than this price (the lowest ask is ${lowest} per segment)`,
    )
    return { offersSeen: offers.length, eligibleProvers: 0, maxCost, notes }
  }
  const likely = eligible.slice(0, Math.max(1, Math.min(terms.maxProvers, run.segments)))
  // As in the market, a speed counts only with a benchmark receipt that verified.
  const hz = likely
    .filter((o) => o.evidence === 'verified')
    .reduce((sum, o) => sum + Math.max(0, o.hz), 0)
  const unproven = likely.filter((o) => o.evidence !== 'verified').length
  if (unproven > 0) {
    notes.push(
      `${unproven} of these provers reported a speed without a benchmark receipt: not counted in the time`,
    )
  }
  return {
    offersSeen: offers.length,
    eligibleProvers: eligible.length,
    maxCost,
    costRange: {
      low: segments * likely[0]!.pricePerSegment,
      high: segments * likely[likely.length - 1]!.pricePerSegment,
    },
    ...(hz > 0 ? { proveSecondsAtLeast: run.totalCycles / hz } : {}),
    notes,
  }
}
