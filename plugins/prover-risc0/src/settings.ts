// The prover plugin's settings, with units and defaults, read from its settings section.

import { InvalidInputError } from '@wholesum/plugin-api'
import type { ContainerLimits } from './container/container-worker.ts'

export const DEFAULT_IMAGE = 'localhost/wholesum-risc0-worker:0.1.0'

export interface ProverSettings {
  /** `local`: the worker is a child process; `container`: each request runs in a fresh container. */
  readonly mode: 'local' | 'container'
  /** Path of the worker binary (local mode); default: the project's build cache. */
  readonly workerPath?: string
  /** Kill a segment proof after this many ms (both modes); default: no limit. */
  readonly proveTimeoutMs?: number
  readonly executeTimeoutMs?: number
  readonly container: {
    readonly image: string
    /** Docker-compatible socket; default: discovered (see container/engine.ts). */
    readonly socket?: string
    /** Timeout of any one containerised request, ms; default 1 hour. */
    readonly timeoutMs: number
    readonly limits: ContainerLimits
  }
}

const MiB = 2 ** 20

function number(settings: Readonly<Record<string, unknown>>, key: string): number | undefined {
  const value = settings[key]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `prover-risc0 setting ${key} must be a positive number, got ${JSON.stringify(value)}`,
    )
  }
  return value
}

function string(settings: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = settings[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `prover-risc0 setting ${key} must be a non-empty string`,
    )
  }
  return value
}

export function readSettings(settings: Readonly<Record<string, unknown>>): ProverSettings {
  const mode = settings['mode'] ?? 'local'
  if (mode !== 'local' && mode !== 'container') {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `prover-risc0 setting mode must be "local" or "container", got ${JSON.stringify(mode)}`,
    )
  }
  const workerPath = string(settings, 'workerPath')
  const proveTimeoutMs = number(settings, 'proveTimeoutMs')
  const executeTimeoutMs = number(settings, 'executeTimeoutMs')
  const socket = string(settings, 'containerSocket')
  const cpus = number(settings, 'cpus')
  return {
    mode,
    ...(workerPath !== undefined ? { workerPath } : {}),
    ...(proveTimeoutMs !== undefined ? { proveTimeoutMs } : {}),
    ...(executeTimeoutMs !== undefined ? { executeTimeoutMs } : {}),
    container: {
      image: string(settings, 'containerImage') ?? DEFAULT_IMAGE,
      ...(socket !== undefined ? { socket } : {}),
      timeoutMs: number(settings, 'containerTimeoutMs') ?? 60 * 60 * 1000,
      limits: {
        memoryBytes: (number(settings, 'memoryMiB') ?? 8192) * MiB,
        ...(cpus !== undefined ? { cpus } : {}),
        pids: number(settings, 'pids') ?? 256,
        tmpBytes: (number(settings, 'tmpMiB') ?? 256) * MiB,
      },
    },
  }
}
