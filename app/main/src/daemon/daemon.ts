// `wholesum node` as a daemon: one libp2p node and job store, any mix of roles (client, prover,
// bootstrap), and the local API that the CLI and the UI drive it through, until stopped.

import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { NetworkState, NodeInfo, Role, Settings as ApiSettings } from '@wholesum/api-client'
import { API_FILE } from '@wholesum/api-client/node'
import type { Core } from '../core.ts'
import { startApi, type ApiServer } from '../api/server.ts'
import { DEFAULT_JOB_LIMITS } from '../jobs/limits.ts'
import { ClientService } from '../net/client-service.ts'
import { startNetworkNode, type NetworkNode } from '../net/node.ts'
import { ProverService } from '../net/prover-service.ts'
import { VerifierService, type VerifierFault } from '../net/verifier-service.ts'
import type { VerificationPolicy } from '../net/client-service.ts'
import { ClientPayments } from '../net/client-payments.ts'
import { PayeePayments } from '../net/payee-payments.ts'
import type { NodePayments } from './payments-settings.ts'
import { faultyProver, type ProverFault } from '../testing/faulty-prover.ts'
import { proverSettings, type ProverSettingsInput } from '../net/prover-settings.ts'
import { Libp2pWire } from '../net/wire.ts'
import { TOPICS } from '../protocol/messages.ts'
import { JobStore } from '../store/index.ts'
import { Housekeeper } from '../housekeeping/housekeeper.ts'
import { parseStorageSettings, type StorageSettings } from '../housekeeping/settings.ts'
import { EventHub } from './event-hub.ts'
import { readSettingsFile, writeSettingsFile } from './settings-file.ts'
import { lockHome, type HomeLock } from './home-lock.ts'
import { tokenFile } from './token.ts'
import { UiTickets } from '../api/ui-tickets.ts'
import { REPO_ROOT } from '../core.ts'
import { UploadStore } from './uploads.ts'

export interface DaemonOptions {
  readonly roles: readonly Role[]
  readonly listen: readonly string[]
  readonly bootstrap: readonly string[]
  /** API port; 0 picks a free one. The one in use is written to `<home>/api.json`. */
  readonly apiPort: number
  /** The embedded store's quota and the retention of finished jobs' pins (settings `storage`). */
  readonly storage?: StorageSettings
  /** The built renderer to serve in browser mode; default the checkout's `app/renderer/dist`. */
  readonly uiRoot?: string
  /** Test-only fault injection of a lying prover. */
  readonly fault?: ProverFault
  /** Test-only: a verifier that lies about every receipt. */
  readonly verifierFault?: VerifierFault
  /** Paid through the escrow (settings `payments`; the chain is the payments plugin's section). */
  readonly payments?: NodePayments
  /** The verifier role's terms (settings `verifierNode`). */
  readonly verifier?: {
    readonly fee?: bigint
    readonly capacity?: number
    readonly adIntervalMs?: number
  }
  /** Client timings (tests shorten them). */
  readonly client?: {
    readonly offerWindowMs?: number
    readonly claimTtlMs?: number
    readonly bitfieldIntervalMs?: number
    /** Independent verifiers attest to every final receipt (settings `clientNode.verification`). */
    readonly verification?: VerificationPolicy
  }
}

export interface Daemon {
  readonly peerId: string
  readonly addresses: readonly string[]
  readonly api: ApiServer
  readonly roles: readonly Role[]
  stop(): Promise<void>
}

const VERSION = '0.1.0'

export async function startDaemon(core: Core, options: DaemonOptions): Promise<Daemon> {
  const { home, logger } = core
  const lock: HomeLock = await lockHome(home)
  const undo: (() => Promise<void> | void)[] = [() => lock.release()]
  const stop = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) {
      try {
        await step()
      } catch (err) {
        logger.warn('stop step failed', { error: (err as Error).message })
      }
    }
  }
  try {
    const tokens = await tokenFile(home)
    const settings = core.settings as ApiSettings
    const storageSettings = options.storage ?? parseStorageSettings(settings.storage)
    const clientDir = join(home, 'client')
    const proverDir = join(home, 'work')
    const node: NetworkNode = await startNetworkNode(join(home, 'network'), {
      listen: options.listen,
      bootstrap: options.bootstrap,
      ...(storageSettings.quotaBytes !== undefined
        ? { quotaBytes: storageSettings.quotaBytes }
        : {}),
    })
    undo.push(() => node.stop())
    const wire = new Libp2pWire(node, logger.forComponent('wire'))
    undo.push(() => wire.close())
    const store = JobStore.open(join(home, 'jobs.sqlite'))
    undo.push(() => store.close())
    const events = new EventHub()
    const roles = options.roles
    const startedAt = Date.now()

    const housekeeper = new Housekeeper({
      store,
      storage: node.storage,
      policy: storageSettings.retention,
      logger: logger.forComponent('housekeeping'),
      files: (jobId, role, released) => {
        const dir = join(clientDir, 'jobs', jobId)
        if (role === 'prover') return [join(proverDir, 'jobs', jobId)]
        // A job no longer in the store: whichever of the two it was.
        if (role === undefined) return [join(proverDir, 'jobs', jobId), dir]
        return released === 'output'
          ? [dir]
          : ['segments', 'receipts', 'program.bin', 'input.bin'].map((f) => join(dir, f))
      },
    })
    housekeeper.start()
    undo.push(() => housekeeper.stop())

    // Payments: one account for every role of this node, through the payments plugin.
    const paymentsSettings = options.payments
    const paymentsPlugin =
      paymentsSettings !== undefined && roles.some((r) => r !== 'bootstrap')
        ? await core.payments()
        : undefined
    let payee: PayeePayments | undefined
    if (paymentsPlugin !== undefined && (roles.includes('prover') || roles.includes('verifier'))) {
      payee = new PayeePayments({
        payments: paymentsPlugin,
        store,
        wire,
        peerKey: node.peerKey,
        logger: logger.forComponent('payments'),
        ...(paymentsSettings?.pollMs !== undefined ? { pollMs: paymentsSettings.pollMs } : {}),
      })
      payee.start()
      undo.push(() => payee!.stop())
    }
    if (paymentsPlugin !== undefined) {
      logger.info('payments on', {
        chainId: paymentsPlugin.chainId,
        escrow: paymentsPlugin.escrow,
        account: paymentsPlugin.account,
      })
    }

    if (roles.includes('bootstrap')) {
      // A bootstrap node relays needs and verifiers' ads, so they flow through it before peers
      // meet directly.
      wire.subscribe(TOPICS.need, () => {})
      wire.subscribe(TOPICS.verifiers, () => {})
    }
    let prover: ProverService | undefined
    if (roles.includes('prover')) {
      const honest = await core.prover()
      const plugin = options.fault !== undefined ? faultyProver(honest, options.fault) : honest
      prover = new ProverService({
        store,
        wire,
        storage: node.storage,
        prover: plugin,
        ...(payee !== undefined ? { payments: payee } : {}),
        settings: proverSettings(
          (core.settings as { proverNode?: ProverSettingsInput }).proverNode ?? {},
          await plugin.capabilities(),
        ),
        logger: logger.forComponent('prover'),
        workDir: proverDir,
        onEvent: (event) => logger.info(`prover ${event.type}`, { ...event }),
      })
      prover.start()
      undo.push(() => prover!.stop())
    }
    if (roles.includes('verifier')) {
      const bond = paymentsSettings?.registerBond
      if (
        paymentsPlugin !== undefined &&
        bond !== undefined &&
        !(await paymentsPlugin.isActiveVerifier(paymentsPlugin.account))
      ) {
        const sent = await paymentsPlugin.registerVerifier(bond)
        logger.info('registered as a verifier on the escrow', {
          bond: bond.toString(),
          tx: sent.hash,
        })
      }
      const verifierFee = options.verifier?.fee ?? 0n
      const verifier = new VerifierService({
        ...(payee !== undefined
          ? {
              payments: {
                payee: await payee.payee(),
                signer: paymentsPlugin!,
                onSigned: (jobId: string, jobKey: `0x${string}`, client: string, fee: bigint) =>
                  payee!.signed(jobId, jobKey, client, fee),
              },
            }
          : {}),
        wire,
        storage: node.storage,
        checker: await core.verifier(),
        logger: logger.forComponent('verifier'),
        fee: verifierFee,
        ...(options.verifier?.capacity !== undefined
          ? { capacity: options.verifier.capacity }
          : {}),
        ...(options.verifier?.adIntervalMs !== undefined
          ? { adIntervalMs: options.verifier.adIntervalMs }
          : {}),
        ...(options.verifierFault !== undefined ? { fault: options.verifierFault } : {}),
        onEvent: (event) => logger.info(`verifier ${event.type}`, { ...event }),
      })
      await verifier.start()
      undo.push(() => verifier.stop())
    }
    let client: ClientService | undefined
    if (roles.includes('client')) {
      let clientPayments: ClientPayments | undefined
      if (paymentsPlugin !== undefined && paymentsSettings !== undefined) {
        clientPayments = new ClientPayments({
          payments: paymentsPlugin,
          store,
          logger: logger.forComponent('payments'),
          self: node.peerId,
          policy: {
            collateral: paymentsSettings.collateral,
            claimWindowS: paymentsSettings.claimWindowS,
            verifiers: paymentsSettings.verifiers,
            quorum: paymentsSettings.quorum,
            ...(paymentsSettings.maxVerifierFee !== undefined
              ? { maxVerifierFee: paymentsSettings.maxVerifierFee }
              : {}),
            ...(paymentsSettings.waitMs !== undefined ? { waitMs: paymentsSettings.waitMs } : {}),
            ...(paymentsSettings.refundPollMs !== undefined
              ? { refundPollMs: paymentsSettings.refundPollMs }
              : {}),
          },
        })
        clientPayments.start()
        undo.push(() => clientPayments!.stop())
      }
      client = new ClientService({
        ...(clientPayments !== undefined ? { payments: clientPayments } : {}),
        wire,
        storage: node.storage,
        prover: await core.prover(),
        logger: logger.forComponent('client'),
        workDir: clientDir,
        store,
        ...options.client,
        onEvent: (event, id) => {
          if (event.type === 'finished') housekeeper.wake()
          if (id === undefined) return
          const { type, jobId, ...data } = event as typeof event & Record<string, unknown>
          events.publish({
            id,
            jobId,
            at: Date.now(),
            type,
            data: JSON.parse(
              JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
            ),
          })
        },
      })
      await client.start()
      undo.push(() => client!.stop())
      const resumed = client.resume((outcome) => {
        if (outcome instanceof Error)
          logger.warn('resumed job ended without a receipt', { error: outcome.message })
      })
      if (resumed.length > 0) logger.info('jobs resumed', { jobs: resumed })
    }

    const uploads = new UploadStore(join(home, 'uploads'), {
      program: DEFAULT_JOB_LIMITS.maxProgramBytes,
      input: DEFAULT_JOB_LIMITS.maxInputBytes,
      receipt: 256 << 20,
      journal: DEFAULT_JOB_LIMITS.maxInputBytes,
      plugin: 64 << 20,
    })
    await uploads.sweep()
    const sweeper = setInterval(() => void uploads.sweep().catch(() => {}), 600_000)
    sweeper.unref()
    undo.push(() => clearInterval(sweeper))

    const settingsFile = join(home, 'settings.json')
    const api = await startApi(
      {
        tokens,
        tickets: new UiTickets(),
        uiRoot: options.uiRoot ?? join(REPO_ROOT, 'app', 'renderer', 'dist'),
        store,
        events,
        uploads,
        storage: node.storage,
        limits: DEFAULT_JOB_LIMITS,
        ...(client !== undefined ? { client } : {}),
        prover: () => core.prover(),
        host: core.host,
        allowedOrigins: settings.api?.allowedOrigins ?? [],
        async info(): Promise<NodeInfo> {
          let capabilities: NodeInfo['capabilities'] = null
          try {
            const c = await (await core.prover()).capabilities()
            capabilities = {
              recursion: c.recursion,
              groth16: c.groth16,
              accelerator: c.accelerator,
              notes: [...c.notes],
            }
          } catch {
            // no prover plugin active: the node still answers
          }
          return {
            version: VERSION,
            peerId: node.peerId,
            roles: [...roles],
            addresses: node.addresses(),
            startedAt,
            home,
            capabilities,
            limits: {
              maxProgramBytes: DEFAULT_JOB_LIMITS.maxProgramBytes,
              maxInputBytes: DEFAULT_JOB_LIMITS.maxInputBytes,
              minPo2: DEFAULT_JOB_LIMITS.minPo2,
              maxPo2: DEFAULT_JOB_LIMITS.maxPo2,
            },
          }
        },
        housekeeping: {
          state: () => housekeeper.state(node.storage.usage()),
          sweep: () => housekeeper.sweepForApi(),
        },
        network(): NetworkState {
          const libp2p = node.libp2p
          const pubsub = libp2p.services.pubsub
          return {
            peerId: node.peerId,
            addresses: node.addresses(),
            connections: libp2p.getConnections().map((c) => ({
              peer: c.remotePeer.toString(),
              address: c.remoteAddr.toString(),
              direction: c.direction,
            })),
            // The topics this node follows, and the need topic always: a client publishes needs
            // without following them, and whether peers hear it is what matters.
            topics: [...new Set([TOPICS.need, ...pubsub.getTopics()])].map((topic) => ({
              topic,
              subscribed: pubsub.getTopics().includes(topic),
              peers: pubsub.getSubscribers(topic).length,
            })),
          }
        },
        async readSettings() {
          return (await readSettingsFile(settingsFile)) as ApiSettings
        },
        async writeSettings(next) {
          await writeSettingsFile(settingsFile, next)
        },
      },
      options.apiPort,
    )
    undo.push(() => api.close())
    const apiFile = join(home, API_FILE)
    await writeFile(
      apiFile,
      JSON.stringify({ url: api.url, port: api.port, pid: process.pid, peerId: node.peerId }) +
        '\n',
    )
    undo.push(() => rm(apiFile, { force: true }))
    logger.info('daemon ready', { roles: [...roles], peerId: node.peerId, api: api.url })
    return { peerId: node.peerId, addresses: node.addresses(), api, roles, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
