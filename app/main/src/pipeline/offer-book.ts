// What the market looked like lately: the offers this client received for its jobs, the latest
// per prover, so that a job can be estimated before it is submitted. Sans-IO: time comes in.

export type OfferEvidence = 'verified' | 'absent' | 'invalid' | 'unreachable'

export interface SeenOffer {
  readonly prover: string
  readonly pricePerSegment: bigint
  /** The prover's reported proving speed, cycles per second. */
  readonly hz: number
  readonly capacity: number
  /** What checking its benchmark receipt found. */
  readonly evidence: OfferEvidence
  readonly at: number
}

export interface OfferBookOptions {
  /** Offers older than this are forgotten. */
  readonly windowMs?: number
  /** At most this many provers are remembered (the oldest go first). */
  readonly maxProvers?: number
}

export class OfferBook {
  readonly #latest = new Map<string, SeenOffer>()
  readonly #windowMs: number
  readonly #maxProvers: number

  constructor(options: OfferBookOptions = {}) {
    this.#windowMs = options.windowMs ?? 60 * 60_000
    this.#maxProvers = options.maxProvers ?? 512
  }

  record(offer: SeenOffer): void {
    // Re-inserted so that the map's order stays oldest first.
    this.#latest.delete(offer.prover)
    this.#latest.set(offer.prover, offer)
    while (this.#latest.size > this.#maxProvers) {
      this.#latest.delete(this.#latest.keys().next().value!)
    }
  }

  /** The latest offer of each prover seen within the window, oldest first. */
  recent(now: number): SeenOffer[] {
    for (const [prover, offer] of this.#latest) {
      if (now - offer.at > this.#windowMs) this.#latest.delete(prover)
    }
    return [...this.#latest.values()]
  }
}
