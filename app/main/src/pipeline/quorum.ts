// What a job's verifiers said, taken together: the verdict a quorum reached, and which
// attestations contradict the client's own check of the same receipt. Sans-IO.

import type { Verdict } from '../protocol/messages.ts'

export interface AttestationView {
  readonly verifier: string
  readonly verdict: Verdict
  readonly receiptDigest: string
  readonly journalDigest?: string
}

/** What the client found when it verified the receipt itself. */
export interface OwnCheck {
  readonly verdict: Verdict
  readonly receiptDigest: string
  readonly journalDigest: string
}

export interface QuorumOutcome {
  /** The verdict at least `quorum` verifiers gave about this exact receipt, if any. */
  readonly verdict: Verdict | undefined
  readonly valid: number
  readonly invalid: number
  /** Attestations about other bytes than the client's receipt (a verifier fetched something else). */
  readonly otherReceipt: readonly string[]
  /**
   * Verifiers whose attestation contradicts the client's own check: a wrong verdict, or a valid
   * one naming a journal the receipt does not commit to. Their signed attestation, with the
   * receipt, is the evidence anyone can re-check.
   */
  readonly wrong: readonly string[]
}

export function tallyAttestations(
  attestations: readonly AttestationView[],
  own: OwnCheck,
  quorum: number,
): QuorumOutcome {
  let valid = 0
  let invalid = 0
  const otherReceipt: string[] = []
  const wrong: string[] = []
  for (const a of attestations) {
    if (a.receiptDigest !== own.receiptDigest) {
      otherReceipt.push(a.verifier)
      continue
    }
    if (a.verdict === 'valid') valid += 1
    else invalid += 1
    const agrees =
      a.verdict === own.verdict &&
      (a.verdict === 'invalid' || a.journalDigest === own.journalDigest)
    if (!agrees) wrong.push(a.verifier)
  }
  const verdict: Verdict | undefined =
    valid >= quorum && valid > invalid
      ? 'valid'
      : invalid >= quorum && invalid > valid
        ? 'invalid'
        : undefined
  return { verdict, valid, invalid, otherReceipt, wrong }
}
