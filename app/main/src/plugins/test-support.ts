// Helpers for the plugin host's tests: temp folders, fixture plugins, captured logs, raw tarballs.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { TestContext } from 'node:test'
import { Header } from 'tar'
import { createLogger, type ComponentLogger } from '../log/logger.ts'
import { MANIFEST_FILE } from './manifest.ts'
import { PluginHost, type PluginHostInit } from './host.ts'

export const EXAMPLE_DIR = resolve(import.meta.dirname, '../../../../examples/plugin-example')

export interface Dirs {
  readonly root: string
  /** A builtin-style folder: each subfolder is a plugin. */
  readonly builtin: string
  readonly user: string
  readonly data: string
  readonly stateFile: string
}

/** A fresh temp tree for one test, removed when the test ends. */
export async function tempDirs(t: TestContext): Promise<Dirs> {
  const root = await mkdtemp(join(tmpdir(), 'wholesum-plugins-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const dirs = {
    root,
    builtin: join(root, 'builtin'),
    user: join(root, 'user'),
    data: join(root, 'data'),
    stateFile: join(root, 'state', 'plugins.json'),
  }
  await mkdir(dirs.builtin, { recursive: true })
  return dirs
}

export interface CapturedLogger extends ComponentLogger {
  readonly records: Array<{
    level: string
    component: string
    msg: string
    fields?: Record<string, unknown>
  }>
}

/** A debug-level logger that keeps its records in memory instead of writing to stderr. */
export function captureLogger(): CapturedLogger {
  const records: CapturedLogger['records'] = []
  const logger = createLogger({
    level: 'debug',
    stream: { write: (line: string) => records.push(JSON.parse(line)) },
  })
  return Object.assign(logger, { records })
}

export function makeHost(dirs: Dirs, extra: Partial<PluginHostInit> = {}): PluginHost {
  return new PluginHost({
    builtinDirs: [dirs.builtin],
    userPluginsDir: dirs.user,
    dataDir: dirs.data,
    stateFile: dirs.stateFile,
    logger: captureLogger(),
    activateTimeoutMs: 2_000,
    ...extra,
  })
}

export interface FixtureManifest {
  name: string
  version?: string
  kinds?: string[]
  entry?: string
  engine?: string
  permissions?: string[]
  [field: string]: unknown
}

/**
 * Writes `<parent>/<folder>/` with a manifest and an `index.mjs` holding `code`. `manifest` may
 * be an object (defaults filled in) or raw text (written as is, e.g. broken JSON).
 */
export async function writePlugin(
  parent: string,
  folder: string,
  manifest: FixtureManifest | string,
  code = STORAGE_PLUGIN,
): Promise<string> {
  const root = join(parent, folder)
  await mkdir(root, { recursive: true })
  const text =
    typeof manifest === 'string'
      ? manifest
      : JSON.stringify({
          version: '1.0.0',
          kinds: ['storage'],
          entry: 'index.mjs',
          engine: '^0.1.0',
          ...manifest,
        })
  await writeFile(join(root, MANIFEST_FILE), text)
  await writeFile(join(root, 'index.mjs'), code)
  return root
}

/**
 * A fixture storage plugin. `put` answers `put:<settings.tag>`; `has` throws synchronously, `pin`
 * rejects with a plain Error, `unpin` rejects with InvalidInputError, `get` fails mid-stream.
 * On activation it writes the context it saw to `<dataDir>/context.json`; on deactivate and on
 * abort it writes marker files there.
 */
export const STORAGE_PLUGIN = `
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidInputError } from '@wholesum/plugin-api'
export default (ctx) => {
  writeFileSync(join(ctx.dataDir, 'context.json'), JSON.stringify({
    name: ctx.manifest.name, root: ctx.root, dataDir: ctx.dataDir, settings: ctx.settings,
  }))
  ctx.signal.addEventListener('abort', () => writeFileSync(join(ctx.dataDir, 'aborted'), ''))
  return {
    storage: {
      async put() { return 'put:' + (ctx.settings.tag ?? 'none') },
      async *get() { yield new Uint8Array([1]); throw new TypeError('disk on fire') },
      has() { throw new RangeError('has exploded synchronously') },
      async pin() { throw new Error('pin rejected') },
      async unpin() { throw new InvalidInputError('INVALID_INPUT', 'bad cid') },
      async stat(cid) { return { cid, size: 0, pinned: false, local: true } },
    },
    deactivate() { writeFileSync(join(ctx.dataDir, 'deactivated'), '') },
  }
}
`

export interface RawEntry {
  readonly path: string
  readonly body?: string
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link'
  readonly linkpath?: string
}

/**
 * Writes a gzipped tar with exactly these entries, paths untouched: unlike `tar.c`, it will
 * happily write `package/../evil`, which is what the traversal tests need.
 */
export async function writeRawTarGz(file: string, entries: readonly RawEntry[]): Promise<void> {
  const blocks: Buffer[] = []
  for (const entry of entries) {
    const type = entry.type ?? 'File'
    const body = Buffer.from(entry.body ?? '')
    const size = type === 'File' ? body.length : 0
    const header = new Header({
      path: entry.path,
      mode: type === 'Directory' ? 0o755 : 0o644,
      size,
      type,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    })
    const block = Buffer.alloc(512)
    header.encode(block, 0)
    blocks.push(block)
    if (size > 0) blocks.push(body, Buffer.alloc((512 - (size % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, gzipSync(Buffer.concat(blocks)))
}
