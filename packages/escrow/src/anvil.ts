// A local EVM chain for the devnet and the tests: anvil from its npm package, on loopback, on a
// port it picks. Nothing public is contacted: anvil forks nothing unless told to.

import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** anvil's well-known development mnemonic: its accounts are funded on every local chain. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'

export interface Anvil {
  readonly rpcUrl: string
  readonly chainId: number
  readonly mnemonic: string
  readonly accounts: number
  stop(): Promise<void>
}

export interface AnvilOptions {
  readonly accounts?: number
  readonly chainId?: number
  /** Ether per account. */
  readonly balance?: number
  readonly signal?: AbortSignal
  readonly startTimeoutMs?: number
}

/** The anvil binary: `WHOLESUM_ANVIL`, or the one in `@foundry-rs/anvil-<platform>`. */
export function anvilBinary(): string {
  const fromEnv = process.env['WHOLESUM_ANVIL']
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  let dir: string
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`))
  } catch {
    throw new Error(
      `anvil is not installed: add the npm package ${pkg}, or set WHOLESUM_ANVIL to an anvil binary`,
    )
  }
  const binary = join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
  if (!existsSync(binary)) throw new Error(`${pkg} holds no anvil binary at ${binary}`)
  return binary
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const chainId = options.chainId ?? 31337
  const accounts = options.accounts ?? 10
  const child = spawnTied(anvilBinary(), [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--accounts',
    String(accounts),
    '--balance',
    String(options.balance ?? 10_000),
    '--chain-id',
    String(chainId),
    '--hardfork',
    'cancun',
    '--mnemonic',
    ANVIL_MNEMONIC,
  ])
  const stop = (): Promise<void> => stopChild(child)
  try {
    const address = await listeningAddress(child, options.startTimeoutMs ?? 20_000, options.signal)
    options.signal?.addEventListener('abort', () => void stop(), { once: true })
    return { rpcUrl: `http://${address}`, chainId, mnemonic: ANVIL_MNEMONIC, accounts, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * Starts `binary` so that it ends with us: on POSIX through a shell that waits on its standard
 * input and kills the chain when that closes, which happens when we stop it and also when this
 * process dies without stopping it (a crashed test would otherwise leave anvil running).
 */
function spawnTied(binary: string, args: string[]): ChildProcess {
  if (process.platform === 'win32') {
    return spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  }
  const script = '"$0" "$@" & chain=$!; read -r _; kill "$chain" 2>/dev/null; wait "$chain"'
  return spawn('/bin/sh', ['-c', script, binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
}

function listeningAddress(
  child: ChildProcess,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const fail = (why: string): void => {
      cleanup()
      reject(
        new Error(
          `anvil did not start: ${why}; it said: ${seen.slice(-500).trim() || '(nothing)'}`,
        ),
      )
    }
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8')
      const match = /Listening on (127\.0\.0\.1:\d+)/.exec(seen)
      if (match !== null) {
        cleanup()
        resolve(match[1]!)
      }
    }
    const onExit = (code: number | null): void => fail(`it exited with ${code}`)
    const onError = (err: Error): void => fail(err.message)
    const onAbort = (): void => fail('aborted')
    const timer = setTimeout(() => fail(`nothing listening after ${timeoutMs} ms`), timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      child.off('error', onError)
      signal?.removeEventListener('abort', onAbort)
      // Keep draining its output, so a chatty chain never blocks on a full pipe.
      child.stdout?.resume()
      child.stderr?.resume()
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
    child.once('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // The shell kills the chain when its input closes; without one, a signal does.
  if (child.stdin !== null) child.stdin.end()
  else child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
