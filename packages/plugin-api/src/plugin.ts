// The plugin contract: the manifest a plugin ships, the context the host hands it, what it returns.

import type { StoragePlugin, VerifierPlugin } from './capabilities.ts'
import type { PaymentsPlugin } from './payments.ts'
import type { ProverPlugin } from './prover.ts'

export const PLUGIN_KINDS = ['prover', 'storage', 'verifier', 'payments'] as const
export type PluginKind = (typeof PLUGIN_KINDS)[number]

/**
 * What a plugin may touch. The host hands a plugin only what its manifest asks for and the user
 * allowed; a plugin that asks for nothing gets a logger and its own data directory.
 */
export const PLUGIN_PERMISSIONS = [
  'fs:data',
  'fs:jobs',
  'child-process',
  'network:loopback',
  'network:p2p',
  'containers',
  'secrets',
] as const
export type PluginPermission = (typeof PLUGIN_PERMISSIONS)[number]

/** The file `wholesum-plugin.json` at the root of every plugin. */
export interface PluginManifest {
  /** npm-style name, e.g. `prover-risc0` or `@acme/storage-s3`. */
  readonly name: string
  /** Semantic version of the plugin. */
  readonly version: string
  readonly description?: string
  readonly kinds: readonly PluginKind[]
  /** Module path relative to the plugin root, whose default export is `activate`. */
  readonly entry: string
  /** Semver range of the Wholesum engine (plugin API) this plugin works with, e.g. `^0.1.0`. */
  readonly engine: string
  readonly permissions: readonly PluginPermission[]
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export interface PluginContext {
  readonly manifest: PluginManifest
  /** Absolute path of the plugin's installed root. */
  readonly root: string
  /** A directory private to this plugin, created by the host. */
  readonly dataDir: string
  readonly logger: Logger
  /** The plugin's own settings section, from the user's settings file or CLI flags. */
  readonly settings: Readonly<Record<string, unknown>>
  /** Aborted when the host disables or unloads the plugin. */
  readonly signal: AbortSignal
}

/** What `activate` returns: one implementation per kind the manifest declares. */
export interface PluginInstance {
  readonly prover?: ProverPlugin
  readonly storage?: StoragePlugin
  readonly verifier?: VerifierPlugin
  readonly payments?: PaymentsPlugin
  /** Releases child processes, sockets and files; called on disable and shutdown. */
  deactivate?(): Promise<void> | void
}

export type ActivateFn = (context: PluginContext) => PluginInstance | Promise<PluginInstance>

/** Helps plugin authors type their entry: `export default definePlugin((ctx) => ({ ... }))`. */
export function definePlugin(activate: ActivateFn): ActivateFn {
  return activate
}

/** The version of this API; a manifest's `engine` range is checked against it. */
export const ENGINE_VERSION = '0.1.0'
