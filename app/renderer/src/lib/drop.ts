// What the Submit view does with dropped or picked files: read them, check them the way the node
// will, and tell the program from the input when both come in one drop.

import { checkProgram, isProgramProblem } from '@wholesum/api-client'
import { bytes as formatBytes } from './format.ts'

export interface Limits {
  readonly maxProgramBytes: number
  readonly maxInputBytes: number
}

export interface Checked {
  readonly file: File
  readonly ok: boolean
  /** What is wrong (ok false), or what the file is (ok true). */
  readonly message: string
}

export async function checkProgramFile(file: File, limits: Limits): Promise<Checked> {
  if (file.size > limits.maxProgramBytes) {
    return {
      file,
      ok: false,
      message: `${file.name} is ${formatBytes(file.size)}, over the node's ${formatBytes(limits.maxProgramBytes)} program limit`,
    }
  }
  const verdict = checkProgram(new Uint8Array(await file.arrayBuffer()), limits.maxProgramBytes)
  if (isProgramProblem(verdict)) {
    return { file, ok: false, message: `${file.name}: ${verdict.message}` }
  }
  const kind = verdict.kind === 'program-binary' ? 'RISC Zero program binary' : 'RISC-V guest ELF'
  return { file, ok: true, message: `${file.name}: ${kind}, ${formatBytes(file.size)}` }
}

export function checkInputFile(file: File, limits: Limits): Checked {
  if (file.size === 0) {
    return { file, ok: false, message: `${file.name} is empty; a job needs input bytes` }
  }
  if (file.size > limits.maxInputBytes) {
    return {
      file,
      ok: false,
      message: `${file.name} is ${formatBytes(file.size)}, over the node's ${formatBytes(limits.maxInputBytes)} input limit`,
    }
  }
  return { file, ok: true, message: `${file.name}: ${formatBytes(file.size)} of input` }
}

/** Two files dropped at once: the one that passes as a program is the program. */
export async function sortDrop(
  files: readonly File[],
  limits: Limits,
): Promise<{ program?: Checked; input?: Checked }> {
  if (files.length === 1) return { program: await checkProgramFile(files[0]!, limits) }
  const [a, b] = files as [File, File]
  const first = await checkProgramFile(a, limits)
  if (first.ok) return { program: first, input: checkInputFile(b, limits) }
  const second = await checkProgramFile(b, limits)
  if (second.ok) return { program: second, input: checkInputFile(a, limits) }
  return { program: first }
}
