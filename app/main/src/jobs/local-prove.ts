// Proves a job on this machine through a prover plugin: validate, execute, prove, assemble, verify.

import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  VerificationError,
  type ExecuteResult,
  type ProveSegmentResult,
  type ProverCapabilities,
  type ProverPlugin,
  type SegmentInfo,
  type VerifyResult,
} from '@wholesum/plugin-api'
import { DEFAULT_JOB_LIMITS, DEFAULT_PO2, type JobLimits } from './limits.ts'
import { validateInput, validatePo2, validateProgram } from './validate.ts'

export interface LocalProveRequest {
  readonly program: string
  readonly input: string
  readonly outDir: string
  readonly po2?: number
  /** When given, the program's image ID must equal it (guards against a swapped file). */
  readonly expectedImageId?: string
  readonly limits?: JobLimits
  /** Keep segment blobs after success (they are needed only until their receipts exist). */
  readonly keepSegments?: boolean
  readonly signal?: AbortSignal
  readonly onEvent?: (event: LocalProveEvent) => void
}

export type LocalProveEvent =
  | {
      readonly type: 'started'
      readonly jobId: string
      readonly imageId: string
      readonly po2: number
    }
  | { readonly type: 'segment-executed'; readonly segment: SegmentInfo }
  | { readonly type: 'executed'; readonly execution: ExecuteResult }
  | { readonly type: 'segment-proving'; readonly index: number; readonly total: number }
  | { readonly type: 'segment-proved'; readonly result: ProveSegmentResult; readonly total: number }
  | { readonly type: 'assembled'; readonly kind: 'composite' | 'succinct'; readonly bytes: number }
  | { readonly type: 'verified'; readonly verification: VerifyResult }

export interface LocalProveResult {
  readonly jobId: string
  readonly imageId: string
  readonly po2: number
  readonly execution: ExecuteResult
  readonly segmentProofs: readonly ProveSegmentResult[]
  readonly receiptPath: string
  readonly receiptKind: 'composite' | 'succinct'
  readonly journalPath: string
  readonly stdoutPath: string
  readonly stderrPath: string
  readonly verification: VerifyResult
  readonly timings: {
    readonly executeMs: number
    readonly proveMs: number
    readonly assembleMs: number
    readonly verifyMs: number
    readonly totalMs: number
  }
  readonly capabilities: ProverCapabilities
}

/** Local job IDs bind the image, the input and a fresh nonce, like network job IDs do. */
function localJobId(imageId: string, inputDigest: string, nonce: string): string {
  return createHash('sha256')
    .update(`wholesum-local-job:${imageId}:${inputDigest}:${nonce}`)
    .digest('hex')
}

export async function proveLocally(
  prover: ProverPlugin,
  request: LocalProveRequest,
): Promise<LocalProveResult> {
  const limits = request.limits ?? DEFAULT_JOB_LIMITS
  const po2 = request.po2 ?? DEFAULT_PO2
  const emit = request.onEvent ?? (() => {})
  const { signal } = request
  const started = performance.now()

  validatePo2(po2, limits)
  await validateProgram(request.program, limits)
  await validateInput(request.input, limits)
  const capabilities = await prover.capabilities()
  const imageId = await prover.imageId(request.program)
  if (request.expectedImageId !== undefined && request.expectedImageId.toLowerCase() !== imageId) {
    throw new VerificationError(
      `program image ID ${imageId} differs from the expected ${request.expectedImageId}`,
    )
  }

  const outDir = resolve(request.outDir)
  const segmentsDir = join(outDir, 'segments')
  const receiptsDir = join(outDir, 'receipts')
  await mkdir(segmentsDir, { recursive: true })
  await mkdir(receiptsDir, { recursive: true })
  const eventsLog = join(outDir, 'events.jsonl')
  await writeFile(eventsLog, '')
  const record = async (event: LocalProveEvent): Promise<void> => {
    emit(event)
    await appendFile(eventsLog, JSON.stringify({ at: new Date().toISOString(), ...event }) + '\n')
  }

  const inputBytes = await readFile(request.input)
  const inputDigest = createHash('sha256').update(inputBytes).digest('hex')
  const jobId = localJobId(imageId, inputDigest, crypto.randomUUID())
  await record({ type: 'started', jobId, imageId, po2 })

  const execution = await prover.execute({
    program: request.program,
    input: request.input,
    po2,
    outDir: segmentsDir,
    maxCycles: limits.maxCycles,
    ...(signal !== undefined ? { signal } : {}),
    onSegment: (segment) => void record({ type: 'segment-executed', segment }),
  })
  await record({ type: 'executed', execution })

  // One worker proves with all cores already; segments go one after another.
  const proveStarted = performance.now()
  const segmentProofs: ProveSegmentResult[] = []
  const total = execution.segments.length
  for (const segment of execution.segments) {
    signal?.throwIfAborted()
    await record({ type: 'segment-proving', index: segment.index, total })
    const out = join(receiptsDir, `segment-${String(segment.index).padStart(5, '0')}.receipt`)
    const result = await prover.proveSegment({
      segment: segment.path,
      out,
      ...(signal !== undefined ? { signal } : {}),
    })
    // The receipt must prove exactly the claim the execution recorded for this segment.
    if (result.claimDigest !== segment.claimDigest) {
      throw new VerificationError(
        `segment ${segment.index} receipt proves claim ${result.claimDigest}, not the executed ${segment.claimDigest}`,
      )
    }
    segmentProofs.push(result)
    await record({ type: 'segment-proved', result, total })
  }
  const proveMs = performance.now() - proveStarted

  const assembleStarted = performance.now()
  const receiptPath = join(outDir, 'receipt.bin')
  const { kind: receiptKind, bytes } = await finalReceipt(
    prover,
    segmentProofs,
    execution,
    receiptPath,
  )
  const assembleMs = performance.now() - assembleStarted
  await record({ type: 'assembled', kind: receiptKind, bytes })

  // Never report success on a receipt we have not verified ourselves.
  const verification = await prover.verify({
    receipt: receiptPath,
    imageId,
    expectedJournal: execution.journalPath,
  })
  await record({ type: 'verified', verification })

  const journalPath = join(outDir, 'journal.bin')
  const stdoutPath = join(outDir, 'stdout.log')
  const stderrPath = join(outDir, 'stderr.log')
  await copyFile(execution.journalPath, journalPath)
  await copyFile(execution.stdoutPath, stdoutPath)
  await copyFile(execution.stderrPath, stderrPath)
  if (request.keepSegments !== true) await rm(segmentsDir, { recursive: true, force: true })

  const result: LocalProveResult = {
    jobId,
    imageId,
    po2,
    execution,
    segmentProofs,
    receiptPath,
    receiptKind,
    journalPath,
    stdoutPath,
    stderrPath,
    verification,
    timings: {
      executeMs: execution.executeMs,
      proveMs,
      assembleMs,
      verifyMs: verification.verifyMs,
      totalMs: performance.now() - started,
    },
    capabilities,
  }
  await writeFile(join(outDir, 'job.json'), JSON.stringify(summarise(result), null, 2) + '\n')
  return result
}

/**
 * Local proving assembles a composite receipt, a standard risc0 receipt that verifies anywhere.
 * Lift/join into a succinct receipt belongs to the network's JOIN stage and needs the recursion
 * circuit, which offline builds lack (the worker reports it in its capabilities).
 */
async function finalReceipt(
  prover: ProverPlugin,
  proofs: readonly ProveSegmentResult[],
  execution: ExecuteResult,
  out: string,
): Promise<{ kind: 'composite'; bytes: number }> {
  const assembled = await prover.assemble({
    segmentReceipts: proofs.map((p) => p.path),
    journal: execution.journalPath,
    out,
  })
  return { kind: 'composite', bytes: assembled.bytes }
}

function summarise(result: LocalProveResult): Record<string, unknown> {
  return {
    jobId: result.jobId,
    imageId: result.imageId,
    po2: result.po2,
    exitCode: result.execution.exitCode,
    userCycles: result.execution.userCycles,
    totalCycles: result.execution.totalCycles,
    segments: result.execution.segments.length,
    receipt: {
      path: 'receipt.bin',
      kind: result.receiptKind,
      verified: true,
      verifyMs: result.verification.verifyMs,
    },
    outputs: {
      journal: 'journal.bin',
      stdout: 'stdout.log',
      stderr: 'stderr.log',
      events: 'events.jsonl',
    },
    segmentProveMs: result.segmentProofs.map((p) => p.proveMs),
    timings: result.timings,
    prover: {
      risc0: result.capabilities.risc0Version,
      recursion: result.capabilities.recursion,
      accelerator: result.capabilities.accelerator,
    },
  }
}
