// The market's two policies, pure functions: which offers a client accepts, and whether a prover
// answers a need at all. Prices are wei per segment, as bigints.

export type Accelerator = 'cpu' | 'cuda' | 'metal'

export interface Requirements {
  readonly minMemoryMiB: number
  readonly proverKind: 'risc0'
  /** The job wants lift/join (a succinct receipt); provers without recursion cannot take part. */
  readonly recursion: boolean
}

export interface NeedTerms {
  readonly jobId: string
  readonly segments: number
  readonly po2: number
  readonly rewardPerSegment: bigint
  readonly deadline: number
  readonly requirements: Requirements
}

export interface OfferTerms {
  readonly pricePerSegment: bigint
  /** Segments the prover will work on at once. */
  readonly capacity: number
  readonly hardware: {
    readonly cpus: number
    readonly memoryMiB: number
    readonly accelerator: Accelerator
  }
  /** Proving speed (cycles per second) the prover reports, measured on its latest proof. */
  readonly hz: number
  readonly recursion: boolean
  /** What the client found checking the offer's benchmark receipt (absent: not checked). */
  readonly evidence?: EvidenceCheck
}

/**
 * The client's check of an offer's benchmark receipt. A receipt that verifies shows that a real
 * segment proof at that po2 exists behind the offer; it cannot show who made it or how fast, so
 * the reported Hz counts for ranking only when the evidence verified.
 */
export type EvidenceCheck =
  | { readonly status: 'verified'; readonly po2: number; readonly claimDigest: string }
  /** The offer names no receipt: a prover that has not proved anything yet. */
  | { readonly status: 'absent' }
  /** The receipt could not be fetched in time; the offer stands, its Hz does not count. */
  | { readonly status: 'unreachable'; readonly reason: string }
  /** The prover offered bytes that are not a valid segment receipt: a lie. */
  | { readonly status: 'invalid'; readonly reason: string }

/** The Hz an offer is ranked by: its reported Hz only when its benchmark receipt verified. */
export function rankedHz(offer: OfferTerms): number {
  return offer.evidence?.status === 'verified' ? offer.hz : 0
}

export interface PendingOffer {
  readonly id: string
  readonly prover: string
  readonly terms: OfferTerms
  readonly receivedAt: number
}

export interface SelectionPolicy {
  /** At most this many provers get a deal. */
  readonly maxProvers: number
}

export type OfferVerdict =
  { readonly accept: true } | { readonly accept: false; readonly reason: string }

/** The hard filter: an offer that fails it is declined whatever else is on the table. */
export function offerMeetsNeed(need: NeedTerms, offer: OfferTerms): OfferVerdict {
  if (offer.pricePerSegment > need.rewardPerSegment) {
    return {
      accept: false,
      reason: `price ${offer.pricePerSegment} exceeds the reward ${need.rewardPerSegment}`,
    }
  }
  if (offer.hardware.memoryMiB < need.requirements.minMemoryMiB) {
    return {
      accept: false,
      reason: `memory ${offer.hardware.memoryMiB} MiB is below ${need.requirements.minMemoryMiB} MiB`,
    }
  }
  if (need.requirements.recursion && !offer.recursion) {
    return { accept: false, reason: 'the job needs the recursion circuit' }
  }
  if (!Number.isInteger(offer.capacity) || offer.capacity < 1) {
    return { accept: false, reason: `capacity ${offer.capacity} is not a positive integer` }
  }
  if (offer.evidence?.status === 'invalid') {
    return { accept: false, reason: `benchmark evidence is invalid: ${offer.evidence.reason}` }
  }
  return { accept: true }
}

/**
 * The client's selection, documented in docs/network.md: among offers that meet the need, the
 * cheapest first, then the fastest (reported Hz, counted only with verified benchmark evidence),
 * then the earliest; at most `maxProvers` deals,
 * and no more provers than segments (an extra prover could only duplicate work).
 */
export function selectOffers(
  need: NeedTerms,
  offers: readonly PendingOffer[],
  policy: SelectionPolicy,
  alreadyDealt: number,
): { accepted: PendingOffer[]; declined: { offer: PendingOffer; reason: string }[] } {
  const declined: { offer: PendingOffer; reason: string }[] = []
  const eligible: PendingOffer[] = []
  for (const offer of offers) {
    const verdict = offerMeetsNeed(need, offer.terms)
    if (verdict.accept) eligible.push(offer)
    else declined.push({ offer, reason: verdict.reason })
  }
  eligible.sort(
    (a, b) =>
      compareBigint(a.terms.pricePerSegment, b.terms.pricePerSegment) ||
      rankedHz(b.terms) - rankedHz(a.terms) ||
      a.receivedAt - b.receivedAt ||
      (a.prover < b.prover ? -1 : a.prover > b.prover ? 1 : 0),
  )
  const slots = Math.max(0, Math.min(policy.maxProvers, need.segments) - alreadyDealt)
  const accepted = eligible.slice(0, slots)
  for (const offer of eligible.slice(slots)) {
    declined.push({ offer, reason: 'enough provers already' })
  }
  return { accepted, declined }
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** What a prover is willing to do; every field has a unit. */
export interface ProverSettings {
  readonly minPricePerSegment: bigint
  /** Jobs worked on at once. */
  readonly maxConcurrentJobs: number
  /** Segments proved at once across all jobs. */
  readonly maxConcurrentSegments: number
  readonly memoryMiB: number
  readonly cpus: number
  readonly accelerator: Accelerator
  readonly recursion: boolean
  /** Largest segment po2 this machine proves within its memory. */
  readonly maxPo2: number
  readonly hz: number
}

/** Whether a prover answers a need, and at what price; a refusal says why for the log. */
export function decideOffer(
  settings: ProverSettings,
  need: NeedTerms,
  activeJobs: number,
  now: number,
): { offer: OfferTerms } | { refuse: string } {
  if (need.deadline <= now) return { refuse: 'the need has expired' }
  if (activeJobs >= settings.maxConcurrentJobs) {
    return { refuse: `already working on ${activeJobs} job(s), the maximum` }
  }
  if (need.rewardPerSegment < settings.minPricePerSegment) {
    return {
      refuse: `reward ${need.rewardPerSegment} is below the minimum price ${settings.minPricePerSegment}`,
    }
  }
  if (need.requirements.minMemoryMiB > settings.memoryMiB) {
    return {
      refuse: `needs ${need.requirements.minMemoryMiB} MiB, this prover offers ${settings.memoryMiB}`,
    }
  }
  if (need.requirements.recursion && !settings.recursion) {
    return { refuse: 'needs the recursion circuit, which this prover lacks' }
  }
  if (need.po2 > settings.maxPo2) {
    return { refuse: `segment po2 ${need.po2} exceeds this prover's ${settings.maxPo2}` }
  }
  return {
    offer: {
      pricePerSegment: settings.minPricePerSegment,
      capacity: settings.maxConcurrentSegments,
      hardware: {
        cpus: settings.cpus,
        memoryMiB: settings.memoryMiB,
        accelerator: settings.accelerator,
      },
      hz: settings.hz,
      recursion: settings.recursion,
    },
  }
}
