// The verifiers a client has heard advertise lately, and the random pick of a job's verifiers
// among them. Sans-IO: time and randomness come in, so tests and the simulator choose them.

export interface VerifierAd {
  readonly peer: string
  readonly fee: bigint
  readonly capacity: number
  /** Where to dial it. */
  readonly addrs?: readonly string[]
  /** Its EVM account, when its ad carried a binding that checked out. */
  readonly account?: string
  readonly at: number
}

export interface PickOptions {
  readonly count: number
  readonly now: number
  /** Peers that must not judge this job: the client itself, the job's provers. */
  readonly exclude?: ReadonlySet<string>
  /** Accounts that must not judge it either (the client's, provers' accounts). */
  readonly excludeAccounts?: ReadonlySet<string>
  /** The most the client pays one verifier. */
  readonly maxFee?: bigint
  /** Only verifiers with an account (a job paid through the escrow). */
  readonly needAccount?: boolean
  /** Uniform in [0, 1): Math.random by default. */
  readonly random?: () => number
}

export class VerifierBook {
  readonly #latest = new Map<string, VerifierAd>()
  readonly #freshMs: number

  /** An ad older than `freshMs` is forgotten: its verifier stopped advertising or went away. */
  constructor(freshMs = 60_000) {
    this.#freshMs = freshMs
  }

  record(ad: VerifierAd): void {
    this.#latest.delete(ad.peer)
    this.#latest.set(ad.peer, ad)
  }

  forget(peer: string): void {
    this.#latest.delete(peer)
  }

  /** The latest ad of every verifier heard within the freshness window. */
  recent(now: number): VerifierAd[] {
    for (const [peer, ad] of this.#latest) {
      if (now - ad.at > this.#freshMs) this.#latest.delete(peer)
    }
    return [...this.#latest.values()]
  }

  /**
   * `count` verifiers drawn uniformly at random among the eligible ones (a partial Fisher-Yates
   * shuffle), or fewer when fewer are eligible. At random, so that nobody can arrange to be asked:
   * a client that always took the cheapest would hand its verdicts to whoever undercuts.
   */
  pick(options: PickOptions): VerifierAd[] {
    const random = options.random ?? Math.random
    const eligible = this.recent(options.now).filter(
      (ad) =>
        !(options.exclude?.has(ad.peer) ?? false) &&
        (options.maxFee === undefined || ad.fee <= options.maxFee) &&
        (options.needAccount !== true || ad.account !== undefined) &&
        (ad.account === undefined || !(options.excludeAccounts?.has(ad.account) ?? false)),
    )
    // One account, one verifier: an account advertised under several peer IDs counts once (the
    // escrow refuses a verifier set that names an account twice).
    const picked: VerifierAd[] = []
    const accounts = new Set<string>()
    for (let i = 0; i < eligible.length && picked.length < options.count; i++) {
      const j = i + Math.floor(random() * (eligible.length - i))
      ;[eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!]
      const ad = eligible[i]!
      if (ad.account !== undefined) {
        if (accounts.has(ad.account)) continue
        accounts.add(ad.account)
      }
      picked.push(ad)
    }
    return picked
  }
}
