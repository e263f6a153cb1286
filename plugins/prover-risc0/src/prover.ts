// The `prover` capability over the Rust worker: each method is one worker request.

import type {
  AssembleRequest,
  ClaimParts,
  DigestHex,
  DryRunRequest,
  DryRunResult,
  ExecuteRequest,
  ExecuteResult,
  ProveSegmentRequest,
  ProveSegmentResult,
  ProverCapabilities,
  ProverPlugin,
  ReceiptFile,
  SegmentInfo,
  VerifyRequest,
  VerifyResult,
  SegmentEvidence,
  VerifySegmentRequest,
  VerifySegmentResult,
} from '@wholesum/plugin-api'
import type { WorkerRequester } from './worker-client.ts'

interface WireVerifyResult extends Omit<VerifyResult, 'journal'> {
  readonly journalHex: string
}

export interface Risc0ProverLimits {
  /** Kills a segment proof that takes longer than this (ms); undefined: no limit. */
  readonly proveTimeoutMs?: number
  readonly executeTimeoutMs?: number
}

export class Risc0Prover implements ProverPlugin {
  readonly #worker: WorkerRequester
  readonly #limits: Risc0ProverLimits

  constructor(worker: WorkerRequester, limits: Risc0ProverLimits = {}) {
    this.#worker = worker
    this.#limits = limits
  }

  async capabilities(): Promise<ProverCapabilities> {
    return (await this.#worker.start()) as ProverCapabilities
  }

  async imageId(program: string): Promise<DigestHex> {
    const { imageId } = await this.#worker.request<{ imageId: string }>('image-id', { program })
    return imageId
  }

  /** Wraps a user ELF with the v1compat kernel into a program binary; returns its image ID. */
  async wrap(elf: string, out: string): Promise<DigestHex> {
    const { imageId } = await this.#worker.request<{ imageId: string }>('wrap', { elf, out })
    return imageId
  }

  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    const { program, input, po2, outDir, maxCycles, signal, onSegment } = request
    return this.#worker.request<ExecuteResult>(
      'execute',
      { program, input, po2, outDir, ...(maxCycles !== undefined ? { maxCycles } : {}) },
      {
        signal,
        timeoutMs: this.#limits.executeTimeoutMs,
        onEvent: (event, data) => {
          if (event === 'segment') onSegment?.(data as SegmentInfo)
        },
      },
    )
  }

  async dryRun(request: DryRunRequest): Promise<DryRunResult> {
    const { program, input, po2, maxCycles, signal, onSegment } = request
    return this.#worker.request<DryRunResult>(
      'dry-run',
      { program, input, po2, ...(maxCycles !== undefined ? { maxCycles } : {}) },
      {
        signal,
        timeoutMs: this.#limits.executeTimeoutMs,
        onEvent: (event, data) => {
          if (event === 'segment') onSegment?.(data as { index: number; po2: number })
        },
      },
    )
  }

  async proveSegment(request: ProveSegmentRequest): Promise<ProveSegmentResult> {
    const { segment, out, signal } = request
    return this.#worker.request<ProveSegmentResult>(
      'prove-segment',
      { segment, out },
      { signal, timeoutMs: this.#limits.proveTimeoutMs },
    )
  }

  async verifySegment(request: VerifySegmentRequest): Promise<VerifySegmentResult> {
    const { receipt, expectedClaim, index, signal } = request
    return this.#worker.request<VerifySegmentResult>(
      'verify-segment',
      { receipt, expectedClaim, index },
      { signal },
    )
  }

  async claimDigest(claim: ClaimParts): Promise<DigestHex> {
    const reply = await this.#worker.request<{ claimDigest: DigestHex }>('claim-digest', { claim })
    return reply.claimDigest
  }

  async verifySuccinct(request: {
    receipt: string
    expectedClaim: ClaimParts
    signal?: AbortSignal
  }): Promise<{ claimDigest: DigestHex; verifyMs: number }> {
    const { receipt, expectedClaim, signal } = request
    return this.#worker.request('verify-succinct', { receipt, expectedClaim }, { signal })
  }

  async finalizeSuccinct(request: {
    receipt: string
    journal: string
    out: string
  }): Promise<ReceiptFile> {
    return this.#worker.request<ReceiptFile>('finalize-succinct', { ...request })
  }

  async inspectSegment(request: {
    receipt: string
    signal?: AbortSignal
  }): Promise<SegmentEvidence> {
    const { receipt, signal } = request
    return this.#worker.request<SegmentEvidence>('inspect-segment', { receipt }, { signal })
  }

  async lift(request: {
    receipt: string
    out: string
    signal?: AbortSignal
  }): Promise<ReceiptFile> {
    const { receipt, out, signal } = request
    return this.#worker.request<ReceiptFile>('lift', { receipt, out }, { signal })
  }

  async join(request: {
    left: string
    right: string
    out: string
    signal?: AbortSignal
  }): Promise<ReceiptFile> {
    const { left, right, out, signal } = request
    return this.#worker.request<ReceiptFile>('join', { left, right, out }, { signal })
  }

  async assemble(request: AssembleRequest): Promise<ReceiptFile> {
    const { segmentReceipts, journal, out } = request
    return this.#worker.request<ReceiptFile>('assemble', { segmentReceipts, journal, out })
  }

  async verify(request: VerifyRequest): Promise<VerifyResult> {
    const { receipt, imageId, expectedJournal } = request
    const wire = await this.#worker.request<WireVerifyResult>('verify', {
      receipt,
      imageId,
      ...(expectedJournal !== undefined ? { expectedJournal } : {}),
    })
    const { journalHex, ...rest } = wire
    return { ...rest, journal: Uint8Array.from(Buffer.from(journalHex, 'hex')) }
  }
}
