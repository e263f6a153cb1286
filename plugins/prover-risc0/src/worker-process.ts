// What the worker client needs of a running worker: its stdio and its exit, local or in a container.

import { spawn } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import type { Readable, Writable } from 'node:stream'

/** Why a worker's runtime stopped it, when the runtime knows (a container's memory limit). */
export interface ExitReason {
  readonly kind: 'memory-limit'
  readonly message: string
}

/**
 * A started worker. Emits `exit` (code, signal, reason?) once and `error` (err) if it could not
 * start. `reason` explains an exit the runtime knows more about (e.g. a memory limit).
 */
export interface WorkerProcess extends EventEmitter {
  readonly stdin: Writable
  readonly stdout: Readable
  readonly stderr: Readable
  /** Stops the worker at once (SIGKILL for a process, kill + remove for a container). */
  kill(): void
  /** True once the worker has exited. */
  readonly exited: boolean
}

export type LaunchWorker = () => WorkerProcess

/** A worker binary run as a child process of the core. */
export function localWorker(
  binary: string,
  extraEnv: Readonly<Record<string, string>> = {},
): LaunchWorker {
  return () => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...extraEnv }
    // Dev mode makes risc0 emit fake receipts; never let an inherited variable switch it on.
    delete env['RISC0_DEV_MODE']
    const child = spawn(binary, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'], env })
    const signal = child.kill.bind(child)
    // A worker is stopped hard: risc0 cannot be interrupted cleanly mid-proof anyway.
    child.kill = ((sig?: NodeJS.Signals | number) => signal(sig ?? 'SIGKILL')) as typeof child.kill
    Object.defineProperty(child, 'exited', {
      get: () => child.exitCode !== null || child.signalCode !== null,
    })
    return child as unknown as WorkerProcess
  }
}
