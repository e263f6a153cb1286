// Size and shape limits applied to every job before any work starts, with their defaults.

export interface JobLimits {
  /** Largest program binary accepted (bytes). risc0 guests are usually well under 10 MiB. */
  readonly maxProgramBytes: number
  /** Largest input accepted (bytes); heavy inputs belong in storage, by CID. */
  readonly maxInputBytes: number
  readonly minPo2: number
  readonly maxPo2: number
  /** Hard cap on guest cycles, so a runaway guest cannot hold a prover forever. */
  readonly maxCycles: number
}

export const DEFAULT_JOB_LIMITS: JobLimits = {
  maxProgramBytes: 32 * 1024 * 1024,
  maxInputBytes: 64 * 1024 * 1024,
  // risc0 3.0's executor cannot split any program into 8,192-cycle segments (po2 13).
  minPo2: 14,
  maxPo2: 22,
  maxCycles: 4 * 1024 * 1024 * 1024,
}

/** risc0's default segment size; a prover's memory roughly halves per po2 step below it. */
export const DEFAULT_PO2 = 20
