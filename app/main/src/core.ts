// Opens the headless core: data directory, settings, logger and the plugin host with builtin plugins.

import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  WholesumError,
  type PaymentsPlugin,
  type ProverPlugin,
  type VerifierPlugin,
} from '@wholesum/plugin-api'
import { createLogger, type ComponentLogger } from './log/logger.ts'
import { PluginHost } from './plugins/index.ts'

/** The repository root: builtin plugins live in `<root>/plugins`. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** The builtin prover; another prover plugin can be chosen with the `prover` setting. */
export const DEFAULT_PROVER = 'prover-risc0'
/** The builtin verifier (risc0's verifier without the prover); the `verifier` setting picks another. */
export const DEFAULT_VERIFIER = 'verifier'
/** The builtin payments plugin (the escrow on an EVM chain, over viem). */
export const DEFAULT_PAYMENTS = 'payments-evm'

export interface Settings {
  /** Name of the prover plugin to use. */
  readonly prover?: string
  /** Name of the verifier plugin a verifier node uses. */
  readonly verifier?: string
  /** The node's payments (settings `payments`); `plugin` names the payments plugin. */
  readonly payments?: { readonly plugin?: string }
  /** One section per plugin, handed to that plugin only. */
  readonly plugins?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
}

export interface CoreOptions {
  /** Data directory; default `$WHOLESUM_HOME`, else `~/.wholesum`. */
  readonly home?: string
  /** Settings; default: `<home>/settings.json` if present. */
  readonly settings?: Settings
  readonly logger?: ComponentLogger
}

export interface Core {
  readonly home: string
  readonly host: PluginHost
  readonly logger: ComponentLogger
  readonly settings: Settings
  /** The active prover plugin, activated on first use. */
  prover(): Promise<ProverPlugin>
  /** The active verifier plugin, activated on first use. */
  verifier(): Promise<VerifierPlugin>
  /** The payments plugin, activated on first use (its settings name the chain and escrow). */
  payments(): Promise<PaymentsPlugin>
  close(): Promise<void>
}

async function readSettings(file: string): Promise<Settings> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return {}
  }
  try {
    return JSON.parse(text) as Settings
  } catch (err) {
    throw new WholesumError(
      'INVALID_INPUT',
      `settings file ${file} is not valid JSON: ${(err as Error).message}`,
    )
  }
}

export async function openCore(options: CoreOptions = {}): Promise<Core> {
  const home = resolve(options.home ?? process.env['WHOLESUM_HOME'] ?? join(homedir(), '.wholesum'))
  const settings = options.settings ?? (await readSettings(join(home, 'settings.json')))
  const logger = options.logger ?? createLogger({ component: 'wholesum' })
  const host = new PluginHost({
    builtinDirs: [join(REPO_ROOT, 'plugins')],
    userPluginsDir: join(home, 'plugins'),
    dataDir: join(home, 'plugin-data'),
    stateFile: join(home, 'plugins.json'),
    logger,
    settings: settings.plugins ?? {},
  })
  await host.discover()
  const proverName = settings.prover ?? DEFAULT_PROVER
  let prover: ProverPlugin | undefined
  let verifier: VerifierPlugin | undefined
  let payments: PaymentsPlugin | undefined
  const paymentsName = settings.payments?.plugin ?? DEFAULT_PAYMENTS
  const verifierName = settings.verifier ?? DEFAULT_VERIFIER
  return {
    home,
    host,
    logger,
    settings,
    async prover() {
      if (prover === undefined) {
        await host.activate(proverName)
        prover = host.get('prover', proverName)
      }
      return prover
    },
    async verifier() {
      if (verifier === undefined) {
        await host.activate(verifierName)
        verifier = host.get('verifier', verifierName)
      }
      return verifier
    },
    async payments() {
      if (payments === undefined) {
        await host.activate(paymentsName)
        payments = host.get('payments', paymentsName)
      }
      return payments
    },
    close: () => host.shutdown(),
  }
}
