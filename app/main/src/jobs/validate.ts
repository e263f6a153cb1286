// Checks a job's program and input files against the limits before anything is executed.

import { open, stat } from 'node:fs/promises'
import { InvalidInputError } from '@wholesum/plugin-api'
import type { JobLimits } from './limits.ts'

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46])
/** risc0-binfmt program binaries start with this magic ("R0BF"). */
const PROGRAM_BINARY_MAGIC = Buffer.from('R0BF', 'ascii')

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

async function head(path: string, bytes: number): Promise<Buffer> {
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(bytes)
    const { bytesRead } = await file.read(buffer, 0, bytes, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await file.close()
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
  const magic = await head(path, 4)
  if (!magic.equals(ELF_MAGIC) && !magic.equals(PROGRAM_BINARY_MAGIC)) {
    throw new InvalidInputError(
      'INVALID_PROGRAM',
      `program ${path} is neither an ELF nor a RISC Zero program binary (starts with ${magic.toString('hex') || 'nothing'})`,
    )
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
