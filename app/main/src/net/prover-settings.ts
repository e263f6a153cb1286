// A prover's settings: what the user set in settings.json (`prover` section), else what this
// machine has. Every field has a unit; bad values are refused with the field's name.

import { availableParallelism, totalmem } from 'node:os'
import { InvalidInputError } from '@wholesum/plugin-api'
import type { ProverSettings } from '../pipeline/market.ts'

export interface ProverSettingsInput {
  /** wei per segment, decimal string or integer. */
  readonly minPricePerSegment?: string | number
  readonly maxConcurrentJobs?: number
  readonly maxConcurrentSegments?: number
  readonly memoryMiB?: number
  readonly cpus?: number
  readonly maxPo2?: number
  /** Cycles per second this machine proves at (the benchmark's figure). */
  readonly hz?: number
}

function positiveInteger(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `prover setting ${field} must be a positive integer, got ${JSON.stringify(value)}`,
    )
  }
  return value
}

export function proverSettings(
  input: ProverSettingsInput = {},
  machine: { recursion: boolean; accelerator: 'cpu' | 'cuda' | 'metal' },
): ProverSettings {
  let minPrice: bigint
  try {
    minPrice = BigInt(input.minPricePerSegment ?? 1)
  } catch {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `prover setting minPricePerSegment is not an integer: ${String(input.minPricePerSegment)}`,
    )
  }
  if (minPrice < 0n)
    throw new InvalidInputError('INVALID_INPUT', 'prover setting minPricePerSegment is negative')
  const maxPo2 = positiveInteger(input.maxPo2, 'maxPo2', 22)
  if (maxPo2 < 13 || maxPo2 > 22) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `prover setting maxPo2 must be 13..22, got ${maxPo2}`,
    )
  }
  return {
    minPricePerSegment: minPrice,
    maxConcurrentJobs: positiveInteger(input.maxConcurrentJobs, 'maxConcurrentJobs', 1),
    // One segment at a time: the risc0 CPU prover already uses every core for one segment.
    maxConcurrentSegments: positiveInteger(input.maxConcurrentSegments, 'maxConcurrentSegments', 1),
    memoryMiB: positiveInteger(input.memoryMiB, 'memoryMiB', Math.floor(totalmem() / 1024 / 1024)),
    cpus: positiveInteger(input.cpus, 'cpus', availableParallelism()),
    accelerator: machine.accelerator,
    recursion: machine.recursion,
    maxPo2,
    hz: input.hz ?? 0,
  }
}
