// The plugin host: discovers, installs, enables, activates and guards plugins; one failing plugin never stops it.

import { EventEmitter } from 'node:events'
import { mkdir, realpath, rm, rmdir } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  AbortError,
  ENGINE_VERSION,
  InvalidInputError,
  NotFoundError,
  PluginError,
  TimeoutError,
  WholesumError,
  type ErrorCode,
  type Logger,
  type PluginContext,
  type PluginInstance,
  type PluginKind,
  type PluginManifest,
  type PluginPermission,
} from '@wholesum/plugin-api'
import { linkPluginApi } from './api-link.ts'
import { scanPluginDir, type FoundPlugin, type PluginSource } from './discovery.ts'
import { guardCapability } from './guard.ts'
import {
  checkUpgrade,
  commitStaged,
  removeLeftovers,
  stageFolder,
  stageTarball,
  type Staged,
  type TarballLimits,
} from './install.ts'
import { instanceProblems, type CapabilityOf } from './shape.ts'
import { readPluginState, writePluginState } from './state.ts'

export type { CapabilityOf } from './shape.ts'
export type { PluginSource } from './discovery.ts'

/**
 * - `broken`: the manifest is missing, malformed or needs another engine; it cannot run.
 * - `disabled`: the user switched it off.
 * - `enabled`: allowed to run, not activated yet (or deactivated by shutdown).
 * - `active`: activated; its capabilities are served.
 * - `failed`: its activation threw, rejected, timed out or returned the wrong shape.
 */
export type PluginStatus = 'disabled' | 'enabled' | 'active' | 'broken' | 'failed'

export interface PluginListing {
  /** The manifest name; for a plugin whose manifest cannot be read, its folder name. */
  readonly name: string
  /** Empty when the manifest could not be read. */
  readonly version: string
  readonly description?: string
  readonly kinds: readonly PluginKind[]
  readonly permissions: readonly PluginPermission[]
  readonly source: PluginSource
  readonly root: string
  readonly status: PluginStatus
  readonly error?: string
  readonly errorCode?: ErrorCode
}

export interface PluginStateEvent {
  readonly name: string
  /** `uninstalled` is announced once, when a user plugin is removed. */
  readonly status: PluginStatus | 'uninstalled'
  readonly error?: string
  readonly errorCode?: ErrorCode
}

export interface PluginHostEvents {
  'plugin:state': [PluginStateEvent]
}

/** A Logger that may hand out per-component children (app/main/src/log/logger.ts does). */
export type HostLogger = Logger & { forComponent?(name: string): Logger }

export interface PluginHostInit {
  /** Folders whose subfolders are builtin plugins, e.g. `<repo>/plugins`. Scanned in order. */
  readonly builtinDirs: readonly string[]
  /** Where installed plugins live, one folder per plugin name. Created on first install. */
  readonly userPluginsDir: string
  /** Each plugin gets `<dataDir>/<name>`, created before it activates. */
  readonly dataDir: string
  readonly logger: HostLogger
  /** Settings sections by plugin name; a plugin sees only its own. */
  readonly settings?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  /** JSON file remembering enable/disable choices. Without it they last for this process only. */
  readonly stateFile?: string
  /** How long import + `activate` may take. Default 10 000 ms. */
  readonly activateTimeoutMs?: number
  /** How long `deactivate` may take before the host moves on. Default 5 000 ms. */
  readonly deactivateTimeoutMs?: number
  /** The engine version manifests' `engine` ranges are checked against. Default ENGINE_VERSION. */
  readonly engineVersion?: string
  readonly tarballLimits?: TarballLimits
}

export interface InstallOptions {
  /** Reinstall the same version or downgrade. */
  readonly force?: boolean
}

interface Live {
  readonly instance: PluginInstance
  readonly controller: AbortController
  readonly guards: Map<PluginKind, object>
}

interface PluginRecord {
  readonly key: string
  readonly root: string
  readonly source: PluginSource
  readonly manifest?: PluginManifest
  readonly broken?: WholesumError
  /** Unique per record in this process: part of the entry's import URL, so a reinstalled
   * plugin is imported afresh rather than from the module cache. */
  readonly generation: number
  failure?: PluginError
  live?: Live
}

const DEFAULT_ACTIVATE_TIMEOUT_MS = 10_000
const DEFAULT_DEACTIVATE_TIMEOUT_MS = 5_000
const LEFTOVER_AGE_MS = 60 * 60 * 1000

let generations = 0
const nextGeneration = () => ++generations

export class PluginHost extends EventEmitter<PluginHostEvents> {
  readonly #init: PluginHostInit
  readonly #log: Logger
  readonly #engine: string
  #records = new Map<string, PluginRecord>()
  /** Explicit enable/disable choices; plugins without one are enabled. */
  #enabled = new Map<string, boolean>()
  #stateLoaded = false
  #discovered = false
  #queue: Promise<unknown> = Promise.resolve()

  constructor(init: PluginHostInit) {
    super()
    this.#init = init
    this.#log = childLogger(init.logger, 'plugin-host')
    this.#engine = init.engineVersion ?? ENGINE_VERSION
    linkPluginApi()
  }

  /**
   * Scans the builtin folders, then the user folder. Broken plugins are listed with their error;
   * nothing is thrown for them. Plugins already active and unchanged on disk stay active; an
   * active plugin that vanished or changed version is deactivated. A name found twice keeps its
   * first folder (builtins come first); the other is skipped with a warning.
   */
  discover(): Promise<PluginListing[]> {
    return this.#exclusive(async () => {
      await this.#discover()
      return this.list()
    })
  }

  /** Every known plugin, in discovery order. */
  list(): PluginListing[] {
    return [...this.#records.values()].map((r) => this.#listing(r))
  }

  /** Copies a plugin folder into the user plugins folder. See installFromTarball for the rules. */
  installFromFolder(path: string, options: InstallOptions = {}): Promise<PluginListing> {
    return this.#exclusive(() =>
      this.#install(() => stageFolder(path, this.#init.userPluginsDir, this.#engine), options),
    )
  }

  /**
   * Installs a `.tgz` made by `npm pack` as `<userPluginsDir>/<name>`. The archive is unpacked into
   * a staging folder, its manifest validated, then renamed into place; anything refused or failed
   * leaves the user folder as it was. Replacing an installed plugin needs a newer version unless
   * `force`; a builtin plugin's name cannot be taken. The installed plugin is enabled unless the
   * user disabled that name before, and is active again if the version it replaced was.
   */
  installFromTarball(path: string, options: InstallOptions = {}): Promise<PluginListing> {
    return this.#exclusive(() =>
      this.#install(
        () => stageTarball(path, this.#init.userPluginsDir, this.#engine, this.#init.tarballLimits),
        options,
      ),
    )
  }

  /** Removes a user plugin's folder after deactivating it. Builtins can only be disabled. */
  uninstall(name: string): Promise<void> {
    return this.#exclusive(async () => {
      const record = this.#need(name)
      if (record.source !== 'user') {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `plugin ${name} is builtin; disable it instead`,
        )
      }
      await this.#stop(record, 'uninstalled')
      await rm(record.root, { recursive: true, force: true })
      // An emptied `@scope` folder goes too; one still holding plugins stays (rmdir refuses).
      if (name.includes('/')) await rmdir(dirname(record.root)).catch(() => undefined)
      this.#records.delete(name)
      if (this.#enabled.delete(name)) await this.#saveState()
      this.#log.info('plugin uninstalled', { plugin: name })
      this.#emit({ name, status: 'uninstalled' })
    })
  }

  /** Allows a plugin to run and remembers it; clears a previous activation failure. */
  enable(name: string): Promise<PluginListing> {
    return this.#exclusive(async () => {
      const record = this.#need(name)
      this.#enabled.set(name, true)
      await this.#saveState()
      record.failure = undefined
      this.#emitState(record)
      return this.#listing(record)
    })
  }

  /** Deactivates the plugin (if active), aborts its signal, and remembers it is off. */
  disable(name: string): Promise<PluginListing> {
    return this.#exclusive(async () => {
      const record = this.#need(name)
      this.#enabled.set(name, false)
      await this.#saveState()
      await this.#stop(record, 'disabled')
      record.failure = undefined
      this.#emitState(record)
      return this.#listing(record)
    })
  }

  /**
   * Imports the plugin's entry and calls its default export with a PluginContext, within the
   * activate timeout. Resolves when it is active (at once if it already was). A throw, rejection,
   * timeout or an instance missing a declared kind marks it `failed` and rejects with a
   * PluginError naming it; a broken plugin rejects with its ManifestError; a disabled one with a
   * PluginError; an unknown name with NotFoundError.
   */
  activate(name: string): Promise<PluginListing> {
    return this.#exclusive(async () => {
      const record = this.#need(name)
      await this.#activate(record)
      return this.#listing(record)
    })
  }

  /** Activates every enabled, non-broken plugin that is not active. Failures are recorded, not thrown. */
  activateEnabled(): Promise<PluginListing[]> {
    return this.#exclusive(async () => {
      for (const record of this.#records.values()) {
        if (record.broken !== undefined || !this.#isEnabled(record) || record.live !== undefined)
          continue
        await this.#activate(record).catch(() => undefined) // recorded in the record and the log
      }
      return this.list()
    })
  }

  /**
   * The guarded implementation of `kind` from the named plugin, or from the first active plugin
   * providing it. Calls through it never throw synchronously; errors other than WholesumError
   * subclasses arrive as PluginError naming the plugin. Throws NotFoundError if none is active.
   */
  get<K extends PluginKind>(kind: K, name?: string): CapabilityOf<K> {
    const candidates =
      name === undefined
        ? [...this.#records.values()]
        : [this.#records.get(name)].filter((r) => r !== undefined)
    for (const record of candidates) {
      const live = record.live
      if (live === undefined || !record.manifest?.kinds.includes(kind)) continue
      let guard = live.guards.get(kind)
      if (guard === undefined) {
        const impl = live.instance[kind] as CapabilityOf<K>
        const plugin = record.key
        guard = guardCapability(impl, {
          plugin,
          kind,
          unavailable: () => (record.live === live ? undefined : 'is no longer active'),
          onFailure: (error, method) =>
            this.#log.warn('plugin call failed', { plugin, kind, method, error }),
        })
        live.guards.set(kind, guard)
      }
      return guard as CapabilityOf<K>
    }
    throw new NotFoundError(
      name === undefined
        ? `no active plugin provides "${kind}"`
        : `plugin ${name} is not active or does not provide "${kind}"`,
    )
  }

  /** Deactivates every active plugin, in reverse discovery order. Errors are logged, never thrown. */
  shutdown(): Promise<void> {
    return this.#exclusive(async () => {
      for (const record of [...this.#records.values()].reverse()) {
        if (record.live === undefined) continue
        await this.#stop(record, 'shut down')
        this.#emitState(record)
      }
    })
  }

  // ---- internals ----

  async #discover(): Promise<void> {
    await this.#loadState()
    await removeLeftovers(this.#init.userPluginsDir, LEFTOVER_AGE_MS)
    const found: FoundPlugin[] = []
    for (const dir of this.#init.builtinDirs) {
      found.push(...(await scanPluginDir(dir, 'builtin', this.#engine, this.#log)))
    }
    found.push(...(await scanPluginDir(this.#init.userPluginsDir, 'user', this.#engine, this.#log)))

    const before = this.#records
    const next = new Map<string, PluginRecord>()
    for (const f of found) {
      const taken = next.get(f.key)
      if (taken !== undefined) {
        this.#log.warn('plugin name found twice; keeping the first', {
          plugin: f.key,
          kept: taken.root,
          skipped: f.root,
        })
        continue
      }
      const old = before.get(f.key)
      const same =
        old !== undefined &&
        old.root === f.root &&
        old.broken === undefined &&
        f.error === undefined &&
        old.manifest?.version === f.manifest?.version
      next.set(
        f.key,
        same
          ? old
          : {
              key: f.key,
              root: f.root,
              source: f.source,
              ...(f.manifest === undefined ? {} : { manifest: f.manifest }),
              ...(f.error === undefined ? {} : { broken: f.error }),
              generation: nextGeneration(),
            },
      )
      if (f.error !== undefined) {
        this.#log.warn('plugin is broken', { plugin: f.key, root: f.root, error: f.error })
      }
    }
    for (const [key, old] of before) {
      if (old.live !== undefined && next.get(key) !== old) await this.#stop(old, 'changed on disk')
    }
    this.#records = next
    for (const record of next.values()) {
      if (before.get(record.key) !== record) this.#emitState(record)
    }
    for (const key of before.keys()) {
      if (!next.has(key)) this.#emit({ name: key, status: 'uninstalled' })
    }
    this.#discovered = true
  }

  async #install(stage: () => Promise<Staged>, options: InstallOptions): Promise<PluginListing> {
    // Name clashes and upgrades are judged against what is on disk, so look first.
    if (!this.#discovered) await this.#discover()
    const staged = await stage()
    try {
      const { manifest } = staged
      const name = manifest.name
      for (const path of staged.skipped)
        this.#log.warn('install skipped a symlink', { plugin: name, path })
      const existing = this.#records.get(name)
      if (existing !== undefined && existing.source !== 'user') {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `plugin name ${name} is taken by a builtin plugin`,
        )
      }
      checkUpgrade(existing?.manifest, manifest, options.force === true)
      const target = join(this.#init.userPluginsDir, ...name.split('/'))
      const wasActive = existing?.live !== undefined
      if (existing !== undefined) await this.#stop(existing, 'replaced by a new install')
      try {
        await commitStaged(staged, target)
      } catch (err) {
        // The old folder is back in place (commitStaged restores it): bring the old one back up.
        if (existing !== undefined && wasActive)
          await this.#activate(existing).catch(() => undefined)
        throw err
      }
      const record: PluginRecord = {
        key: name,
        root: target,
        source: 'user',
        manifest,
        generation: nextGeneration(),
      }
      this.#records.set(name, record)
      this.#log.info('plugin installed', { plugin: name, version: manifest.version, root: target })
      this.#emitState(record)
      if (wasActive && this.#isEnabled(record)) await this.#activate(record).catch(() => undefined)
      return this.#listing(record)
    } finally {
      await rm(staged.dir, { recursive: true, force: true })
    }
  }

  async #activate(record: PluginRecord): Promise<void> {
    const name = record.key
    if (record.broken !== undefined) throw record.broken
    if (!this.#isEnabled(record))
      throw new PluginError(name, 'is disabled; enable it before activating')
    if (record.live !== undefined) return
    const manifest = record.manifest
    if (manifest === undefined) throw new PluginError(name, 'has no manifest') // unreachable: broken

    const controller = new AbortController()
    const timeoutMs = this.#init.activateTimeoutMs ?? DEFAULT_ACTIVATE_TIMEOUT_MS
    let instance: PluginInstance | undefined
    try {
      const context = await this.#context(record, manifest, controller.signal)
      instance = await withTimeout(
        this.#load(record, manifest, context),
        timeoutMs,
        () => new TimeoutError(`activation took longer than ${timeoutMs} ms`),
        (late) => {
          // It finished after we gave up: release whatever it started.
          this.#log.warn('plugin activated after its timeout; deactivating it', { plugin: name })
          void this.#deactivateInstance(name, late)
        },
      )
      const problems = instanceProblems(instance, manifest)
      if (problems.length > 0) throw new PluginError(name, problems.join('; '))
    } catch (err) {
      controller.abort(new AbortError(`plugin ${name} failed to activate`))
      if (instance !== undefined) await this.#deactivateInstance(name, instance)
      const failure =
        err instanceof PluginError && err.plugin === name
          ? err
          : new PluginError(name, `activation failed: ${messageOf(err)}`, { cause: err })
      record.failure = failure
      this.#log.error('plugin failed to activate', { plugin: name, error: failure })
      this.#emitState(record)
      throw failure
    }
    record.live = { instance, controller, guards: new Map() }
    record.failure = undefined
    this.#log.info('plugin active', { plugin: name, version: manifest.version })
    this.#emitState(record)
  }

  async #context(
    record: PluginRecord,
    manifest: PluginManifest,
    signal: AbortSignal,
  ): Promise<PluginContext> {
    const dataDir = join(this.#init.dataDir, ...record.key.split('/'))
    await mkdir(dataDir, { recursive: true })
    return Object.freeze({
      manifest,
      root: record.root,
      dataDir,
      logger: childLogger(this.#init.logger, `plugin:${record.key}`),
      settings: Object.freeze({ ...(this.#init.settings?.[record.key] ?? {}) }),
      signal,
    })
  }

  /** Imports the entry (after checking it does not leave the root through a symlink) and calls it. */
  async #load(
    record: PluginRecord,
    manifest: PluginManifest,
    context: PluginContext,
  ): Promise<PluginInstance> {
    const root = await realpath(record.root)
    const entry = await realpath(join(record.root, manifest.entry))
    const rel = relative(root, entry)
    if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
      throw new PluginError(
        record.key,
        `entry ${manifest.entry} resolves outside the plugin folder`,
      )
    }
    const url = pathToFileURL(entry)
    url.searchParams.set('v', `${manifest.version}-${record.generation}`)
    const mod = (await import(url.href)) as { default?: unknown }
    if (typeof mod.default !== 'function') {
      throw new PluginError(
        record.key,
        `entry ${manifest.entry} has no default export function (activate)`,
      )
    }
    return (await (mod.default as (ctx: PluginContext) => unknown)(context)) as PluginInstance
  }

  /** Deactivates (bounded by the deactivate timeout) then aborts the signal. Never throws. */
  async #stop(record: PluginRecord, reason: string): Promise<void> {
    const live = record.live
    if (live === undefined) return
    record.live = undefined
    try {
      await this.#deactivateInstance(record.key, live.instance)
    } finally {
      live.controller.abort(new AbortError(`plugin ${record.key} ${reason}`))
      this.#log.info('plugin deactivated', { plugin: record.key, reason })
    }
  }

  async #deactivateInstance(name: string, instance: PluginInstance): Promise<void> {
    if (typeof instance?.deactivate !== 'function') return
    const ms = this.#init.deactivateTimeoutMs ?? DEFAULT_DEACTIVATE_TIMEOUT_MS
    try {
      await withTimeout(
        (async () => instance.deactivate!())(),
        ms,
        () => new TimeoutError(`deactivate took longer than ${ms} ms`),
      )
    } catch (err) {
      this.#log.error('plugin failed to deactivate', { plugin: name, error: err })
    }
  }

  #need(name: string): PluginRecord {
    const record = this.#records.get(name)
    if (record === undefined)
      throw new NotFoundError(`no plugin named ${name}; run discover first?`)
    return record
  }

  #isEnabled(record: PluginRecord): boolean {
    return this.#enabled.get(record.key) ?? true
  }

  #status(record: PluginRecord): PluginStatus {
    if (record.broken !== undefined) return 'broken'
    if (!this.#isEnabled(record)) return 'disabled'
    if (record.live !== undefined) return 'active'
    if (record.failure !== undefined) return 'failed'
    return 'enabled'
  }

  #listing(record: PluginRecord): PluginListing {
    const m = record.manifest
    const error = record.broken ?? record.failure
    return {
      name: record.key,
      version: m?.version ?? '',
      ...(m?.description === undefined ? {} : { description: m.description }),
      kinds: m?.kinds ?? [],
      permissions: m?.permissions ?? [],
      source: record.source,
      root: record.root,
      status: this.#status(record),
      ...(error === undefined ? {} : { error: error.message, errorCode: error.code }),
    }
  }

  #emitState(record: PluginRecord): void {
    const { name, status, error, errorCode } = this.#listing(record)
    this.#emit({ name, status, ...(error === undefined ? {} : { error, errorCode }) })
  }

  #emit(event: PluginStateEvent): void {
    try {
      this.emit('plugin:state', event)
    } catch (err) {
      this.#log.error('a plugin:state listener threw', { error: err, plugin: event.name })
    }
  }

  async #loadState(): Promise<void> {
    if (this.#stateLoaded) return
    this.#stateLoaded = true
    if (this.#init.stateFile === undefined) return
    const { enabled, problem } = await readPluginState(this.#init.stateFile)
    if (problem !== undefined) this.#log.warn('plugin state file ignored', { problem })
    this.#enabled = enabled
  }

  async #saveState(): Promise<void> {
    if (this.#init.stateFile === undefined) return
    await writePluginState(this.#init.stateFile, this.#enabled)
  }

  /** Runs host operations one at a time, so a disable cannot interleave with an install. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }
}

function childLogger(logger: HostLogger, component: string): Logger {
  if (typeof logger.forComponent === 'function') return logger.forComponent(component)
  const tag = (fields?: Record<string, unknown>) => ({ component, ...fields })
  return {
    debug: (m, f) => logger.debug(m, tag(f)),
    info: (m, f) => logger.info(m, tag(f)),
    warn: (m, f) => logger.warn(m, tag(f)),
    error: (m, f) => logger.error(m, tag(f)),
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Settles like `work`, or rejects with `timeout()` after `ms`; a late result goes to `onLate`. */
function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  timeout: () => Error,
  onLate?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      reject(timeout())
    }, ms)
    work.then(
      (value) => {
        if (settled) return onLate?.(value)
        settled = true
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}
