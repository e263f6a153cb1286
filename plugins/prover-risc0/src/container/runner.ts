// Runs each worker request in a fresh container that sees only that request's files.

import { access, mkdir } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { InvalidInputError, type Logger } from '@wholesum/plugin-api'
import type { RequestOptions, WorkerRequester } from '../worker-client.ts'
import { WorkerClient } from '../worker-client.ts'
import { ContainerWorker, type ContainerLimits } from './container-worker.ts'
import type { Engine } from './engine.ts'

const IN = '/work/in'
const OUT = '/work/out'

/**
 * Translates one request's host paths into container paths: every input file is bound read-only
 * on its own, and the one output directory is bound read-write at /work/out.
 */
export class MountPlan {
  readonly binds: string[] = []
  #inputs = 0
  #outHost: string | undefined

  async input(hostPath: unknown, what: string): Promise<string> {
    if (typeof hostPath !== 'string')
      throw new InvalidInputError('INVALID_INPUT', `${what} must be a path`)
    const absolute = resolve(hostPath)
    try {
      await access(absolute)
    } catch {
      throw new InvalidInputError('INVALID_INPUT', `cannot read ${what} ${absolute}`)
    }
    const inside = `${IN}/${this.#inputs++}-${basename(absolute).replace(/[^A-Za-z0-9._-]/g, '_')}`
    this.binds.push(`${absolute}:${inside}:ro`)
    return inside
  }

  async outputDir(hostDir: unknown): Promise<string> {
    if (typeof hostDir !== 'string')
      throw new InvalidInputError('INVALID_INPUT', 'output directory must be a path')
    if (this.#outHost !== undefined) throw new Error('one output directory per request')
    this.#outHost = resolve(hostDir)
    await mkdir(this.#outHost, { recursive: true })
    this.binds.push(`${this.#outHost}:${OUT}:rw`)
    return OUT
  }

  async outputFile(hostPath: unknown): Promise<string> {
    if (typeof hostPath !== 'string')
      throw new InvalidInputError('INVALID_INPUT', 'output must be a path')
    const dir = await this.outputDir(dirname(resolve(hostPath)))
    return `${dir}/${basename(hostPath)}`
  }

  /** Maps container paths in a result back to host paths. */
  toHost<T>(value: T): T {
    const outHost = this.#outHost
    const map = (v: unknown): unknown => {
      if (
        typeof v === 'string' &&
        outHost !== undefined &&
        (v === OUT || v.startsWith(`${OUT}/`))
      ) {
        return outHost + v.slice(OUT.length)
      }
      if (Array.isArray(v)) return v.map(map)
      if (v !== null && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, map(x)]))
      return v
    }
    return map(value) as T
  }
}

interface FileFields {
  /** Request fields naming input files (a field may hold a list), with a word for errors. */
  readonly inputs: readonly (readonly [field: string, what: string])[]
  /** The request field naming the output: a file, or a directory (execute). */
  readonly output?: readonly [field: string, kind: 'file' | 'dir']
}

/** Which request fields are input files and which is the output, per operation. */
const FILE_FIELDS: Readonly<Record<string, FileFields>> = {
  capabilities: { inputs: [] },
  'image-id': { inputs: [['program', 'program']] },
  wrap: { inputs: [['elf', 'ELF']], output: ['out', 'file'] },
  execute: {
    inputs: [
      ['program', 'program'],
      ['input', 'input'],
    ],
    output: ['outDir', 'dir'],
  },
  'prove-segment': { inputs: [['segment', 'segment']], output: ['out', 'file'] },
  'verify-segment': { inputs: [['receipt', 'receipt']] },
  'inspect-segment': { inputs: [['receipt', 'receipt']] },
  'claim-digest': { inputs: [] },
  'verify-succinct': { inputs: [['receipt', 'receipt']] },
  'finalize-succinct': {
    inputs: [
      ['receipt', 'receipt'],
      ['journal', 'journal'],
    ],
    output: ['out', 'file'],
  },
  lift: { inputs: [['receipt', 'receipt']], output: ['out', 'file'] },
  join: {
    inputs: [
      ['left', 'receipt'],
      ['right', 'receipt'],
    ],
    output: ['out', 'file'],
  },
  assemble: {
    inputs: [
      ['segmentReceipts', 'segment receipt'],
      ['journal', 'journal'],
    ],
    output: ['out', 'file'],
  },
  verify: {
    inputs: [
      ['receipt', 'receipt'],
      ['expectedJournal', 'journal'],
    ],
  },
}

/** Rewrites a request's host paths into container paths, adding the binds they need. */
async function planFor(
  op: string,
  params: Record<string, unknown>,
  plan: MountPlan,
): Promise<Record<string, unknown>> {
  const fields = FILE_FIELDS[op]
  if (fields === undefined) {
    throw new InvalidInputError('INVALID_INPUT', `operation ${op} cannot run in a container`)
  }
  const p = { ...params }
  for (const [field, what] of fields.inputs) {
    const value = p[field]
    if (value === undefined) continue // optional fields; the worker reports missing required ones
    if (Array.isArray(value)) {
      const inside: string[] = []
      for (const item of value as unknown[]) inside.push(await plan.input(item, what))
      p[field] = inside
    } else {
      p[field] = await plan.input(value, what)
    }
  }
  if (fields.output !== undefined) {
    const [field, kind] = fields.output
    p[field] = kind === 'dir' ? await plan.outputDir(p[field]) : await plan.outputFile(p[field])
  }
  return p
}

export interface ContainerRunnerOptions {
  readonly engine: Engine
  readonly image: string
  readonly limits: ContainerLimits
  readonly logger: Logger
  /** Default timeout for each request, ms. */
  readonly timeoutMs?: number
  /** Called with each container's ID as it starts (tests use it to inspect the sandbox). */
  readonly onContainer?: (id: string) => void
}

export class ContainerRunner implements WorkerRequester {
  readonly #options: ContainerRunnerOptions
  #capabilities: Promise<unknown> | undefined

  constructor(options: ContainerRunnerOptions) {
    this.#options = options
  }

  /** Capabilities of the worker inside the image (one short-lived container, then cached). */
  start(): Promise<unknown> {
    this.#capabilities ??= this.request('capabilities', {}).catch((err: unknown) => {
      this.#capabilities = undefined
      throw err
    })
    return this.#capabilities
  }

  async request<T>(
    op: string,
    params: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<T> {
    const plan = new MountPlan()
    const inside = await planFor(op, params, plan)
    const { engine, image, limits, logger } = this.#options
    const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`
    const client = new WorkerClient({
      describe: `container ${image}`,
      logger,
      launch: () => {
        const worker = new ContainerWorker(engine.docker, {
          image,
          binds: plan.binds,
          limits,
          user,
          labels: { 'network.wholesum.op': op },
        })
        worker.once('started', (id: string) => {
          if (id) this.#options.onContainer?.(id)
        })
        return worker
      },
    })
    try {
      const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs
      const result = await client.request<T>(op, inside, {
        ...options,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      })
      return plan.toHost(result)
    } finally {
      await client.close()
    }
  }
}
