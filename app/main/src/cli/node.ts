// `wholesum node`: one long-running network node in a role (bootstrap, prover). Prints one JSON
// line `{"ready":…}` on stdout when it listens, then structured logs on stderr until SIGTERM/SIGINT.

import { parseArgs } from 'node:util'
import { join } from 'node:path'
import type { Core } from '../core.ts'
import { startNetworkNode, type NetworkNode } from '../net/node.ts'
import { ProverService, type ProverFault } from '../net/prover-service.ts'
import { proverSettings, type ProverSettingsInput } from '../net/prover-settings.ts'
import { Wire } from '../net/wire.ts'
import { TOPICS } from '../protocol/messages.ts'
import { JobStore } from '../store/index.ts'

export type NodeRole = 'bootstrap' | 'prover'

export interface NodeArgs {
  readonly role: NodeRole
  readonly listen: string[]
  readonly bootstrap: string[]
  readonly fault?: ProverFault
}

export function parseNodeArgs(argv: string[]): NodeArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      role: { type: 'string' },
      listen: { type: 'string', multiple: true },
      bootstrap: { type: 'string', multiple: true },
      fault: { type: 'string' },
    },
  })
  const role = values.role ?? 'prover'
  if (role !== 'bootstrap' && role !== 'prover') {
    throw new Error(`--role must be bootstrap or prover, got ${role}`)
  }
  const fault = values.fault
  if (fault !== undefined && fault !== 'corrupt' && fault !== 'wrong-segment') {
    throw new Error(`--fault must be corrupt or wrong-segment, got ${fault}`)
  }
  return {
    role,
    listen: values.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: values.bootstrap ?? [],
    ...(fault !== undefined ? { fault } : {}),
  }
}

/** Runs until a signal; resolves with the exit code. */
export async function runNode(core: Core, args: NodeArgs): Promise<number> {
  const logger = core.logger
  const node: NetworkNode = await startNetworkNode(join(core.home, 'network'), {
    listen: args.listen,
    bootstrap: args.bootstrap,
  })
  const wire = new Wire(node, logger.forComponent('wire'))
  let service: ProverService | undefined
  let store: JobStore | undefined
  if (args.role === 'bootstrap') {
    // A bootstrap node relays needs, so they flow through it before peers meet directly. Job
    // topics are followed only by their provers, who hold a direct connection to the client.
    wire.subscribe(TOPICS.need, () => {})
  } else {
    const prover = await core.prover()
    const capabilities = await prover.capabilities()
    const settings = proverSettings(
      (core.settings as { proverNode?: ProverSettingsInput }).proverNode ?? {},
      capabilities,
    )
    store = JobStore.open(join(core.home, 'jobs.sqlite'))
    service = new ProverService({
      store,
      wire,
      storage: node.storage,
      prover,
      settings,
      logger: logger.forComponent('prover'),
      workDir: join(core.home, 'work'),
      ...(args.fault !== undefined ? { fault: args.fault } : {}),
      onEvent: (event) => logger.info(`prover ${event.type}`, { ...event }),
    })
    service.start()
  }
  process.stdout.write(
    JSON.stringify({
      ready: { role: args.role, peerId: node.peerId, addresses: node.addresses() },
    }) + '\n',
  )
  await new Promise<void>((resolveSignal) => {
    process.once('SIGTERM', () => resolveSignal())
    process.once('SIGINT', () => resolveSignal())
  })
  await service?.stop()
  await node.stop()
  store?.close()
  return 0
}
