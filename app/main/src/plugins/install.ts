// Stages a plugin from a folder or an npm-pack tarball, checks it, and moves it into place atomically.

import { randomBytes } from 'node:crypto'
import { cp, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import semver from 'semver'
import * as tar from 'tar'
import { InvalidInputError, type PluginManifest } from '@wholesum/plugin-api'
import { inspect } from './discovery.ts'
import { readManifest, relativePathProblem } from './manifest.ts'

export interface TarballLimits {
  /** Most entries a tarball may hold. Default 10 000. */
  readonly maxEntries?: number
  /** Most bytes its files may unpack to. Default 256 MiB. */
  readonly maxBytes?: number
}

export interface Staged {
  /** A folder inside the user plugins dir, named `.staging-…` so discovery skips it. */
  readonly dir: string
  readonly manifest: PluginManifest
  /** Symlinks a folder install left out (they could point anywhere). */
  readonly skipped: readonly string[]
}

const STAGING_PREFIX = '.staging-'
const REPLACED_PREFIX = '.replaced-'
const PACKAGE_DIR = 'package'
const ALLOWED_ENTRY_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory'])

/** Copies `source` (without `.git` and without symlinks) into a staging folder and checks it. */
export async function stageFolder(
  source: string,
  userDir: string,
  engineVersion: string,
): Promise<Staged> {
  const info = await stat(source).catch((err: unknown) => {
    throw new InvalidInputError('INVALID_INPUT', `plugin folder ${source} cannot be read`, {
      cause: err,
    })
  })
  if (!info.isDirectory()) throw new InvalidInputError('INVALID_INPUT', `${source} is not a folder`)
  await readManifest(source) // fail fast, before copying anything
  const dir = await makeStagingDir(userDir)
  const skipped: string[] = []
  try {
    await cp(source, dir, {
      recursive: true,
      filter: async (path) => {
        if (basename(path) === '.git') return false
        const entry = await lstat(path)
        if (entry.isSymbolicLink()) {
          skipped.push(path)
          return false
        }
        // A FIFO would block the copy forever; a device or socket has no place in a plugin.
        if (!entry.isFile() && !entry.isDirectory()) {
          throw new InvalidInputError(
            'INVALID_INPUT',
            `${path} is not a regular file or folder (a FIFO, socket or device): a plugin holds only files and folders`,
          )
        }
        return true
      },
    })
    return { dir, manifest: await checkStaged(dir, engineVersion), skipped }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/**
 * Unpacks a `.tgz` as `npm pack` makes it (everything under `package/`) into a staging folder.
 * The whole listing is checked first: an entry outside `package/`, with a `..` segment, an absolute
 * path, a link or a device is rejected before a single byte is written.
 */
export async function stageTarball(
  file: string,
  userDir: string,
  engineVersion: string,
  limits: TarballLimits = {},
): Promise<Staged> {
  await checkTarball(file, limits)
  const dir = await makeStagingDir(userDir)
  try {
    await tar.x({
      file,
      cwd: dir,
      strip: 1,
      strict: true,
      preserveOwner: false,
      // Checked above already; kept so extraction can never write what the listing refused.
      filter: (path, entry) =>
        entryProblem(path, 'type' in entry ? entry.type : 'File') === undefined,
    })
    return { dir, manifest: await checkStaged(dir, engineVersion), skipped: [] }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/**
 * Refuses to replace an installed plugin with the same or an older version unless `force`.
 * `installed` is the manifest of what is there now, if anything.
 */
export function checkUpgrade(
  installed: PluginManifest | undefined,
  next: PluginManifest,
  force: boolean,
): void {
  if (installed === undefined || force) return
  if (!semver.gt(next.version, installed.version)) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `plugin ${next.name} ${next.version} is not newer than the installed ${installed.version}; ` +
        'pass force to reinstall or downgrade',
    )
  }
}

/**
 * Moves a staged plugin to `target`. An existing folder there is first renamed aside, and put back
 * if the move fails, so `target` always holds a complete plugin.
 */
export async function commitStaged(staged: Staged, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  const backup = join(dirname(target), REPLACED_PREFIX + randomBytes(6).toString('hex'))
  let hadOld = true
  try {
    await rename(target, backup)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    hadOld = false
  }
  try {
    await rename(staged.dir, target)
  } catch (err) {
    if (hadOld) await rename(backup, target)
    throw err
  }
  if (hadOld) await rm(backup, { recursive: true, force: true })
}

/** Removes staging and replaced folders left behind by a crash, if older than `maxAgeMs`. */
export async function removeLeftovers(
  userDir: string,
  maxAgeMs: number,
  now = Date.now(),
): Promise<void> {
  let names: string[]
  try {
    names = await readdir(userDir)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(STAGING_PREFIX) && !name.startsWith(REPLACED_PREFIX)) continue
    const path = join(userDir, name)
    const info = await stat(path).catch(() => undefined)
    if (info !== undefined && now - info.mtimeMs > maxAgeMs)
      await rm(path, { recursive: true, force: true })
  }
}

async function makeStagingDir(userDir: string): Promise<string> {
  await mkdir(userDir, { recursive: true })
  const dir = join(userDir, STAGING_PREFIX + randomBytes(6).toString('hex'))
  await mkdir(dir)
  return dir
}

/** Reads the staged manifest and checks it as discovery would (engine range, entry file). */
async function checkStaged(dir: string, engineVersion: string): Promise<PluginManifest> {
  const found = await inspect(dir, basename(dir), 'user', engineVersion)
  if (found?.error !== undefined) throw found.error
  if (found?.manifest === undefined) return readManifest(dir)
  return found.manifest
}

async function checkTarball(file: string, limits: TarballLimits): Promise<void> {
  const maxEntries = limits.maxEntries ?? 10_000
  const maxBytes = limits.maxBytes ?? 256 * 1024 * 1024
  const problems: string[] = []
  let entries = 0
  let bytes = 0
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        entries += 1
        bytes += entry.size ?? 0
        const problem = entryProblem(entry.path, entry.type, entry.linkpath)
        if (problem !== undefined) problems.push(problem)
      },
    })
  } catch (err) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `${file} is not a readable .tgz: ${(err as Error).message}`,
      {
        cause: err,
      },
    )
  }
  if (entries === 0) problems.push('it is empty')
  if (entries > maxEntries) problems.push(`it has ${entries} entries, more than ${maxEntries}`)
  if (bytes > maxBytes) problems.push(`it unpacks to ${bytes} bytes, more than ${maxBytes}`)
  if (problems.length > 0) {
    const shown =
      problems.slice(0, 5).join('; ') +
      (problems.length > 5 ? `; and ${problems.length - 5} more` : '')
    throw new InvalidInputError('INVALID_INPUT', `tarball ${file} refused: ${shown}`)
  }
}

/** Why a tarball entry may not be unpacked, or undefined when it may. */
function entryProblem(path: string, type: string, linkpath?: string): string | undefined {
  if (!ALLOWED_ENTRY_TYPES.has(type)) {
    return `entry "${path}" is a ${type}${linkpath ? ` to "${linkpath}"` : ''}; only files and folders are allowed`
  }
  if (path.includes('\\')) return `entry "${path}" contains a backslash`
  const trimmed = path.replace(/\/+$/, '')
  if (trimmed === PACKAGE_DIR && type === 'Directory') return undefined
  if (!trimmed.startsWith(PACKAGE_DIR + '/'))
    return `entry "${path}" is not under "${PACKAGE_DIR}/"`
  const rest = trimmed.slice(PACKAGE_DIR.length + 1)
  const problem = relativePathProblem(rest)
  return problem === undefined ? undefined : `entry "${path}" ${problem}`
}
