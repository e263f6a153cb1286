// Finds plugin folders under a directory and reads their manifests; broken ones are reported, not thrown.

import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ManifestError, type Logger, type PluginManifest } from '@wholesum/plugin-api'
import { checkEngine, MANIFEST_FILE, readManifest } from './manifest.ts'

export type PluginSource = 'builtin' | 'user'

export interface FoundPlugin {
  /** The manifest name, or for a broken plugin the folder name (`foo` or `@scope/foo`). */
  readonly key: string
  readonly root: string
  readonly source: PluginSource
  readonly manifest?: PluginManifest
  /** Set when the manifest is missing, malformed or needs another engine: the plugin is broken. */
  readonly error?: ManifestError
}

/**
 * Lists the plugin folders directly under `dir` (and under `@scope` folders). Folders starting
 * with `.` are skipped (the installer stages there). A builtin folder without a manifest is not a
 * plugin and is skipped; a user folder without one is reported broken, since only the installer
 * writes there. A missing `dir` yields nothing.
 */
export async function scanPluginDir(
  dir: string,
  source: PluginSource,
  engineVersion: string,
  logger?: Logger,
): Promise<FoundPlugin[]> {
  const found: FoundPlugin[] = []
  for (const folder of await subfolders(dir, logger)) {
    if (folder.startsWith('@')) {
      for (const inner of await subfolders(join(dir, folder), logger)) {
        const plugin = await inspect(
          join(dir, folder, inner),
          `${folder}/${inner}`,
          source,
          engineVersion,
        )
        if (plugin !== undefined) found.push(plugin)
      }
      continue
    }
    const plugin = await inspect(join(dir, folder), folder, source, engineVersion)
    if (plugin !== undefined) found.push(plugin)
  }
  return found
}

/** Reads and checks one plugin folder. Undefined when it is a builtin folder with no manifest. */
export async function inspect(
  root: string,
  folderKey: string,
  source: PluginSource,
  engineVersion: string,
): Promise<FoundPlugin | undefined> {
  if (source === 'builtin' && !(await isFile(join(root, MANIFEST_FILE)))) return undefined
  let manifest: PluginManifest | undefined
  try {
    manifest = await readManifest(root)
    checkEngine(manifest, engineVersion, join(root, MANIFEST_FILE))
    if (!(await isFile(join(root, manifest.entry)))) {
      throw new ManifestError(
        'INVALID_MANIFEST',
        `${join(root, MANIFEST_FILE)}: field "entry" "${manifest.entry}" is not a file in the plugin folder`,
      )
    }
    return { key: manifest.name, root, source, manifest }
  } catch (err) {
    const error =
      err instanceof ManifestError
        ? err
        : new ManifestError('INVALID_MANIFEST', `${root}: ${(err as Error).message}`, {
            cause: err,
          })
    // A manifest that parsed but failed a later check still names the plugin and its version.
    return manifest === undefined
      ? { key: folderKey, root, source, error }
      : { key: manifest.name, root, source, manifest, error }
  }
}

async function subfolders(dir: string, logger?: Logger): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') logger?.warn('cannot read plugin folder', { dir, error: err })
    return []
  }
  const out: string[] = []
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue
    // stat, not the dirent: a symlinked plugin folder (npm link, workspaces) counts as a folder.
    if (await isDirectory(join(dir, name))) out.push(name)
  }
  return out
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}
