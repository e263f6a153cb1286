// Checks final receipts with risc0's verifier (WebAssembly) in one long-lived worker thread, one
// check at a time in arrival order. A wasm call cannot be interrupted, so a check that is aborted
// or runs past its time limit terminates the worker; the next check starts a fresh one.

import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import {
  AbortError,
  InvalidInputError,
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
  WorkerError,
  type DigestHex,
  type ReceiptCheck,
  type VerifierPlugin,
} from '@wholesum/plugin-api'
import { ReceiptVerifier } from '@wholesum/receipt-verifier'
import { readLimits, type CheckerLimits } from './limits.ts'
import type { AnswerMessage, CheckMessage, WorkerSetup } from './protocol.ts'

export interface ReceiptCheckerOptions {
  /** The verifier module, as bytes or a file path; default the build @wholesum/receipt-verifier ships. */
  readonly wasm?: Uint8Array | string
  /** Longest one check may spend in the verifier (ms), time queued excluded; default 120000. */
  readonly timeoutMs?: number
  /** Larger receipts are refused with ResourceLimitError; default 256 MiB, at most 512 MiB. */
  readonly maxReceiptBytes?: number
}

export interface ReceiptChecker extends VerifierPlugin {
  /** Stops the worker thread. Checks still pending reject with AbortError, later ones with UnavailableError. */
  close(): Promise<void>
}

type VerifierModule = Exclude<
  Parameters<typeof ReceiptVerifier.load>[0],
  ArrayBuffer | ArrayBufferView
>
// This project's TypeScript libs do not declare WebAssembly; Node has it.
const wasmApi = (
  globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<VerifierModule> } }
).WebAssembly

const WORKER_URL = new URL('./verify-worker.ts', import.meta.url)
const IMAGE_ID = /^(0x)?[0-9a-fA-F]{64}$/

/**
 * Compiles the verifier module once (so a bad or missing module fails here, not on the first
 * check) and returns a checker. Its idle worker never keeps the process alive.
 */
export async function createReceiptChecker(
  options: ReceiptCheckerOptions = {},
): Promise<ReceiptChecker> {
  const limits = readLimits(options)
  return new WorkerReceiptChecker(await compileVerifier(options.wasm), limits)
}

async function compileVerifier(source: Uint8Array | string | undefined): Promise<VerifierModule> {
  let bytes: Uint8Array
  let origin = 'the verifier module given'
  if (source instanceof Uint8Array) {
    bytes = source
  } else {
    const path = source ?? defaultWasmPath()
    origin = path
    try {
      bytes = await readFile(path)
    } catch (err) {
      throw new UnavailableError(
        `cannot read the receipt verifier module ${path}: ${message(err)}`,
        {
          cause: err,
        },
      )
    }
  }
  try {
    const module = await wasmApi.compile(bytes)
    await ReceiptVerifier.load(module) // checks its exports
    return module
  } catch (err) {
    throw new UnavailableError(`${origin} is not a usable receipt verifier: ${message(err)}`, {
      cause: err,
    })
  }
}

function defaultWasmPath(): string {
  try {
    return fileURLToPath(import.meta.resolve('@wholesum/receipt-verifier/verifier.wasm'))
  } catch (err) {
    throw new UnavailableError(
      `the receipt verifier module (@wholesum/receipt-verifier/verifier.wasm) is not installed: ${message(err)}`,
      { cause: err },
    )
  }
}

interface Job {
  readonly receipt: Uint8Array
  readonly imageId: string
  readonly resolve: (check: ReceiptCheck) => void
  readonly reject: (err: Error) => void
  /** Stops listening to the caller's signal. */
  readonly detach: () => void
}

interface Running {
  readonly job: Job
  readonly id: number
  readonly timer: NodeJS.Timeout
}

class WorkerReceiptChecker implements ReceiptChecker {
  readonly #module: VerifierModule
  readonly #limits: CheckerLimits
  readonly #queue: Job[] = []
  #running: Running | undefined
  #worker: Worker | undefined
  #nextId = 1
  #closed = false

  constructor(module: VerifierModule, limits: CheckerLimits) {
    this.#module = module
    this.#limits = limits
  }

  async checkReceipt(request: {
    receipt: Uint8Array
    imageId: DigestHex
    signal?: AbortSignal
  }): Promise<ReceiptCheck> {
    const { receipt, imageId, signal } = request
    if (this.#closed) throw new UnavailableError('the receipt checker is closed')
    if (!(receipt instanceof Uint8Array)) {
      throw new InvalidInputError('INVALID_INPUT', 'a receipt to check must be a Uint8Array')
    }
    if (typeof imageId !== 'string' || !IMAGE_ID.test(imageId)) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `an image ID is 64 hex characters, got ${JSON.stringify(imageId)}`,
      )
    }
    if (receipt.length > this.#limits.maxReceiptBytes) {
      throw new ResourceLimitError(
        `the receipt is ${receipt.length} bytes, over the ${this.#limits.maxReceiptBytes} this verifier accepts (setting maxReceiptBytes)`,
      )
    }
    if (signal?.aborted) throw abortError(signal)

    return new Promise<ReceiptCheck>((resolve, reject) => {
      const onAbort = () => this.#abort(job, abortError(signal!))
      const job: Job = {
        receipt,
        imageId,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(job)
      this.#pump()
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const job of this.#queue.splice(0)) {
      job.detach()
      job.reject(new AbortError('the receipt checker was closed'))
    }
    if (this.#running !== undefined) {
      this.#finish(this.#running).reject(new AbortError('the receipt checker was closed'))
    }
    const worker = this.#worker
    this.#worker = undefined
    await worker?.terminate()
  }

  /** Starts the next queued check when none is running. */
  #pump(): void {
    if (this.#running !== undefined || this.#closed) return
    const job = this.#queue.shift()
    if (job === undefined) {
      this.#worker?.unref()
      return
    }
    const worker = this.#worker ?? this.#spawn()
    worker.ref()
    const id = this.#nextId++
    const timer = setTimeout(
      () =>
        this.#stop(
          new TimeoutError(
            `the receipt check took longer than ${this.#limits.timeoutMs} ms (setting timeoutMs)`,
          ),
        ),
      this.#limits.timeoutMs,
    )
    this.#running = { job, id, timer }
    // A copy to transfer: the caller's buffer may be a view into a larger one, and stays theirs.
    const receipt = new Uint8Array(job.receipt)
    worker.postMessage({ id, receipt, imageId: job.imageId } satisfies CheckMessage, [
      receipt.buffer,
    ])
  }

  #spawn(): Worker {
    const setup: WorkerSetup = { module: this.#module }
    const worker = new Worker(WORKER_URL, { workerData: setup })
    worker.on('message', (answer: AnswerMessage) => this.#answer(worker, answer))
    worker.on('messageerror', (err) =>
      this.#died(worker, `the verifier thread sent an unreadable answer: ${err.message}`),
    )
    worker.on('error', (err) => this.#died(worker, `the verifier thread failed: ${err.message}`))
    worker.on('exit', (code) => this.#died(worker, `the verifier thread exited (code ${code})`))
    this.#worker = worker
    return worker
  }

  #answer(worker: Worker, answer: AnswerMessage): void {
    const running = this.#running
    if (worker !== this.#worker || running === undefined || running.id !== answer.id) return
    const job = this.#finish(running)
    switch (answer.outcome) {
      case 'valid':
        job.resolve({
          valid: true,
          receiptDigest: answer.receiptDigest,
          journalDigest: answer.journalDigest,
          claimDigest: answer.claimDigest,
          kind: answer.kind,
          segments: answer.segments,
          verifyMs: answer.verifyMs,
        })
        break
      case 'invalid':
        job.resolve({
          valid: false,
          reason: answer.reason,
          receiptDigest: answer.receiptDigest,
          verifyMs: answer.verifyMs,
        })
        break
      case 'crashed':
        job.reject(
          new WorkerError(`the receipt verifier crashed on this receipt: ${answer.message}`),
        )
        break
      case 'failed':
        job.reject(new WorkerError(`the receipt verifier failed: ${answer.message}`))
        break
    }
    this.#pump()
  }

  /** A queued check leaves the queue; the running one takes the worker down with it. */
  #abort(job: Job, error: AbortError): void {
    if (this.#running?.job === job) {
      this.#stop(error)
      return
    }
    const at = this.#queue.indexOf(job)
    if (at < 0) return
    this.#queue.splice(at, 1)
    job.reject(error)
  }

  /** Ends the running check with `error` and terminates its worker. */
  #stop(error: Error): void {
    if (this.#running === undefined) return
    const job = this.#finish(this.#running)
    const worker = this.#worker
    this.#worker = undefined
    void worker?.terminate()
    job.reject(error)
    this.#pump()
  }

  #died(worker: Worker, reason: string): void {
    if (worker !== this.#worker) return // one this checker already let go of
    this.#worker = undefined
    void worker.terminate()
    if (this.#running !== undefined) this.#finish(this.#running).reject(new WorkerError(reason))
    this.#pump()
  }

  #finish(running: Running): Job {
    clearTimeout(running.timer)
    running.job.detach()
    this.#running = undefined
    return running.job
  }
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError('the receipt check was aborted', { cause: signal.reason })
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
