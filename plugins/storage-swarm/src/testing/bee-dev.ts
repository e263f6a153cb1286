// Test support: a real Bee (Go, `bee dev`) on 127.0.0.1, started fresh for a test and stopped after.
//
// `bee dev` is Bee's own development mode: the real HTTP API, chunk store, splitter, joiner, pinning
// and postage stamping, with the blockchain, the postage contract and the p2p network mocked inside
// Bee itself. It listens only on the given loopback address and dials nothing. The binary is built
// by scripts/install-bee.sh; without it, the tests that need a node are skipped and say so.

import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

export const INSTALL_HINT =
  'no Bee binary: run `bash plugins/storage-swarm/scripts/install-bee.sh` (builds Bee from the Go ' +
  'module proxy into ~/.cache/wholesum/bee/bee) or set WHOLESUM_BEE_BIN'

/** The Bee binary to run: $WHOLESUM_BEE_BIN, else ~/.cache/wholesum/bee/bee; undefined if absent. */
export function beeBinary(): string | undefined {
  const candidates = [process.env.WHOLESUM_BEE_BIN, join(homedir(), '.cache/wholesum/bee/bee')]
  for (const path of candidates) {
    if (path === undefined || path === '') continue
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // try the next one
    }
  }
  return undefined
}

export interface BeeDevNode {
  readonly url: string
  readonly pid: number
  /** Buys a batch through Bee's (mocked) postage contract and returns its ID (hex). */
  buyBatch(depth?: number, amount?: string): Promise<string>
  stop(): Promise<void>
}

async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 20_000
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`bee dev exited (${child.exitCode ?? child.signalCode}): ${log()}`)
    }
    try {
      const response = await fetch(`${url}/readiness`, { signal: AbortSignal.timeout(1000) })
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await delay(50)
  }
  throw new Error(`bee dev at ${url} was not ready within 20 s: ${log()}`)
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Starts `bee dev` on a free 127.0.0.1 port (retrying if another process takes the port first). */
export async function startBeeDev(binary = beeBinary()): Promise<BeeDevNode> {
  if (binary === undefined) throw new Error(INSTALL_HINT)
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort()
    const url = `http://127.0.0.1:${port}`
    // Its own working directory and HOME, so no user config (~/.bee.yaml) is read.
    const home = await mkdtemp(join(tmpdir(), 'bee-dev-'))
    const child = spawn(binary, ['dev', '--api-addr', `127.0.0.1:${port}`, '--verbosity', '1'], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const keep = (data: Buffer): void => {
      output = (output + data.toString('utf8')).slice(-4000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    try {
      await waitReady(url, child, () => output)
    } catch (err) {
      lastError = err
      await stopChild(child)
      await rm(home, { recursive: true, force: true })
      continue
    }
    return {
      url,
      pid: child.pid ?? -1,
      async buyBatch(depth = 20, amount = '100000000'): Promise<string> {
        const response = await fetch(`${url}/stamps/${amount}/${depth}`, { method: 'POST' })
        const body = (await response.json()) as { batchID?: string }
        if (!response.ok || typeof body.batchID !== 'string') {
          throw new Error(
            `bee dev: buying a batch failed: ${response.status} ${JSON.stringify(body)}`,
          )
        }
        return body.batchID
      },
      async stop(): Promise<void> {
        await stopChild(child)
        await rm(home, { recursive: true, force: true })
      },
    }
  }
  throw lastError
}
