// A TEST DOUBLE of the prover plugin: it proves nothing. "Executing" a program writes N small
// segment files, each naming its index and a claim digest derived from the program and input;
// "proving" one writes a receipt file that repeats that index and digest; "verifying" compares
// them. It exists so that the client and prover services can be driven through whole jobs (the
// market, claims, deliveries, strikes, assembly) in milliseconds, on the in-memory wire. Every
// test that needs to know a proof is sound uses the real risc0 worker instead.

import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  UnavailableError,
  VerificationError,
  type ClaimParts,
  type ExecuteRequest,
  type ExecuteResult,
  type ProverPlugin,
  type SegmentInfo,
  type VerifierPlugin,
} from '@wholesum/plugin-api'

interface SegmentFile {
  readonly double: 'segment'
  readonly index: number
  readonly claimDigest: string
}

interface ReceiptFile {
  readonly double: 'segment-receipt'
  readonly index: number
  readonly claimDigest: string
}

const sha256 = (text: string | Uint8Array): string =>
  createHash('sha256').update(text).digest('hex')

async function writeJson(path: string, value: unknown): Promise<number> {
  const text = JSON.stringify(value)
  await writeFile(path, text)
  return Buffer.byteLength(text)
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T
}

function claimOf(digest: string): ClaimParts {
  return {
    pre: digest,
    post: digest,
    input: sha256('input'),
    output: sha256('output'),
    exitCode: { kind: 'halted', code: 0 },
  }
}

export interface ReceiptDoubleOptions {
  /** How many segments every execution makes. */
  readonly segments: number
  /** How long one proof takes (ms); default 5. */
  readonly proveMs?: number
}

export class ReceiptDouble implements ProverPlugin {
  readonly #segments: number
  readonly #proveMs: number
  /** Segments proved by this instance, for tests that count work. */
  proved = 0

  constructor(options: ReceiptDoubleOptions) {
    this.#segments = options.segments
    this.#proveMs = options.proveMs ?? 5
  }

  async capabilities() {
    return {
      recursion: false,
      groth16: false,
      accelerator: 'cpu' as const,
      workerVersion: 'receipt-double',
      risc0Version: 'none (a test double)',
      notes: ['RECEIPT TEST DOUBLE: proves nothing'],
    }
  }

  async imageId(program: string): Promise<string> {
    return sha256(await readFile(program))
  }

  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    const imageId = await this.imageId(request.program)
    const input = sha256(await readFile(request.input))
    await mkdir(request.outDir, { recursive: true })
    const segments: SegmentInfo[] = []
    for (let index = 0; index < this.#segments; index++) {
      const path = join(request.outDir, `segment-${index}.bin`)
      const claimDigest = sha256(`${imageId}:${input}:${index}`)
      const bytes = await writeJson(path, { double: 'segment', index, claimDigest })
      const segment = {
        index,
        po2: request.po2,
        path,
        bytes,
        claimDigest,
        claim: claimOf(claimDigest),
      }
      segments.push(segment)
      request.onSegment?.(segment)
    }
    const out = (name: string, text: string) => writeFile(join(request.outDir, name), text)
    await out('journal.bin', `journal of ${imageId}`)
    await out('stdout.log', '')
    await out('stderr.log', '')
    return {
      imageId,
      exitCode: { kind: 'halted', code: 0 },
      userCycles: this.#segments * 1000,
      totalCycles: this.#segments * 2 ** request.po2,
      po2: request.po2,
      segments,
      journalPath: join(request.outDir, 'journal.bin'),
      stdoutPath: join(request.outDir, 'stdout.log'),
      stderrPath: join(request.outDir, 'stderr.log'),
      executeMs: 1,
    }
  }

  async proveSegment(request: { segment: string; out: string; signal?: AbortSignal }) {
    const segment = await readJson<SegmentFile>(request.segment)
    await new Promise((resolve) => setTimeout(resolve, this.#proveMs))
    request.signal?.throwIfAborted()
    const receipt: ReceiptFile = {
      double: 'segment-receipt',
      index: segment.index,
      claimDigest: segment.claimDigest,
    }
    this.proved += 1
    return {
      index: segment.index,
      po2: 16,
      path: request.out,
      bytes: await writeJson(request.out, receipt),
      claimDigest: segment.claimDigest,
      proveMs: this.#proveMs,
    }
  }

  async verifySegment(request: { receipt: string; expectedClaim: string; index: number }) {
    const receipt = await readJson<ReceiptFile>(request.receipt).catch(() => undefined)
    if (receipt?.double !== 'segment-receipt') {
      throw new VerificationError('not a (double) segment receipt')
    }
    if (receipt.index !== request.index) {
      throw new VerificationError(
        `the receipt is for segment ${receipt.index}, not ${request.index}`,
      )
    }
    if (receipt.claimDigest !== request.expectedClaim) {
      throw new VerificationError('the receipt claim is not the expected claim')
    }
    return { index: receipt.index, claimDigest: receipt.claimDigest, verifyMs: 0 }
  }

  async inspectSegment(request: { receipt: string }) {
    const receipt = await readJson<ReceiptFile>(request.receipt).catch(() => undefined)
    if (receipt?.double !== 'segment-receipt') throw new VerificationError('not a receipt')
    return { index: receipt.index, po2: 16, claimDigest: receipt.claimDigest, verifyMs: 0 }
  }

  async claimDigest(claim: ClaimParts): Promise<string> {
    return claim.pre
  }

  async assemble(request: { segmentReceipts: readonly string[]; journal: string; out: string }) {
    const receipts = await Promise.all(request.segmentReceipts.map((r) => readJson<ReceiptFile>(r)))
    const bytes = await writeJson(request.out, {
      double: 'composite',
      segments: receipts.map((r) => r.claimDigest),
      journal: (await readFile(request.journal)).toString('hex'),
    })
    return { path: request.out, bytes }
  }

  async verify(request: { receipt: string; imageId: string }) {
    const receipt = await readJson<{ double: string; segments: string[]; journal: string }>(
      request.receipt,
    ).catch(() => undefined)
    if (receipt?.double !== 'composite' || receipt.segments.length !== this.#segments) {
      throw new VerificationError('not a (double) composite receipt of every segment')
    }
    const journal = Buffer.from(receipt.journal, 'hex')
    if (journal.toString() !== `journal of ${request.imageId}`) {
      throw new VerificationError('the (double) receipt is for another image')
    }
    return {
      kind: 'composite' as const,
      claimDigest: sha256(receipt.segments.join('')),
      journal,
      exitCode: { kind: 'halted' as const, code: 0 },
      segments: receipt.segments.length,
      verifyMs: 0,
    }
  }

  async verifySuccinct(): Promise<never> {
    throw new UnavailableError('the receipt double has no recursion')
  }
  async finalizeSuccinct(): Promise<never> {
    throw new UnavailableError('the receipt double has no recursion')
  }
  async lift(): Promise<never> {
    throw new UnavailableError('the receipt double has no recursion')
  }
  async join(): Promise<never> {
    throw new UnavailableError('the receipt double has no recursion')
  }
}

const PROVER_METHODS = [
  'capabilities',
  'imageId',
  'execute',
  'proveSegment',
  'verifySegment',
  'inspectSegment',
  'claimDigest',
  'verifySuccinct',
  'finalizeSuccinct',
  'lift',
  'join',
  'assemble',
  'verify',
] as const satisfies readonly (keyof ProverPlugin)[]

/** `honest` with some methods replaced: the decorators below are made with it. */
export function decorate(honest: ProverPlugin, overrides: Partial<ProverPlugin>): ProverPlugin {
  const plugin: Record<string, unknown> = {}
  for (const method of PROVER_METHODS) plugin[method] = honest[method].bind(honest)
  if (honest.dryRun !== undefined) plugin['dryRun'] = honest.dryRun.bind(honest)
  return { ...plugin, ...overrides } as unknown as ProverPlugin
}

/** A prover that lies: every receipt it makes claims something its segment did not compute. */
export function lyingProver(honest: ProverPlugin): ProverPlugin {
  return decorate(honest, {
    async proveSegment(request) {
      const result = await honest.proveSegment(request)
      const receipt = await readJson<ReceiptFile>(result.path)
      const forged = { ...receipt, claimDigest: sha256(`forged:${receipt.claimDigest}`) }
      const bytes = await writeJson(result.path, forged)
      return { ...result, bytes, claimDigest: forged.claimDigest }
    },
  })
}

/** A prover whose proofs never finish (until aborted): it took the work and went quiet. */
export function stalledProver(honest: ProverPlugin): ProverPlugin {
  return decorate(honest, {
    async proveSegment(request): Promise<never> {
      return await new Promise<never>((_, reject) => {
        request.signal?.addEventListener('abort', () => reject(request.signal!.reason), {
          once: true,
        })
      })
    },
  })
}

/**
 * The verifier capability over the double's composite receipts: what a verifier node runs in the
 * in-memory tests. Checks the same things as `ReceiptDouble.verify`, from bytes.
 */
export function doubleChecker(segments: number): VerifierPlugin {
  return {
    async checkReceipt({ receipt, imageId }) {
      const receiptDigest = sha256(receipt)
      let parsed: { double?: string; segments?: string[]; journal?: string } | undefined
      try {
        parsed = JSON.parse(Buffer.from(receipt).toString('utf8')) as typeof parsed
      } catch {
        parsed = undefined
      }
      if (parsed?.double !== 'composite' || parsed.segments?.length !== segments)
        return {
          valid: false,
          reason: 'not a (double) composite receipt',
          receiptDigest,
          verifyMs: 0,
        }
      const journal = Buffer.from(parsed.journal ?? '', 'hex')
      if (journal.toString() !== `journal of ${imageId}`)
        return {
          valid: false,
          reason: 'the receipt is for another image',
          receiptDigest,
          verifyMs: 0,
        }
      return {
        valid: true,
        receiptDigest,
        journalDigest: sha256(journal),
        kind: 'composite',
        segments,
        verifyMs: 0,
      }
    },
  }
}
