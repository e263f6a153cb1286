// A devnet on loopback: a bootstrap node and N provers as separate `wholesum node` processes, and
// a client in this process, all real libp2p nodes over real TCP sockets. Used by `wholesum
// devnet`, the README's demo, the network tests and bench/network-prove.

import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { ProverPlugin } from '@wholesum/plugin-api'
import { REPO_ROOT } from '../core.ts'
import type { ComponentLogger } from '../log/logger.ts'
import { ClientService, type ClientServiceOptions } from '../net/client-service.ts'
import { startNetworkNode, type NetworkNode } from '../net/node.ts'
import type { ProverFault } from '../testing/faulty-prover.ts'
import type { ProverSettingsInput } from '../net/prover-settings.ts'
import { Libp2pWire } from '../net/wire.ts'
import { TOPICS } from '../protocol/messages.ts'
import { JobStore } from '../store/index.ts'

const CLI = join(REPO_ROOT, 'app', 'main', 'src', 'cli', 'main.ts')

export interface DevnetProverSpec {
  readonly fault?: ProverFault
  readonly settings?: ProverSettingsInput
}

export interface DevnetOptions {
  /** Everything of this devnet lives here: one home per node, logs, the client's jobs. */
  readonly dir: string
  readonly provers: readonly DevnetProverSpec[]
  /** The client's prover plugin: it executes, verifies segment receipts, assembles and verifies. */
  readonly clientProver: ProverPlugin
  readonly logger: ComponentLogger
  readonly client?: Partial<
    Omit<ClientServiceOptions, 'wire' | 'storage' | 'prover' | 'logger' | 'workDir'>
  >
  /** Persist the client's jobs in `<dir>/client/jobs.sqlite` (needed to restart the client). */
  readonly persistClient?: boolean
  /** Child processes' log level (their logs go to <home>/node.log). */
  readonly logLevel?: string
}

export interface NodeProcess {
  readonly name: string
  readonly home: string
  readonly peerId: string
  readonly addresses: readonly string[]
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  readonly logFile: string
}

export async function spawnNode(
  name: string,
  home: string,
  args: readonly string[],
  options: { logLevel?: string; settings?: unknown } = {},
): Promise<NodeProcess> {
  await mkdir(home, { recursive: true })
  if (options.settings !== undefined) {
    await writeFile(join(home, 'settings.json'), JSON.stringify(options.settings, null, 2))
  }
  const logFile = join(home, 'node.log')
  const child = spawn(process.execPath, [CLI, 'node', ...args], {
    env: { ...process.env, WHOLESUM_HOME: home, WHOLESUM_LOG: options.logLevel ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // Appended: a restarted node's log follows its earlier life.
  child.stderr!.pipe(createWriteStream(logFile, { flags: 'a' }))
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  )
  const ready = await new Promise<{ peerId: string; addresses: string[] }>(
    (resolveReady, rejectReady) => {
      const lines = createInterface({ input: child.stdout! })
      const timer = setTimeout(
        () => rejectReady(new Error(`${name} did not start within 60 s (see ${logFile})`)),
        60_000,
      )
      lines.on('line', (line) => {
        try {
          const parsed = JSON.parse(line) as { ready?: { peerId: string; addresses: string[] } }
          if (parsed.ready !== undefined) {
            clearTimeout(timer)
            resolveReady(parsed.ready)
          }
        } catch {
          // not our line
        }
      })
      void exited.then((code) => {
        clearTimeout(timer)
        rejectReady(new Error(`${name} exited with ${code} before it was ready (see ${logFile})`))
      })
    },
  )
  return { name, home, peerId: ready.peerId, addresses: ready.addresses, child, exited, logFile }
}

interface ClientParts {
  readonly node: NetworkNode
  readonly wire: Libp2pWire
  readonly service: ClientService
  readonly store: JobStore | undefined
}

async function startClient(
  dir: string,
  options: DevnetOptions,
  bootstrapAddr: string,
  listen?: readonly string[],
): Promise<ClientParts> {
  const node = await startNetworkNode(join(dir, 'client', 'network'), {
    bootstrap: [bootstrapAddr],
    ...(listen !== undefined ? { listen } : {}),
  })
  const wire = new Libp2pWire(node, options.logger.forComponent('wire'))
  const store =
    options.persistClient === true ? JobStore.open(join(dir, 'client', 'jobs.sqlite')) : undefined
  const service = new ClientService({
    wire,
    storage: node.storage,
    prover: options.clientProver,
    logger: options.logger.forComponent('client'),
    workDir: join(dir, 'client'),
    ...(store !== undefined ? { store } : {}),
    ...options.client,
  })
  await service.start()
  return { node, wire, service, store }
}

export function proverArgs(bootstrapAddr: string, spec: DevnetProverSpec): string[] {
  return [
    '--role',
    'prover',
    '--bootstrap',
    bootstrapAddr,
    ...(spec.fault !== undefined ? ['--fault', spec.fault] : []),
  ]
}

export class Devnet {
  readonly dir: string
  readonly bootstrap: NodeProcess
  readonly provers: NodeProcess[]
  private parts: ClientParts
  private readonly options: DevnetOptions

  private constructor(
    dir: string,
    bootstrap: NodeProcess,
    provers: NodeProcess[],
    parts: ClientParts,
    options: DevnetOptions,
  ) {
    this.dir = dir
    this.bootstrap = bootstrap
    this.provers = provers
    this.parts = parts
    this.options = options
  }

  get clientNode(): NetworkNode {
    return this.parts.node
  }
  get wire(): Libp2pWire {
    return this.parts.wire
  }
  get client(): ClientService {
    return this.parts.service
  }
  get store(): JobStore | undefined {
    return this.parts.store
  }

  /**
   * Stops the client abruptly (its jobs' promises reject) and starts it again on the same peer
   * key, the same listen addresses and the same job store, as after a crash and a restart.
   * The caller then calls `client.resume()`.
   */
  async restartClient(): Promise<void> {
    const listen = this.parts.node.addresses().map((a) => a.replace(/\/p2p\/.*$/, ''))
    await this.parts.service.stop()
    await this.parts.node.stop()
    this.parts.store?.close()
    this.parts = await startClient(this.dir, this.options, this.bootstrap.addresses[0]!, listen)
  }

  static async start(options: DevnetOptions): Promise<Devnet> {
    const dir = resolve(options.dir)
    await mkdir(dir, { recursive: true })
    const started: NodeProcess[] = []
    try {
      const bootstrap = await spawnNode(
        'bootstrap',
        join(dir, 'bootstrap'),
        ['--role', 'bootstrap'],
        {
          ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
        },
      )
      started.push(bootstrap)
      const bootstrapAddr = bootstrap.addresses[0]!
      const provers = await Promise.all(
        options.provers.map((spec, i) =>
          spawnNode(
            `prover-${i + 1}`,
            join(dir, `prover-${i + 1}`),
            proverArgs(bootstrapAddr, spec),
            {
              ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
              settings: { proverNode: { minPricePerSegment: 1, ...spec.settings } },
            },
          ),
        ),
      )
      started.push(...provers)
      const parts = await startClient(dir, options, bootstrapAddr)
      const devnet = new Devnet(dir, bootstrap, provers, parts, options)
      await devnet.waitForMesh(provers.length, 30_000)
      return devnet
    } catch (err) {
      await Promise.all(started.map((p) => stopProcess(p)))
      throw err
    }
  }

  /** Waits until the provers are reachable through gossip (directly or via the bootstrap node). */
  async waitForMesh(provers: number, timeoutMs: number): Promise<void> {
    const pubsub = this.clientNode.libp2p.services.pubsub
    const deadline = Date.now() + timeoutMs
    // The bootstrap relays gossip; once it sees every prover on the need topic, a need reaches them.
    while (Date.now() < deadline) {
      const direct = pubsub.getSubscribers(TOPICS.need).length
      if (direct >= 1) {
        const peers = this.clientNode.libp2p.getPeers().length
        if (peers >= 1) {
          // Give the bootstrap's mesh a moment to include the provers' subscriptions.
          await new Promise((r) => setTimeout(r, Math.min(2000, 200 * provers)))
          return
        }
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`the devnet's gossip mesh did not form within ${timeoutMs} ms`)
  }

  /** Starts prover `i` again on its home (same key, same job store) after it died or was killed. */
  async restartProver(i: number): Promise<NodeProcess> {
    const old = this.provers[i]!
    await stopProcess(old)
    const spec = this.options.provers[i] ?? {}
    const again = await spawnNode(
      old.name,
      old.home,
      proverArgs(this.bootstrap.addresses[0]!, spec),
      this.options.logLevel !== undefined ? { logLevel: this.options.logLevel } : {},
    )
    this.provers[i] = again
    return again
  }

  async stop(): Promise<void> {
    await this.client.stop()
    await this.clientNode.stop()
    this.parts.store?.close()
    await Promise.all([...this.provers, this.bootstrap].map((p) => stopProcess(p)))
  }
}

export async function stopProcess(node: NodeProcess, graceMs = 5000): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return
  node.child.kill('SIGTERM')
  const timer = setTimeout(() => node.child.kill('SIGKILL'), graceMs)
  await node.exited
  clearTimeout(timer)
}
