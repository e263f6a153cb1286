// Which pins may go, and when to look again: a pure function of the held pins, the time and the
// policy, so the daemon's timer and the tests run the same decision.

import type { HeldPin } from '../store/index.ts'

export interface RetentionPolicy {
  /** How long after its job ended a work pin (program, input, segments, manifest, a prover's delivered receipts) is kept, in ms. */
  readonly workMs: number
  /** How long after its job ended an output pin (receipt, journal, stdout, stderr, events) is kept, in ms; undefined keeps outputs for good. */
  readonly outputsMs?: number
}

/** Work is kept an hour after its job ends (time to look at a failure); outputs for good. */
export const DEFAULT_RETENTION: RetentionPolicy = { workMs: 3_600_000 }

export interface RetentionPlan {
  /** The pins to release now, by job. */
  readonly due: ReadonlyMap<string, readonly HeldPin[]>
  /** The earliest time a pin held now falls due; undefined when none will (running jobs aside). */
  readonly nextAt: number | undefined
}

export function keptFor(pin: HeldPin, policy: RetentionPolicy): number | undefined {
  return pin.class === 'work' ? policy.workMs : policy.outputsMs
}

export function planRetention(
  pins: readonly HeldPin[],
  now: number,
  policy: RetentionPolicy,
): RetentionPlan {
  const due = new Map<string, HeldPin[]>()
  let nextAt: number | undefined
  for (const pin of pins) {
    const kept = keptFor(pin, policy)
    if (pin.endedAt === undefined || kept === undefined) continue
    const at = pin.endedAt + kept
    if (at <= now) {
      const list = due.get(pin.jobId) ?? []
      list.push(pin)
      due.set(pin.jobId, list)
    } else if (nextAt === undefined || at < nextAt) {
      nextAt = at
    }
  }
  return { due, nextAt }
}
