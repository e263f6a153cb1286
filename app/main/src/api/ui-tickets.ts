// One-time tickets that hand the API token to a browser: `wholesum ui` asks for one (with the
// token) and prints a URL carrying it in the fragment; the page trades it once for the token.
// The fragment never reaches the server's logs or another site's Referer; a ticket is good for
// one redemption within its lifetime, so a URL seen later (shell history, a screenshot) is spent.

import { randomBytes } from 'node:crypto'

export const TICKET_TTL_MS = 120_000
/** Tickets outstanding at once; the oldest go first past this. */
const MAX_OUTSTANDING = 32

export class UiTickets {
  readonly #expiries = new Map<string, number>()
  readonly #clock: () => number
  readonly #ttlMs: number

  constructor(options: { clock?: () => number; ttlMs?: number } = {}) {
    this.#clock = options.clock ?? Date.now
    this.#ttlMs = options.ttlMs ?? TICKET_TTL_MS
  }

  issue(): { ticket: string; expiresAt: number } {
    this.#prune()
    while (this.#expiries.size >= MAX_OUTSTANDING) {
      this.#expiries.delete(this.#expiries.keys().next().value!)
    }
    const ticket = randomBytes(32).toString('hex')
    const expiresAt = this.#clock() + this.#ttlMs
    this.#expiries.set(ticket, expiresAt)
    return { ticket, expiresAt }
  }

  /** True once for a live ticket; the ticket is spent either way. */
  redeem(ticket: string): boolean {
    const expiresAt = this.#expiries.get(ticket)
    this.#expiries.delete(ticket)
    return expiresAt !== undefined && expiresAt > this.#clock()
  }

  /** Spends every outstanding ticket (the token rotated: a ticket must not hand out the new one). */
  clear(): void {
    this.#expiries.clear()
  }

  #prune(): void {
    const now = this.#clock()
    for (const [ticket, expiresAt] of this.#expiries) {
      if (expiresAt <= now) this.#expiries.delete(ticket)
    }
  }
}
