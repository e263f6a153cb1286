// A devnet of daemons on loopback: a bootstrap node, N provers and a client, each its own
// `wholesum node` process on its own home, real libp2p over real TCP; jobs go in through the
// client's local API, as a user's would. Used by `wholesum devnet`, the README's demo, the daemon
// tests and bench/network-prove.

import { join, resolve } from 'node:path'
import { mkdir } from 'node:fs/promises'
import type { ApiClient } from '@wholesum/api-client'
import { connect } from '@wholesum/api-client/node'
import { TOPICS } from '../protocol/messages.ts'
import { startDevnetChain, type DevnetChain } from './chain.ts'
import {
  proverArgs,
  spawnNode,
  stopProcess,
  type DevnetProverSpec,
  type NodeProcess,
} from './devnet.ts'

export interface DaemonDevnetOptions {
  readonly dir: string
  readonly provers: readonly DevnetProverSpec[]
  /** The client daemon's timings (settings.json `clientNode`). */
  readonly client?: {
    readonly offerWindowMs?: number
    readonly claimTtlMs?: number
    readonly bitfieldIntervalMs?: number
    /** Verifiers asked per job and the quorum (the fee cap as wei in a decimal string). */
    readonly verification?: {
      readonly count: number
      readonly quorum: number
      readonly maxFee?: string
      readonly waitMs?: number
    }
  }
  /** Verifier nodes, each with its fee (wei, decimal) and, in tests, a lie to tell. */
  readonly verifiers?: readonly DevnetVerifierSpec[]
  /**
   * Jobs paid through the escrow on a local chain (anvil on loopback, the escrow deployed, every
   * node a funded account of its own): the client's terms (wei as decimal strings).
   */
  readonly payments?: {
    readonly collateral?: string
    readonly claimWindowS?: number
    readonly quorum?: number
  }
  /** The client daemon's `storage` settings (quota, retention). */
  readonly clientStorage?: Record<string, unknown>
  readonly logLevel?: string
}

export interface DevnetVerifierSpec {
  readonly fee?: string
  readonly fault?: 'says-invalid' | 'says-valid'
}

export class DaemonDevnet {
  readonly dir: string
  readonly bootstrap: NodeProcess
  readonly provers: NodeProcess[]
  verifiers: NodeProcess[] = []
  /** The local chain, when the devnet's jobs are paid. */
  chain: DevnetChain | undefined
  /** The client's payments settings, kept for its restarts. */
  private clientPayments: Record<string, unknown> = {}
  /** Each node's account on it, by node name. */
  readonly accounts = new Map<string, `0x${string}`>()
  client: NodeProcess
  api: ApiClient
  private readonly options: DaemonDevnetOptions

  private constructor(
    dir: string,
    bootstrap: NodeProcess,
    provers: NodeProcess[],
    client: NodeProcess,
    api: ApiClient,
    options: DaemonDevnetOptions,
  ) {
    this.dir = dir
    this.bootstrap = bootstrap
    this.provers = provers
    this.client = client
    this.api = api
    this.options = options
  }

  /** A node's name (prover-1, verifier-2, …) from its peer ID, for views and summaries. */
  name(peer: string): string {
    return (
      [...this.provers, ...this.verifiers].find((p) => p.peerId === peer)?.name ?? peer.slice(-8)
    )
  }

  static async start(options: DaemonDevnetOptions): Promise<DaemonDevnet> {
    const dir = resolve(options.dir)
    await mkdir(dir, { recursive: true })
    const log = options.logLevel !== undefined ? { logLevel: options.logLevel } : {}
    const started: NodeProcess[] = []
    const chain = options.payments !== undefined ? await startDevnetChain() : undefined
    const accounts = new Map<string, `0x${string}`>()
    // A node's payments settings: its own funded account, and its role's terms.
    const paid = async (
      name: string,
      terms: Record<string, unknown>,
    ): Promise<Record<string, unknown>> => {
      if (chain === undefined) return {}
      const account = await chain.account(join(dir, name))
      accounts.set(name, account.address)
      return { plugins: { 'payments-evm': account.plugin }, payments: terms }
    }
    try {
      const bootstrap = await spawnNode(
        'bootstrap',
        join(dir, 'bootstrap'),
        ['--role', 'bootstrap'],
        log,
      )
      started.push(bootstrap)
      const via = bootstrap.addresses[0]!
      const provers = await Promise.all(
        options.provers.map((spec, i) =>
          (async () =>
            spawnNode(`prover-${i + 1}`, join(dir, `prover-${i + 1}`), proverArgs(via, spec), {
              ...log,
              settings: {
                proverNode: { minPricePerSegment: 1, ...spec.settings },
                ...(await paid(`prover-${i + 1}`, { pollMs: 500 })),
              },
            }))(),
        ),
      )
      started.push(...provers)
      const verifiers = await Promise.all(
        (options.verifiers ?? []).map(async (spec, i) =>
          spawnNode(
            `verifier-${i + 1}`,
            join(dir, `verifier-${i + 1}`),
            [
              '--role',
              'verifier',
              '--bootstrap',
              via,
              ...(spec.fault !== undefined ? ['--verifier-fault', spec.fault] : []),
            ],
            {
              ...log,
              settings: {
                verifierNode: { fee: spec.fee ?? '0', adIntervalMs: 2_000 },
                ...(await paid(`verifier-${i + 1}`, {
                  pollMs: 500,
                  registerBond: (10n ** 18n).toString(),
                })),
              },
            },
          ),
        ),
      )
      started.push(...verifiers)
      const verifierCount = options.verifiers?.length ?? 0
      const clientPayments =
        options.payments !== undefined
          ? await paid('client', {
              collateral: options.payments.collateral ?? '1000000000000000',
              claimWindowS: options.payments.claimWindowS ?? 10,
              verifiers: verifierCount,
              quorum: options.payments.quorum ?? Math.floor(verifierCount / 2) + 1,
              waitMs: 60_000,
              refundPollMs: 1_000,
            })
          : {}
      const client = await spawnClient(dir, via, options, undefined, clientPayments)
      started.push(client)
      const net = new DaemonDevnet(
        dir,
        bootstrap,
        provers,
        client,
        await connect(client.home),
        options,
      )
      net.verifiers = verifiers
      net.chain = chain
      net.clientPayments = clientPayments
      for (const [name, address] of accounts) net.accounts.set(name, address)
      await net.waitForMesh(30_000)
      return net
    } catch (err) {
      await Promise.all(started.map((p) => stopProcess(p)))
      await chain?.stop()
      throw err
    }
  }

  /** Waits until the client hears the need topic through a peer (the bootstrap relays it). */
  async waitForMesh(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      signal?.throwIfAborted()
      const state = await this.api.network(signal)
      const need = state.topics.find((t) => t.topic === TOPICS.need)?.peers ?? 0
      if (need >= 1 && state.connections.length >= 1) {
        // Give the bootstrap's mesh a moment to take in the provers' subscriptions.
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * this.provers.length)))
        return
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`the devnet's gossip mesh did not form within ${timeoutMs} ms`)
  }

  /** Kills the client daemon at once (SIGKILL: no cleanup), as a crash would. */
  async killClient(): Promise<void> {
    this.client.child.kill('SIGKILL')
    await this.client.exited
  }

  /** Starts the client daemon again on its home: same key, same store, same API token. */
  async restartClient(): Promise<void> {
    await stopProcess(this.client)
    this.client = await spawnClient(
      this.dir,
      this.bootstrap.addresses[0]!,
      this.options,
      [...this.client.addresses.map((a) => a.replace(/\/p2p\/.*$/, ''))],
      this.clientPayments,
    )
    this.api = await connect(this.client.home)
  }

  async stop(): Promise<void> {
    await Promise.all(
      [this.client, ...this.provers, ...this.verifiers, this.bootstrap].map((p) => stopProcess(p)),
    )
    await this.chain?.stop()
  }
}

function spawnClient(
  dir: string,
  bootstrapAddr: string,
  options: DaemonDevnetOptions,
  listen?: readonly string[],
  payments: Record<string, unknown> = {},
): Promise<NodeProcess> {
  return spawnNode(
    'client',
    join(dir, 'client'),
    [
      '--role',
      'client',
      '--bootstrap',
      bootstrapAddr,
      ...(listen ?? []).flatMap((a) => ['--listen', a]),
    ],
    {
      ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
      settings: {
        ...(options.client !== undefined ? { clientNode: options.client } : {}),
        ...(options.clientStorage !== undefined ? { storage: options.clientStorage } : {}),
        ...payments,
      },
    },
  )
}
