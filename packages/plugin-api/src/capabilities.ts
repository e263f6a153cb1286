// The `storage`, `verifier` and `payments` capabilities: small interfaces the host and network call.

import type { DigestHex, VerifyResult } from './prover.ts'

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

export interface Attestation {
  readonly jobId: string
  readonly imageId: DigestHex
  readonly receiptCid: CidString
  readonly journalDigest: DigestHex
  readonly verdict: 'valid' | 'invalid'
  readonly verifier: string
  readonly signedAt: number
  readonly signature: Uint8Array
}

export interface VerifierPlugin {
  /** Re-verifies a receipt independently; rejects with VerificationError when it fails. */
  verifyReceipt(request: {
    receipt: string
    imageId: DigestHex
    signal?: AbortSignal
  }): Promise<VerifyResult>
}

export interface PaymentsPlugin {
  readonly chainId: number
  /** Locks the reward for a job in escrow; resolves to a transaction reference. */
  fund(request: { jobId: string; amountWei: bigint; signal?: AbortSignal }): Promise<string>
  /** Pays a prover for accepted units once the attestation quorum is in. */
  release(request: {
    jobId: string
    prover: string
    units: number
    attestations: readonly Attestation[]
  }): Promise<string>
  balance(account: string): Promise<bigint>
}
