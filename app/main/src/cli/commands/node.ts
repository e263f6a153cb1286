// `wholesum node`: this home's daemon. Roles, addresses and the API port come from flags, else from
// settings.json, else the defaults; it prints one JSON line `{"ready":…}` on stdout when it
// listens, then structured logs on stderr until SIGTERM or SIGINT.

import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ROLES, type Role } from '@wholesum/api-client'
import { choice, integer, parseCommand, UsageError } from '../args.ts'
import type { CommandRun } from '../commands.ts'
import { PROVER_FAULTS } from '../../testing/faulty-prover.ts'

const DEFAULT_ROLES: readonly Role[] = ['client', 'prover']
const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']

/** `client,prover` (or repeated flags) → the roles, each known, none twice. */
export function parseRoles(texts: readonly string[]): Role[] {
  const roles = texts.flatMap((t) => t.split(',')).map((r) => r.trim())
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new UsageError(`--role must be among ${ROLES.join(', ')}, got ${JSON.stringify(role)}`)
    }
  }
  if (roles.length === 0) throw new UsageError('--role names no role')
  return [...new Set(roles)] as Role[]
}

export function checkListen(text: string): string {
  try {
    multiaddr(text)
  } catch (err) {
    throw new UsageError(
      `--listen ${JSON.stringify(text)} is not a multiaddr: ${(err as Error).message}`,
    )
  }
  return text
}

/** A bootstrap address must name its peer: /ip4/…/tcp/…/p2p/<peer ID>. */
export function checkBootstrap(text: string): string {
  let components
  try {
    components = multiaddr(text).getComponents()
  } catch (err) {
    throw new UsageError(
      `--bootstrap ${JSON.stringify(text)} is not a multiaddr: ${(err as Error).message}`,
    )
  }
  const peer = components.find((c) => c.name === 'p2p')?.value
  if (peer === undefined) {
    throw new UsageError(
      `--bootstrap ${text} names no peer: end it with /p2p/<peer ID> (the bootstrap node prints its addresses when it starts)`,
    )
  }
  try {
    peerIdFromString(peer)
  } catch (err) {
    throw new UsageError(
      `--bootstrap ${text}: ${peer} is not a peer ID (${(err as Error).message})`,
    )
  }
  return text
}

interface NodeSettings {
  readonly roles?: readonly string[]
  readonly api?: { readonly port?: number }
  readonly network?: { readonly listen?: readonly string[]; readonly bootstrap?: readonly string[] }
  readonly clientNode?: {
    readonly offerWindowMs?: number
    readonly claimTtlMs?: number
    readonly bitfieldIntervalMs?: number
    readonly verification?: {
      readonly count: number
      readonly quorum: number
      /** Wei, as a decimal string. */
      readonly maxFee?: string
      readonly waitMs?: number
      readonly timeoutMs?: number
    }
  }
  /** Paid through the escrow: see daemon/payments-settings.ts. */
  readonly payments?: unknown
  readonly verifierNode?: {
    /** Wei per job, as a decimal string. */
    readonly fee?: string
    readonly capacity?: number
    readonly adIntervalMs?: number
  }
}

/** A wei amount from settings: a decimal string (JSON numbers lose precision past 2^53). */
function weiSetting(value: string | undefined, name: string): bigint | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,77})$/.test(value))
    throw new UsageError(
      `settings ${name} must be wei as a decimal string, not ${JSON.stringify(value)}`,
    )
  return BigInt(value)
}

export const node: CommandRun = async (argv, context) => {
  const { values } = parseCommand(argv, {
    role: { type: 'string', multiple: true },
    listen: { type: 'string', multiple: true },
    bootstrap: { type: 'string', multiple: true },
    'api-port': { type: 'string' },
    // For tests and the devnet: a prover that lies in a given way.
    fault: { type: 'string' },
    // For tests and the devnet: a verifier that lies about every receipt.
    'verifier-fault': { type: 'string' },
  })
  const { openCore } = await import('../../core.ts')
  const { createLogger, parseLogLevel } = await import('../../log/logger.ts')
  const { startDaemon } = await import('../../daemon/daemon.ts')
  const core = await openCore({
    home: context.home,
    logger: createLogger({ level: parseLogLevel(process.env['WHOLESUM_LOG'] ?? 'info') }),
  })
  try {
    const settings = core.settings as NodeSettings
    const roles = parseRoles(values.role ?? settings.roles ?? DEFAULT_ROLES)
    const listen = (values.listen ?? settings.network?.listen ?? DEFAULT_LISTEN).map(checkListen)
    const bootstrap = (values.bootstrap ?? settings.network?.bootstrap ?? []).map(checkBootstrap)
    const apiPort = integer(
      values['api-port'] ?? settings.api?.port?.toString(),
      '--api-port',
      { min: 0, max: 65535 },
      0,
    )
    const fault = choice(values.fault, '--fault', PROVER_FAULTS)
    if (fault !== undefined && !roles.includes('prover')) {
      throw new UsageError('--fault needs the prover role')
    }
    const verifierFault = choice(values['verifier-fault'], '--verifier-fault', [
      'says-invalid',
      'says-valid',
    ] as const)
    if (verifierFault !== undefined && !roles.includes('verifier')) {
      throw new UsageError('--verifier-fault needs the verifier role')
    }
    const clientNode = settings.clientNode
    const { verification, ...clientTimings } = clientNode ?? {}
    const maxFee = weiSetting(verification?.maxFee, 'clientNode.verification.maxFee')
    const verifierFee = weiSetting(settings.verifierNode?.fee, 'verifierNode.fee')
    const { parsePaymentsSettings } = await import('../../daemon/payments-settings.ts')
    const payments = parsePaymentsSettings(settings.payments)
    const daemon = await startDaemon(core, {
      roles,
      listen,
      bootstrap,
      apiPort,
      ...(fault !== undefined ? { fault } : {}),
      ...(verifierFault !== undefined ? { verifierFault } : {}),
      ...(payments !== undefined ? { payments } : {}),
      ...(clientNode !== undefined
        ? {
            client: {
              ...clientTimings,
              ...(verification !== undefined
                ? {
                    verification: {
                      count: verification.count,
                      quorum: verification.quorum,
                      ...(verification.waitMs !== undefined ? { waitMs: verification.waitMs } : {}),
                      ...(verification.timeoutMs !== undefined
                        ? { timeoutMs: verification.timeoutMs }
                        : {}),
                      ...(maxFee !== undefined ? { maxFee } : {}),
                    },
                  }
                : {}),
            },
          }
        : {}),
      ...(settings.verifierNode !== undefined
        ? {
            verifier: {
              ...(verifierFee !== undefined ? { fee: verifierFee } : {}),
              ...(settings.verifierNode.capacity !== undefined
                ? { capacity: settings.verifierNode.capacity }
                : {}),
              ...(settings.verifierNode.adIntervalMs !== undefined
                ? { adIntervalMs: settings.verifierNode.adIntervalMs }
                : {}),
            },
          }
        : {}),
    })
    process.stdout.write(
      JSON.stringify({
        ready: {
          roles,
          peerId: daemon.peerId,
          addresses: daemon.addresses,
          api: daemon.api.url,
          pid: process.pid,
        },
      }) + '\n',
    )
    await new Promise<void>((resolveSignal) => {
      process.once('SIGTERM', () => resolveSignal())
      process.once('SIGINT', () => resolveSignal())
    })
    core.logger.info('stopping')
    await daemon.stop()
    return 0
  } finally {
    await core.close()
  }
}
