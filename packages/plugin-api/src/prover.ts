// The `prover` capability: execute a guest into segments, prove segments, lift/join/assemble, verify.
// Blobs travel by file path: a prover may run in another process or a container sharing a work dir.

/** A hex string of a 32-byte digest, as risc0 prints it (little-endian words, 64 hex chars). */
export type DigestHex = string

export type Accelerator = 'cpu' | 'cuda' | 'metal'

export interface ProverCapabilities {
  /** The recursion circuit is present: `lift` and `join` work, succinct receipts are possible. */
  readonly recursion: boolean
  /** Groth16 wrapping tooling is present (risc0's docker image or CUDA). */
  readonly groth16: boolean
  readonly accelerator: Accelerator
  readonly risc0Version: string
  readonly workerVersion: string
  /** Why an optional capability is missing, for users: e.g. the recursion zip was not built in. */
  readonly notes: readonly string[]
}

export type ExitKind = 'halted' | 'paused' | 'system-split' | 'session-limit'

export interface ExitCode {
  readonly kind: ExitKind
  /** The user exit code for halted/paused, else 0. */
  readonly code: number
}

/**
 * A claim as the client carries it: the digests of risc0's `ReceiptClaim` parts (pre- and
 * post-state, input, output) and its exit code. Its digest is computed by the prover plugin
 * (risc0's own code); joining two is `joinClaims`.
 */
export interface ClaimParts {
  readonly pre: DigestHex
  readonly post: DigestHex
  readonly input: DigestHex
  readonly output: DigestHex
  readonly exitCode: ExitCode
}

/**
 * The claim `join(left, right)` proves (risc0's `ReceiptClaim::join`): from left's pre-state and
 * input to right's post-state, exit code and output.
 */
export function joinClaims(left: ClaimParts, right: ClaimParts): ClaimParts {
  return {
    pre: left.pre,
    post: right.post,
    input: left.input,
    output: right.output,
    exitCode: right.exitCode,
  }
}

export interface SegmentInfo {
  readonly index: number
  readonly po2: number
  /** Path of the serialized segment (risc0's own serde form, bincode). */
  readonly path: string
  readonly bytes: number
  /**
   * Digest of the claim a valid receipt of this segment must carry (pre- and post-state, exit
   * code, input, output), computed from the execution itself. Only a receipt that verifies and
   * carries exactly this claim proves this segment.
   */
  readonly claimDigest: DigestHex
  /** That claim's parts (its digest is `claimDigest`). */
  readonly claim: ClaimParts
}

export interface ExecuteRequest {
  /** A RISC Zero program binary (user ELF wrapped with its kernel), see `wrap`. */
  readonly program: string
  /** Input bytes, handed to the guest as its stdin. */
  readonly input: string
  /** Segment size as a power of two of cycles (13..22: risc0 verifiers reject larger segments by default). */
  readonly po2: number
  /** Directory that receives segments, journal, stdout and stderr. */
  readonly outDir: string
  /** Hard limit on total cycles; execution fails beyond it. */
  readonly maxCycles?: number
  readonly signal?: AbortSignal
  /** Called as each segment is written, before execution finishes. */
  readonly onSegment?: (segment: SegmentInfo) => void
}

export interface ExecuteResult {
  readonly imageId: DigestHex
  readonly exitCode: ExitCode
  readonly userCycles: number
  readonly totalCycles: number
  readonly po2: number
  readonly segments: readonly SegmentInfo[]
  readonly journalPath: string
  readonly stdoutPath: string
  readonly stderrPath: string
  readonly executeMs: number
}

/** A dry run: `execute` without keeping anything, to tell what a job would be before it is one. */
export interface DryRunRequest {
  readonly program: string
  readonly input: string
  readonly po2: number
  readonly maxCycles?: number
  readonly signal?: AbortSignal
  /** Called as each segment is reached. */
  readonly onSegment?: (segment: { index: number; po2: number }) => void
}

/** What execution at that po2 makes: the same counts `execute` would give. */
export interface DryRunResult {
  readonly imageId: DigestHex
  readonly exitCode: ExitCode
  readonly userCycles: number
  readonly totalCycles: number
  readonly po2: number
  readonly segments: number
  readonly journalBytes: number
  readonly executeMs: number
}

export interface ProveSegmentRequest {
  readonly segment: string
  readonly out: string
  readonly signal?: AbortSignal
}

export interface ProveSegmentResult {
  readonly index: number
  readonly po2: number
  readonly path: string
  readonly bytes: number
  /** Digest of the segment receipt's claim; the client compares it with the expected claim. */
  readonly claimDigest: DigestHex
  readonly proveMs: number
}

export interface VerifySegmentRequest {
  readonly receipt: string
  /** The claim digest the execution produced for this segment (`SegmentInfo.claimDigest`). */
  readonly expectedClaim: DigestHex
  /** The segment index the receipt must be for. */
  readonly index: number
  readonly signal?: AbortSignal
}

export interface VerifySegmentResult {
  readonly index: number
  readonly claimDigest: DigestHex
  readonly verifyMs: number
}

/** What one segment receipt, checked on its own, shows: see `ProverPlugin.inspectSegment`. */
export interface SegmentEvidence {
  readonly index: number
  /** The trace size proved (2^po2 cycles), as the verified seal states it. */
  readonly po2: number
  readonly claimDigest: DigestHex
  readonly verifyMs: number
}

export interface AssembleRequest {
  /** Segment receipts in segment order. */
  readonly segmentReceipts: readonly string[]
  readonly journal: string
  readonly out: string
}

export interface ReceiptFile {
  readonly path: string
  readonly bytes: number
}

export type ReceiptKind = 'composite' | 'succinct' | 'groth16' | 'fake'

export interface VerifyRequest {
  readonly receipt: string
  readonly imageId: DigestHex
  /** When given, the receipt's journal must equal these bytes too. */
  readonly expectedJournal?: string
}

export interface VerifyResult {
  readonly kind: ReceiptKind
  /** The digest of the whole session's claim the receipt proves. */
  readonly claimDigest: DigestHex
  readonly journal: Uint8Array
  readonly exitCode: ExitCode
  readonly segments: number
  readonly verifyMs: number
}

export interface ProverPlugin {
  capabilities(): Promise<ProverCapabilities>
  /** Image ID of a program binary; rejects a malformed one with InvalidInputError. */
  imageId(program: string): Promise<DigestHex>
  execute(request: ExecuteRequest): Promise<ExecuteResult>
  /** Executes and keeps nothing (optional: a plugin without it cannot estimate jobs). */
  dryRun?(request: DryRunRequest): Promise<DryRunResult>
  proveSegment(request: ProveSegmentRequest): Promise<ProveSegmentResult>
  /**
   * Checks one segment receipt on its own: its seal verifies, it is for `index`, and its claim
   * equals `expectedClaim`. Rejects with VerificationError otherwise, naming what differs.
   */
  verifySegment(request: VerifySegmentRequest): Promise<VerifySegmentResult>
  /**
   * Checks a segment receipt of some other job (a prover's benchmark evidence): its seal verifies,
   * and it reports the po2 it was proved at and its claim. Rejects with VerificationError
   * otherwise. It says nothing about who proved it or how fast.
   */
  inspectSegment(request: { receipt: string; signal?: AbortSignal }): Promise<SegmentEvidence>
  /** The digest of a claim, computed by risc0's own code. */
  claimDigest(claim: ClaimParts): Promise<DigestHex>
  /**
   * Checks a succinct receipt (a lifted segment or a join) on its own: its seal verifies and it
   * proves exactly `expectedClaim`. Needs no recursion circuit (only proving does).
   */
  verifySuccinct(request: {
    receipt: string
    expectedClaim: ClaimParts
    signal?: AbortSignal
  }): Promise<{ claimDigest: DigestHex; verifyMs: number }>
  /** The JOIN stage's last receipt and the journal, as a standard risc0 receipt (succinct). */
  finalizeSuccinct(request: { receipt: string; journal: string; out: string }): Promise<ReceiptFile>
  /** Segment receipt to succinct receipt; UnavailableError without the recursion circuit. */
  lift(request: { receipt: string; out: string; signal?: AbortSignal }): Promise<ReceiptFile>
  /** Two adjacent succinct receipts to one; UnavailableError without the recursion circuit. */
  join(request: {
    left: string
    right: string
    out: string
    signal?: AbortSignal
  }): Promise<ReceiptFile>
  /** Segment receipts and the journal to a composite receipt (a standard risc0 `Receipt`). */
  assemble(request: AssembleRequest): Promise<ReceiptFile>
  /** Rejects with VerificationError when the receipt does not verify for the image ID. */
  verify(request: VerifyRequest): Promise<VerifyResult>
}
