// Checks a job's program and input files against the limits before anything is executed.

import { readFile, stat } from 'node:fs/promises'
import { checkProgram, isProgramProblem } from '@wholesum/api-client'
import { InvalidInputError } from '@wholesum/plugin-api'
import type { JobLimits } from './limits.ts'

async function sizeOf(path: string, what: string): Promise<number> {
  try {
    const info = await stat(path)
    if (!info.isFile())
      throw new InvalidInputError('INVALID_INPUT', `${what} ${path} is not a regular file`)
    return info.size
  } catch (err) {
    if (err instanceof InvalidInputError) throw err
    throw new InvalidInputError(
      'INVALID_INPUT',
      `cannot read ${what} ${path}: ${(err as Error).message}`,
      { cause: err },
    )
  }
}

export async function validateProgram(path: string, limits: JobLimits): Promise<void> {
  const size = await sizeOf(path, 'program')
  if (size === 0) throw new InvalidInputError('INVALID_PROGRAM', `program ${path} is empty`)
  if (size > limits.maxProgramBytes) {
    throw new InvalidInputError(
      'INPUT_TOO_LARGE',
      `program ${path} is ${size} bytes, over the ${limits.maxProgramBytes}-byte limit`,
    )
  }
  // Within the limit, so the whole file is read: a truncated program is caught here, not after
  // the worker has executed half of it.
  const verdict = checkProgram(await readFile(path), limits.maxProgramBytes)
  if (isProgramProblem(verdict)) {
    throw new InvalidInputError(verdict.code, `${verdict.message} (${path})`)
  }
}

export async function validateInput(path: string, limits: JobLimits): Promise<number> {
  const size = await sizeOf(path, 'input')
  if (size === 0)
    throw new InvalidInputError('EMPTY_INPUT', `input ${path} is empty; a job needs input bytes`)
  if (size > limits.maxInputBytes) {
    throw new InvalidInputError(
      'INPUT_TOO_LARGE',
      `input ${path} is ${size} bytes, over the ${limits.maxInputBytes}-byte limit`,
    )
  }
  return size
}

export function validatePo2(po2: number, limits: JobLimits): void {
  if (!Number.isInteger(po2) || po2 < limits.minPo2 || po2 > limits.maxPo2) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `segment po2 ${po2} is outside ${limits.minPo2}..${limits.maxPo2}`,
    )
  }
}
