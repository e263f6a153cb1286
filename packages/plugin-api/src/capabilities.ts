// The `storage` and `verifier` capabilities (`payments` is in payments.ts): what the host calls.

import type { DigestHex } from './prover.ts'

/** A content identifier in its string form (CIDv0 `Qm…` or CIDv1 `b…`). */
export type CidString = string

export interface TransferProgress {
  readonly bytes: number
  readonly total?: number
}

export interface StorageStat {
  readonly cid: CidString
  readonly size: number
  readonly pinned: boolean
  readonly local: boolean
}

export interface StorageCallOptions {
  readonly signal?: AbortSignal
  readonly timeoutMs?: number
  readonly onProgress?: (progress: TransferProgress) => void
}

export interface StoragePlugin {
  put(
    data: Uint8Array | AsyncIterable<Uint8Array>,
    options?: StorageCallOptions & { pin?: boolean },
  ): Promise<CidString>
  /** Streams the content; every block is checked against its CID before it is yielded. */
  get(cid: CidString, options?: StorageCallOptions): AsyncIterable<Uint8Array>
  has(cid: CidString, options?: StorageCallOptions): Promise<boolean>
  pin(cid: CidString, options?: StorageCallOptions): Promise<void>
  unpin(cid: CidString, options?: StorageCallOptions): Promise<void>
  stat(cid: CidString, options?: StorageCallOptions): Promise<StorageStat>
}

/** What one independent check of a final receipt found. */
export interface ReceiptCheck {
  readonly valid: boolean
  /** Why it is invalid, in words (undefined when valid). */
  readonly reason?: string
  /** SHA-256 of the receipt's bytes (hex, 64 chars): what attestations and the escrow name. */
  readonly receiptDigest: DigestHex
  /** SHA-256 of the journal the receipt commits to (valid receipts only). */
  readonly journalDigest?: DigestHex
  /** Digest of the session claim the receipt proves (valid receipts only). */
  readonly claimDigest?: DigestHex
  readonly kind?: 'composite' | 'succinct' | 'groth16'
  readonly segments?: number
  /** Time spent verifying, not counting time queued behind other checks. */
  readonly verifyMs: number
}

export interface VerifierPlugin {
  /**
   * Verifies receipt bytes (risc0 bincode) against an image ID. Resolves `valid: false` with a
   * reason for a receipt that does not verify (malformed, wrong image, forged seal); rejects only
   * when the verifier itself could not run (crashed, aborted, timed out, receipt too large) or the
   * request is malformed (an image ID that is not 64 hex characters: InvalidInputError).
   */
  checkReceipt(request: {
    receipt: Uint8Array
    imageId: DigestHex
    signal?: AbortSignal
  }): Promise<ReceiptCheck>
}
