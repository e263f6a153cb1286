// Commands that work on this machine alone: prove --local, verify, image-id, capabilities.

import { resolve } from 'node:path'
import { DEFAULT_JOB_LIMITS, DEFAULT_PO2 } from '../../jobs/limits.ts'
import { proveLocally } from '../../jobs/local-prove.ts'
import { existingFile, integer, need, parseCommand, UsageError } from '../args.ts'
import type { CommandRun } from '../commands.ts'
import { onInterrupt } from '../interrupt.ts'
import { plainProgress, ttyProgress } from '../progress.ts'
import { withCore } from './open.ts'

const PO2_RANGE = { min: DEFAULT_JOB_LIMITS.minPo2, max: DEFAULT_JOB_LIMITS.maxPo2 }

export const prove: CommandRun = async (argv, context) => {
  const { values, positionals } = parseCommand(argv, {
    local: { type: 'boolean' },
    input: { type: 'string', short: 'i' },
    po2: { type: 'string' },
    out: { type: 'string', short: 'o' },
    'image-id': { type: 'string' },
    'keep-segments': { type: 'boolean' },
    json: { type: 'boolean' },
  })
  if (values.local !== true) {
    throw new UsageError(
      'prove works on this machine only (--local); to prove on the network, run a node and `wholesum submit`',
    )
  }
  const programPath = resolve(need(positionals[0], '<program>'))
  const inputPath = resolve(need(values.input, '--input <file>'))
  const program = await existingFile(programPath, 'program')
  const input = await existingFile(inputPath, 'input')
  const po2 = integer(values.po2, '--po2', PO2_RANGE, DEFAULT_PO2)
  const outDir = resolve(
    values.out ?? `wholesum-out-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  )
  return withCore(context, async (core) => {
    const view =
      process.stderr.isTTY && values.json !== true
        ? ttyProgress(process.stderr)
        : plainProgress((line) => process.stderr.write(line + '\n'))
    const prover = await core.prover()
    // SIGTERM or Ctrl-C stops the worker too, instead of leaving it writing into the job folder.
    const interrupt = onInterrupt()
    try {
      const result = await proveLocally(prover, {
        program,
        input,
        outDir,
        po2,
        signal: interrupt.signal,
        ...(values['image-id'] !== undefined ? { expectedImageId: values['image-id'] } : {}),
        keepSegments: values['keep-segments'] === true,
        onEvent: (event) => view.onEvent(event),
      })
      view.stop()
      const summary = {
        jobId: result.jobId,
        imageId: result.imageId,
        receipt: result.receiptPath,
        receiptKind: result.receiptKind,
        journalHex: Buffer.from(result.verification.journal).toString('hex'),
        segments: result.execution.segments.length,
        cycles: result.execution.totalCycles,
        timings: result.timings,
        outDir,
      }
      if (values.json === true) process.stdout.write(JSON.stringify(summary) + '\n')
      else {
        process.stdout.write(
          `receipt verified (${result.receiptKind}, ${summary.segments} segments, ${summary.cycles} cycles)\n`,
        )
        process.stdout.write(
          `  image ID  ${result.imageId}\n  journal   ${summary.journalHex || '(empty)'}\n  outputs   ${outDir}\n`,
        )
      }
      return 0
    } catch (err) {
      if (interrupt.signal.aborted) {
        process.stderr.write(`wholesum prove: stopped; what was written so far is in ${outDir}\n`)
        return 130
      }
      throw err
    } finally {
      view.stop()
      interrupt.done()
    }
  })
}

export const verify: CommandRun = async (argv, context) => {
  const { values, positionals } = parseCommand(argv, {
    'image-id': { type: 'string' },
    journal: { type: 'string' },
    json: { type: 'boolean' },
  })
  const receipt = await existingFile(resolve(need(positionals[0], '<receipt>')), 'receipt')
  const imageId = need(values['image-id'], '--image-id <hex>')
  if (!/^[0-9a-fA-F]{64}$/.test(imageId)) {
    throw new UsageError(
      `--image-id is not hex: it must be 64 hex digits (32 bytes), got ${JSON.stringify(imageId)}`,
    )
  }
  return withCore(context, async (core) => {
    const prover = await core.prover()
    const result = await prover.verify({
      receipt,
      imageId: imageId.toLowerCase(),
      ...(values.journal !== undefined
        ? { expectedJournal: await existingFile(resolve(values.journal), 'journal') }
        : {}),
    })
    const journalHex = Buffer.from(result.journal).toString('hex')
    if (values.json === true)
      process.stdout.write(JSON.stringify({ ok: true, ...result, journal: journalHex }) + '\n')
    else
      process.stdout.write(
        `receipt verifies: ${result.kind}, ${result.segments} segments, exit ${result.exitCode.kind}(${result.exitCode.code}), journal ${journalHex || '(empty)'}\n`,
      )
    return 0
  })
}

export const imageId: CommandRun = async (argv, context) => {
  const { positionals } = parseCommand(argv, {})
  const program = await existingFile(resolve(need(positionals[0], '<program>')), 'program')
  return withCore(context, async (core) => {
    process.stdout.write((await (await core.prover()).imageId(program)) + '\n')
    return 0
  })
}

export const capabilities: CommandRun = async (argv, context) => {
  parseCommand(argv, {})
  return withCore(context, async (core) => {
    process.stdout.write(JSON.stringify(await (await core.prover()).capabilities(), null, 2) + '\n')
    return 0
  })
}
