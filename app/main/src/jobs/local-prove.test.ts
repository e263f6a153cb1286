// Local proving end to end through the plugin host and the real risc0 worker (no mocks).

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ExecutionError,
  InvalidInputError,
  VerificationError,
  type ProverPlugin,
} from '@wholesum/plugin-api'
import { openCore, REPO_ROOT, type Core } from '../core.ts'
import { proveLocally } from './local-prove.ts'

const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const program = (name: string): string => join(guests, 'dist', `${name}.bin`)
const sample = (name: string): string => join(guests, 'samples', name)

const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest()

let core: Core
let prover: ProverPlugin
let work: string

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wholesum-local-prove-'))
  core = await openCore({ home: join(work, 'home') })
  prover = await core.prover()
})

after(async () => {
  await core.close()
  await rm(work, { recursive: true, force: true })
})

describe('a tiny guest proved locally through the prover plugin', () => {
  let receipt: string
  let imageId: string
  let journal: Buffer
  let segmentClaim: string
  let segmentPo2: number

  test('gives a composite receipt that verifies, with journal, stdout and stderr harvested', async () => {
    const input = await readFile(sample('hello.input'))
    const events: string[] = []
    const result = await proveLocally(prover, {
      program: program('hello'),
      input: sample('hello.input'),
      outDir: join(work, 'hello'),
      po2: 16, // one segment: the quickest real proof
      onEvent: (event) => events.push(event.type),
    })
    receipt = result.receiptPath
    imageId = result.imageId
    segmentClaim = result.execution.segments[0]!.claimDigest
    segmentPo2 = result.execution.segments[0]!.po2
    journal = await readFile(result.journalPath)

    assert.equal(
      result.imageId,
      (await readFile(join(guests, 'dist', 'hello.imageid'), 'utf8')).trim(),
    )
    assert.deepEqual(result.execution.exitCode, { kind: 'halted', code: 0 })
    assert.equal(result.receiptKind, 'composite')
    assert.equal(result.verification.kind, 'composite')
    // hello commits [u32 LE input length][sha256(input)]: compare with an independent computation.
    const expected = Buffer.alloc(4)
    expected.writeUInt32LE(input.length)
    assert.deepEqual(journal, Buffer.concat([expected, sha256(input)]))
    assert.deepEqual(Buffer.from(result.verification.journal), journal)
    assert.match(await readFile(result.stdoutPath, 'utf8'), /hello/)
    assert.ok(events.includes('segment-proved') && events.at(-1) === 'verified')
    const summary = JSON.parse(await readFile(join(work, 'hello', 'job.json'), 'utf8'))
    assert.equal(summary.receipt.verified, true)
  })

  test('a segment receipt checked on its own: for its index and claim only; as evidence, its po2', async () => {
    const segment = join(work, 'hello', 'receipts', 'segment-00000.receipt')
    const ok = await prover.verifySegment({
      receipt: segment,
      expectedClaim: segmentClaim,
      index: 0,
    })
    assert.equal(ok.claimDigest, segmentClaim)
    await assert.rejects(
      prover.verifySegment({ receipt: segment, expectedClaim: segmentClaim, index: 1 }),
      (err: unknown) =>
        err instanceof VerificationError && /for segment 0, not segment 1/.test(err.message),
    )
    await assert.rejects(
      prover.verifySegment({ receipt: segment, expectedClaim: 'ab'.repeat(32), index: 0 }),
      (err: unknown) => err instanceof VerificationError && /not the expected/.test(err.message),
    )
    const evidence = await prover.inspectSegment({ receipt: segment })
    assert.deepEqual(
      { index: evidence.index, po2: evidence.po2, claimDigest: evidence.claimDigest },
      // hello's one segment is shorter than the po2 16 limit: the trace proved is its own size.
      { index: 0, po2: segmentPo2, claimDigest: segmentClaim },
    )
    const tampered = Buffer.from(await readFile(segment))
    tampered[Math.floor(tampered.length / 2)]! ^= 0xff
    const path = join(work, 'tampered-segment.receipt')
    await writeFile(path, tampered)
    await assert.rejects(
      prover.inspectSegment({ receipt: path }),
      (err: unknown) => err instanceof VerificationError && /does not verify/.test(err.message),
    )
  })

  test('the receipt verifies again from its file alone', async () => {
    const again = await prover.verify({ receipt, imageId })
    assert.deepEqual(Buffer.from(again.journal), journal)
  })

  test('a wrong image ID is rejected', async () => {
    const wrong = 'ab'.repeat(32)
    await assert.rejects(prover.verify({ receipt, imageId: wrong }), VerificationError)
  })

  test('a tampered seal is rejected', async () => {
    const bytes = await readFile(receipt)
    const tampered = Buffer.from(bytes)
    const at = Math.floor(tampered.length / 2)
    tampered[at] = tampered[at]! ^ 0x01
    const path = join(work, 'tampered-seal.bin')
    await writeFile(path, tampered)
    // Still a well-formed receipt: the proof itself must fail, not the parser.
    await assert.rejects(
      prover.verify({ receipt: path, imageId }),
      (err: unknown) => err instanceof VerificationError && /does not verify/.test(err.message),
    )
  })

  test('a tampered journal is rejected', async () => {
    const bytes = await readFile(receipt)
    // The journal bytes sit in the serialized receipt after the inner receipt: find and flip one.
    const at = bytes.lastIndexOf(journal.subarray(4, 20))
    assert.ok(at > 0, 'journal found inside the receipt')
    const tampered = Buffer.from(bytes)
    tampered[at] = tampered[at]! ^ 0xff
    const path = join(work, 'tampered-journal.bin')
    await writeFile(path, tampered)
    await assert.rejects(
      prover.verify({ receipt: path, imageId }),
      (err: unknown) => err instanceof VerificationError && /does not verify/.test(err.message),
    )
  })

  test('a receipt whose journal differs from the expected journal is rejected', async () => {
    const other = join(work, 'other-journal.bin')
    await writeFile(other, Buffer.from('not the journal'))
    await assert.rejects(
      prover.verify({ receipt, imageId, expectedJournal: other }),
      VerificationError,
    )
  })

  test('a receipt with one byte appended is refused: it is not the object its CID names', async () => {
    const path = join(work, 'trailing.bin')
    await writeFile(path, Buffer.concat([await readFile(receipt), Buffer.of(0)]))
    await assert.rejects(
      prover.verify({ receipt: path, imageId }),
      (err: unknown) => err instanceof VerificationError && /trailing|bytes/i.test(err.message),
    )
  })

  test('a file that is not a receipt is rejected as a verification failure', async () => {
    const path = join(work, 'garbage.bin')
    await writeFile(path, Buffer.from('definitely not a receipt'))
    await assert.rejects(prover.verify({ receipt: path, imageId }), VerificationError)
  })
})

describe('bad input is rejected before or during execution with a clear error', () => {
  const attempt = (programPath: string, inputPath: string) =>
    proveLocally(prover, {
      program: programPath,
      input: inputPath,
      outDir: join(work, 'bad'),
      po2: 14,
    })

  test('a file that is neither ELF nor program binary', async () => {
    const path = join(work, 'not-elf.bin')
    await writeFile(path, Buffer.from('hello world, not a program'))
    await assert.rejects(
      attempt(path, sample('hello.input')),
      (err: unknown) => err instanceof InvalidInputError && err.code === 'INVALID_PROGRAM',
    )
  })

  test('a malformed ELF (valid magic, garbage after it): refused before the worker runs', async () => {
    const path = join(work, 'broken.elf')
    await writeFile(
      path,
      Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(200, 0x5a)]),
    )
    await assert.rejects(attempt(path, sample('hello.input')), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, String(err))
      assert.equal(err.code, 'INVALID_PROGRAM')
      assert.match(err.message, /the zkVM runs 32-bit little-endian RISC-V/)
      return true
    })
  })

  test('a RISC-V ELF without a loadable segment is refused before the worker runs', async () => {
    const path = join(work, 'nothing-to-load.elf')
    await writeFile(path, Buffer.concat([riscvElfHeader(0x5a5a5a5a), Buffer.alloc(200, 0x5a)]))
    await assert.rejects(attempt(path, sample('hello.input')), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, String(err))
      assert.equal(err.code, 'INVALID_PROGRAM')
      assert.match(err.message, /no loadable segment/)
      return true
    })
  })

  test('a well-formed RISC-V ELF whose code is garbage: the worker runs it and says it faulted', async () => {
    const path = join(work, 'garbage-code.elf')
    await writeFile(path, Buffer.concat([riscvElfHeader(1), Buffer.alloc(200, 0x5a)]))
    await assert.rejects(attempt(path, sample('hello.input')), (err: unknown) => {
      assert.ok(err instanceof ExecutionError, String(err))
      assert.match(err.message, /guest execution failed/)
      return true
    })
  })

  test('an empty input', async () => {
    const path = join(work, 'empty.input')
    await writeFile(path, Buffer.alloc(0))
    await assert.rejects(
      attempt(program('hello'), path),
      (err: unknown) => err instanceof InvalidInputError && err.code === 'EMPTY_INPUT',
    )
  })

  test('an oversized input', async () => {
    const path = join(work, 'huge.input')
    await writeFile(path, Buffer.alloc(0))
    await truncate(path, 64 * 1024 * 1024 + 1) // sparse: costs no disk
    await assert.rejects(
      attempt(program('hello'), path),
      (err: unknown) => err instanceof InvalidInputError && err.code === 'INPUT_TOO_LARGE',
    )
  })

  test('a missing input file', async () => {
    await assert.rejects(
      attempt(program('hello'), join(work, 'nope.input')),
      (err: unknown) => err instanceof InvalidInputError && /cannot read input/.test(err.message),
    )
  })

  test('a segment po2 outside what risc0 supports', async () => {
    await assert.rejects(
      proveLocally(prover, {
        program: program('hello'),
        input: sample('hello.input'),
        outDir: join(work, 'bad'),
        po2: 30,
      }),
      (err: unknown) => err instanceof InvalidInputError && /po2 30/.test(err.message),
    )
  })

  test('a guest that panics on its input reports an execution error', async () => {
    const path = join(work, 'short.input')
    await writeFile(path, Buffer.from([1, 2, 3])) // hashchain needs 36 bytes
    await assert.rejects(attempt(program('hashchain'), path), ExecutionError)
  })

  test('an expected image ID that does not match the program', async () => {
    await assert.rejects(
      proveLocally(prover, {
        program: program('hello'),
        input: sample('hello.input'),
        outDir: join(work, 'bad'),
        po2: 14,
        expectedImageId: '00'.repeat(32),
      }),
      VerificationError,
    )
  })
})

describe('a multi-segment run', () => {
  test('splits into several segments at a small po2 and its composite receipt verifies', async () => {
    const input = await readFile(sample('hashchain-small.input'))
    const result = await proveLocally(prover, {
      program: program('hashchain'),
      input: sample('hashchain-small.input'),
      outDir: join(work, 'chain'),
      po2: 16, // three segments (po2 14 would give 18: every segment pays page-in/out again)
    })
    assert.ok(
      result.execution.segments.length >= 3,
      `expected >= 3 segments, got ${result.execution.segments.length}`,
    )
    assert.equal(result.segmentProofs.length, result.execution.segments.length)
    assert.deepEqual(
      result.segmentProofs.map((p) => p.index),
      result.execution.segments.map((s) => s.index),
    )
    assert.equal(result.verification.segments, result.execution.segments.length)

    // hashchain commits [u32 LE rounds][sha256^rounds(seed)]: recompute it here.
    const rounds = input.readUInt32LE(0)
    let digest: Buffer = input.subarray(4, 36)
    for (let i = 0; i < rounds; i++) digest = sha256(digest)
    const journal = await readFile(result.journalPath)
    assert.equal(journal.readUInt32LE(0), rounds)
    assert.deepEqual(journal.subarray(4, 36), digest)
  })
})

/**
 * A 32-bit little-endian RISC-V ELF header with one program header of type `pType` that loads
 * the whole file (header included) at 0x200000 and enters right after the headers.
 */
function riscvElfHeader(pType: number): Buffer {
  const header = Buffer.alloc(84)
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]).copy(header)
  header.writeUInt16LE(2, 16) // ET_EXEC
  header.writeUInt16LE(243, 18) // EM_RISCV
  header.writeUInt32LE(1, 20)
  header.writeUInt32LE(0x200000 + 84, 24) // e_entry: the first byte after the headers
  header.writeUInt32LE(52, 28) // e_phoff
  header.writeUInt16LE(52, 40)
  header.writeUInt16LE(32, 42) // e_phentsize
  header.writeUInt16LE(1, 44) // e_phnum
  header.writeUInt32LE(pType, 52) // p_type
  header.writeUInt32LE(0, 56) // p_offset
  header.writeUInt32LE(0x200000, 60) // p_vaddr
  header.writeUInt32LE(0x200000, 64) // p_paddr
  header.writeUInt32LE(284, 68) // p_filesz: header and garbage
  header.writeUInt32LE(284, 72) // p_memsz
  header.writeUInt32LE(5, 76) // p_flags: R+X
  header.writeUInt32LE(4, 80) // p_align
  return header
}
