// Drives one long-lived Rust worker process: spawns it, queues requests, routes replies and events.

import {
  AbortError,
  ExecutionError,
  InvalidInputError,
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
  VerificationError,
  WorkerError,
  type Logger,
  type WholesumError,
} from '@wholesum/plugin-api'
import { encodeFrame, FrameDecoder } from './frames.ts'
import {
  localWorker,
  type ExitReason,
  type LaunchWorker,
  type WorkerProcess,
} from './worker-process.ts'

export interface WorkerClientOptions {
  /** A worker binary run locally, or `launch` for any other way to start one (a container). */
  readonly binary?: string
  readonly launch?: LaunchWorker
  /** Names the worker in errors: the binary path or the container image. */
  readonly describe?: string
  readonly logger: Logger
  /** How long the worker may take to say it is ready. */
  readonly startTimeoutMs?: number
  readonly env?: Readonly<Record<string, string>>
}

export interface RequestOptions {
  readonly signal?: AbortSignal | undefined
  readonly timeoutMs?: number | undefined
  readonly onEvent?: ((event: string, data: unknown) => void) | undefined
}

/** What the prover needs of a worker: its capabilities and one request at a time. */
export interface WorkerRequester {
  start(): Promise<unknown>
  request<T>(op: string, params: Record<string, unknown>, options?: RequestOptions): Promise<T>
}

interface Reply {
  readonly id: number
  readonly ok?: boolean
  readonly result?: unknown
  readonly error?: { code?: string; message?: string }
  readonly event?: string
  readonly data?: unknown
}

interface InFlight {
  readonly id: number
  readonly options: RequestOptions
  resolve(value: unknown): void
  reject(err: Error): void
}

const STDERR_TAIL_BYTES = 4096

/** Maps the worker's stable error codes onto the plugin API's named errors. */
export function errorFromWorker(code: string | undefined, message: string): WholesumError {
  switch (code) {
    case 'INVALID_PROGRAM':
      return new InvalidInputError('INVALID_PROGRAM', message)
    case 'INVALID_INPUT':
      return new InvalidInputError('INVALID_INPUT', message)
    case 'EXECUTION_FAILED':
      return new ExecutionError(message)
    case 'VERIFICATION_FAILED':
      return new VerificationError(message)
    case 'UNAVAILABLE':
      return new UnavailableError(message)
    default:
      return new WorkerError(message)
  }
}

export class WorkerClient implements WorkerRequester {
  readonly #options: WorkerClientOptions
  readonly #launch: LaunchWorker
  readonly #describe: string
  #child: WorkerProcess | undefined
  #ready: Promise<unknown> | undefined
  #nextId = 1
  #inFlight: InFlight | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #stderrTail = ''
  #closing = false

  constructor(options: WorkerClientOptions) {
    this.#options = options
    if (options.launch !== undefined) this.#launch = options.launch
    else if (options.binary !== undefined) this.#launch = localWorker(options.binary, options.env)
    else throw new TypeError('WorkerClient needs a binary or a launch function')
    this.#describe = options.describe ?? options.binary ?? 'worker'
  }

  /** Capabilities the worker announced in its `ready` event; starts the worker if needed. */
  async start(): Promise<unknown> {
    if (this.#ready === undefined) this.#ready = this.#spawn()
    return this.#ready
  }

  /** Sends one request; requests run one at a time, in order. */
  request<T>(
    op: string,
    params: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<T> {
    const run = async (): Promise<T> => {
      options.signal?.throwIfAborted()
      await this.start()
      return (await this.#send(op, params, options)) as T
    }
    const result = this.#queue.then(run, run)
    this.#queue = result.catch(() => undefined)
    return result.catch((err: unknown) => {
      if (options.signal?.aborted && !(err instanceof AbortError))
        throw new AbortError(`${op} aborted`, { cause: err })
      throw err
    })
  }

  async close(): Promise<void> {
    this.#closing = true
    const child = this.#child
    if (child === undefined || child.exited) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.stdin.end()
    const timer = setTimeout(() => child.kill(), 2000)
    await exited
    clearTimeout(timer)
  }

  #spawn(): Promise<unknown> {
    const { logger } = this.#options
    const child = this.#launch()
    this.#child = child
    this.#stderrTail = ''
    const decoder = new FrameDecoder()

    return new Promise((resolve, reject) => {
      const startTimer = setTimeout(() => {
        reject(
          new TimeoutError(
            `risc0 worker did not start within ${this.#options.startTimeoutMs ?? 30_000} ms`,
          ),
        )
        child.kill()
      }, this.#options.startTimeoutMs ?? 30_000)

      child.on('error', (err: Error) => {
        clearTimeout(startTimer)
        this.#ready = undefined
        reject(
          new WorkerError(`cannot start risc0 worker ${this.#describe}: ${err.message}`, {
            cause: err,
          }),
        )
      })
      child.stderr.on('data', (chunk: Buffer) => {
        this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES)
        for (const line of chunk.toString('utf8').split('\n'))
          if (line.trim()) logger.debug('worker stderr', { line })
      })
      child.stdout.on('data', (chunk: Buffer) => {
        let frames: unknown[]
        try {
          frames = decoder.push(chunk)
        } catch (err) {
          logger.error('worker sent a malformed frame; restarting it', { error: String(err) })
          child.kill()
          return
        }
        for (const frame of frames) {
          const reply = frame as Reply
          if (reply.event === 'ready') {
            clearTimeout(startTimer)
            resolve(reply.data)
          } else {
            this.#route(reply)
          }
        }
      })
      child.on('exit', (code: number | null, signal: string | null, reason?: ExitReason) => {
        clearTimeout(startTimer)
        this.#child = undefined
        this.#ready = undefined
        const why =
          reason !== undefined
            ? ` (${reason.message})`
            : signal === 'SIGKILL' || code === 137
              ? ' (killed: out of memory or aborted)'
              : ''
        const Failure = reason?.kind === 'memory-limit' ? ResourceLimitError : WorkerError
        const err = new Failure(
          `risc0 worker exited with ${signal ?? `code ${code}`}${why}; last stderr: ${this.#stderrTail.trim().slice(-600) || '(none)'}`,
        )
        reject(err)
        const pending = this.#inFlight
        this.#inFlight = undefined
        if (pending !== undefined) pending.reject(err)
        else if (!this.#closing && code !== 0)
          logger.warn('risc0 worker exited while idle', { code, signal })
      })
    })
  }

  #route(reply: Reply): void {
    const pending = this.#inFlight
    if (pending === undefined || reply.id !== pending.id) {
      this.#options.logger.warn('worker reply for no pending request', { id: reply.id })
      return
    }
    if (reply.event !== undefined) {
      pending.options.onEvent?.(reply.event, reply.data)
      return
    }
    this.#inFlight = undefined
    if (reply.ok === true) pending.resolve(reply.result)
    else
      pending.reject(
        errorFromWorker(
          reply.error?.code,
          reply.error?.message ?? 'worker failed without a message',
        ),
      )
  }

  #send(op: string, params: Record<string, unknown>, options: RequestOptions): Promise<unknown> {
    const child = this.#child
    if (child === undefined) return Promise.reject(new WorkerError('risc0 worker is not running'))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      // A running proof cannot be interrupted inside risc0: abort and timeout kill the worker,
      // which restarts on the next request.
      const onAbort = (): void => {
        child.kill()
      }
      const settle = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
      }
      this.#inFlight = {
        id,
        options,
        resolve: (value) => {
          settle()
          resolve(value)
        },
        reject: (err) => {
          settle()
          if (options.signal?.aborted) reject(new AbortError(`${op} aborted`, { cause: err }))
          else if (timedOut)
            reject(
              new TimeoutError(`${op} took longer than ${options.timeoutMs} ms`, { cause: err }),
            )
          else reject(err)
        },
      }
      let timedOut = false
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true
          child.kill()
        }, options.timeoutMs)
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      child.stdin.write(encodeFrame({ id, op, ...params }))
    })
  }
}
