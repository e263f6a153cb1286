// Is this file a program the zkVM can run? The same structural checks in the page (at drop time)
// and in the node (at submit time): a RISC Zero program binary (risc0-binfmt's "R0BF" container of
// a user ELF and a kernel ELF) or a plain guest ELF, 32-bit little-endian RISC-V, whole.
// Pure: bytes in, a verdict out; no Node built-ins, so the renderer bundles it as it is.

/** Why a file is not a program; `code` is the API's error code for the same refusal. */
export interface ProgramProblem {
  readonly code: 'INVALID_PROGRAM' | 'INPUT_TOO_LARGE'
  readonly message: string
}

export interface ProgramShape {
  readonly kind: 'program-binary' | 'elf'
  /** The user ELF's entry point. */
  readonly entry: number
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]
const R0BF_MAGIC = [0x52, 0x30, 0x42, 0x46] // "R0BF"
const R0BF_VERSION = 1
const ELF32_HEADER_BYTES = 52
const EM_RISCV = 243
const PT_LOAD = 1

/** e_machine values a wrong drop is likely to carry, to say what the file is instead. */
const MACHINES: Record<number, string> = {
  3: 'x86',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
}

const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b)

const problem = (message: string): ProgramProblem => ({ code: 'INVALID_PROGRAM', message })

/** Checks one ELF image (the whole of it) for the zkVM: its entry point, or what is wrong. */
function checkElf(elf: Uint8Array, what: string): ProgramProblem | { entry: number } {
  if (!startsWith(elf, ELF_MAGIC)) return problem(`${what} does not start with an ELF header`)
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength)
  const elfClass = elf[4]
  const data = elf[5]
  // e_machine sits at 18 in both classes; read it first to say what the file is for.
  const machine = elf.length >= 20 ? view.getUint16(18, data !== 2) : -1
  const arch = MACHINES[machine] ?? `machine ${machine}`
  if (elfClass !== 1 || data !== 1 || machine !== EM_RISCV) {
    const bits = elfClass === 2 ? '64-bit' : elfClass === 1 ? '32-bit' : 'unknown-class'
    return problem(
      `${what} is a ${bits} ${data === 2 ? 'big-endian ' : ''}ELF for ${arch}; the zkVM runs 32-bit little-endian RISC-V (riscv32im) programs`,
    )
  }
  if (elf.length < ELF32_HEADER_BYTES) {
    return problem(`${what} is truncated: ${elf.length} bytes, less than an ELF header`)
  }
  const entry = view.getUint32(24, true)
  const tables: [string, number, number, number][] = [
    [
      'program headers',
      view.getUint32(28, true),
      view.getUint16(42, true),
      view.getUint16(44, true),
    ],
    [
      'section headers',
      view.getUint32(32, true),
      view.getUint16(46, true),
      view.getUint16(48, true),
    ],
  ]
  for (const [name, offset, entrySize, count] of tables) {
    const end = offset + entrySize * count
    if (count > 0 && end > elf.length) {
      return problem(
        `${what} is truncated: its ${name} end at byte ${end}, past its ${elf.length} bytes`,
      )
    }
  }
  // At least one loadable segment, and every loadable segment's bytes inside the file.
  const [, phOffset, phSize, phCount] = tables[0]!
  let loadable = 0
  for (let i = 0; i < phCount; i++) {
    const at = phOffset + i * phSize
    if (view.getUint32(at, true) !== PT_LOAD) continue
    loadable += 1
    const end = view.getUint32(at + 4, true) + view.getUint32(at + 16, true)
    if (end > elf.length) {
      return problem(
        `${what} is truncated: a loadable segment ends at byte ${end}, past its ${elf.length} bytes`,
      )
    }
  }
  if (loadable === 0) return problem(`${what} has no loadable segment: nothing to run`)
  return { entry }
}

/**
 * The verdict on a whole file: its shape, or the problem a user should be told about.
 * `maxBytes` is the node's program limit (`GET /v1/info`, `limits.maxProgramBytes`).
 */
export function checkProgram(bytes: Uint8Array, maxBytes: number): ProgramShape | ProgramProblem {
  if (bytes.length === 0) return problem('the program is empty')
  if (bytes.length > maxBytes) {
    return {
      code: 'INPUT_TOO_LARGE',
      message: `the program is ${bytes.length} bytes, over the ${maxBytes}-byte limit`,
    }
  }
  if (startsWith(bytes, ELF_MAGIC)) {
    const elf = checkElf(bytes, 'the program')
    return 'code' in elf ? elf : { kind: 'elf', entry: elf.entry }
  }
  if (!startsWith(bytes, R0BF_MAGIC)) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('')
    return problem(
      `the program is neither a RISC Zero program binary nor an ELF (it starts with ${head})`,
    )
  }
  // risc0-binfmt: magic, u32 version, u32 header length, header, u32 user ELF length, user ELF,
  // then the kernel ELF to the end of the file; every integer little-endian.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u32 = (at: number): number | undefined =>
    at + 4 <= bytes.length ? view.getUint32(at, true) : undefined
  const version = u32(4)
  if (version !== R0BF_VERSION) {
    return problem(
      version === undefined
        ? 'the program binary is truncated in its header'
        : `the program binary has format version ${version}; this node reads version ${R0BF_VERSION}`,
    )
  }
  const headerLength = u32(8)
  const userLengthAt = 12 + (headerLength ?? 0)
  const userLength = headerLength === undefined ? undefined : u32(userLengthAt)
  const userStart = userLengthAt + 4
  if (userLength === undefined || userStart + userLength > bytes.length) {
    return problem('the program binary is truncated: its user ELF does not fit in the file')
  }
  const user = checkElf(bytes.subarray(userStart, userStart + userLength), "the program's user ELF")
  if ('code' in user) return user
  const kernel = bytes.subarray(userStart + userLength)
  if (kernel.length === 0) return problem('the program binary is truncated: it has no kernel ELF')
  const kernelCheck = checkElf(kernel, "the program's kernel ELF")
  if ('code' in kernelCheck) return kernelCheck
  return { kind: 'program-binary', entry: user.entry }
}

export const isProgramProblem = (v: ProgramShape | ProgramProblem): v is ProgramProblem =>
  'code' in v
