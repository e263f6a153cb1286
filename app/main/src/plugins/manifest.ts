// Reads and validates `wholesum-plugin.json`; every problem is a ManifestError naming the file and field.

import { readFile } from 'node:fs/promises'
import { isAbsolute, join, posix, win32 } from 'node:path'
import semver from 'semver'
import {
  ManifestError,
  PLUGIN_KINDS,
  PLUGIN_PERMISSIONS,
  type PluginKind,
  type PluginManifest,
  type PluginPermission,
} from '@wholesum/plugin-api'

export const MANIFEST_FILE = 'wholesum-plugin.json'

/** npm's rules, lower case only: `name` or `@scope/name`, at most 214 characters. */
export const PLUGIN_NAME_PATTERN = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/
const MAX_NAME_LENGTH = 214

const FIELDS = ['name', 'version', 'description', 'kinds', 'entry', 'engine', 'permissions']

/** Reads `<root>/wholesum-plugin.json`. A missing or unreadable file is INVALID_MANIFEST too. */
export async function readManifest(root: string): Promise<PluginManifest> {
  const file = join(root, MANIFEST_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'cannot be read'
    throw new ManifestError('INVALID_MANIFEST', `${file} ${why}`, { cause: err })
  }
  return parseManifest(text, file)
}

/** Parses manifest text; `file` only names the source in error messages. */
export function parseManifest(text: string, file: string): PluginManifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ManifestError(
      'INVALID_MANIFEST',
      `${file}: not valid JSON (${(err as Error).message})`,
      {
        cause: err,
      },
    )
  }
  return validateManifest(value, file)
}

/** Checks a parsed manifest field by field; returns a frozen, normalised copy. */
export function validateManifest(value: unknown, file: string): PluginManifest {
  const fail = (field: string, problem: string): never => {
    throw new ManifestError('INVALID_MANIFEST', `${file}: field "${field}" ${problem}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ManifestError('INVALID_MANIFEST', `${file}: must be a JSON object`)
  }
  const m = value as Record<string, unknown>
  for (const key of Object.keys(m)) {
    if (!FIELDS.includes(key)) fail(key, `is not a manifest field (allowed: ${FIELDS.join(', ')})`)
  }

  const name = m.name
  if (typeof name !== 'string') return fail('name', 'is required and must be a string')
  if (name.length > MAX_NAME_LENGTH || !PLUGIN_NAME_PATTERN.test(name)) {
    fail(
      'name',
      `"${name}" must be an npm-style lower-case name like "storage-s3" or "@acme/storage-s3"`,
    )
  }

  const version = m.version
  if (typeof version !== 'string') return fail('version', 'is required and must be a string')
  const cleanVersion = semver.valid(version)
  if (cleanVersion === null) {
    return fail('version', `"${version}" is not a semantic version like "1.2.3"`)
  }

  const description = m.description
  if (description !== undefined && typeof description !== 'string') {
    fail('description', 'must be a string')
  }

  const kinds = stringList(m.kinds, 'kinds', fail, true)
  for (const kind of kinds) {
    if (!(PLUGIN_KINDS as readonly string[]).includes(kind)) {
      fail('kinds', `has unknown kind "${kind}" (known: ${PLUGIN_KINDS.join(', ')})`)
    }
  }

  const entry = m.entry
  if (typeof entry !== 'string' || entry.trim() === '') {
    return fail('entry', 'is required and must be a relative path to a module')
  }
  const entryProblem = relativePathProblem(entry)
  if (entryProblem !== undefined) fail('entry', `"${entry}" ${entryProblem}`)

  const engine = m.engine
  if (typeof engine !== 'string') return fail('engine', 'is required and must be a semver range')
  if (engine.trim() === '' || semver.validRange(engine) === null) {
    fail('engine', `"${engine}" is not a valid semver range like "^0.1.0"`)
  }

  const permissions =
    m.permissions === undefined ? [] : stringList(m.permissions, 'permissions', fail, false)
  for (const p of permissions) {
    if (!(PLUGIN_PERMISSIONS as readonly string[]).includes(p)) {
      fail('permissions', `has unknown permission "${p}" (known: ${PLUGIN_PERMISSIONS.join(', ')})`)
    }
  }

  const manifest: PluginManifest = {
    name,
    version: cleanVersion,
    ...(description === undefined ? {} : { description: description as string }),
    kinds: Object.freeze([...kinds]) as readonly PluginKind[],
    entry: posix.normalize(entry.replaceAll('\\', '/')),
    engine,
    permissions: Object.freeze([...permissions]) as readonly PluginPermission[],
  }
  return Object.freeze(manifest)
}

/** INCOMPATIBLE_PLUGIN when the manifest's engine range does not include `engineVersion`. */
export function checkEngine(manifest: PluginManifest, engineVersion: string, file?: string): void {
  if (!semver.satisfies(engineVersion, manifest.engine, { includePrerelease: true })) {
    const where = file === undefined ? `plugin ${manifest.name}` : `${file}`
    throw new ManifestError(
      'INCOMPATIBLE_PLUGIN',
      `${where}: field "engine" "${manifest.engine}" does not include this engine's version ${engineVersion}`,
    )
  }
}

function stringList(
  value: unknown,
  field: string,
  fail: (field: string, problem: string) => never,
  nonEmpty: boolean,
): string[] {
  if (!Array.isArray(value)) return fail(field, 'is required and must be an array of strings')
  if (nonEmpty && value.length === 0) fail(field, 'must not be empty')
  const seen = new Set<string>()
  for (const item of value) {
    if (typeof item !== 'string') fail(field, 'must contain only strings')
    if (seen.has(item as string)) fail(field, `lists "${String(item)}" twice`)
    seen.add(item as string)
  }
  return value as string[]
}

/** Why `p` is not a plain relative path inside a root, or undefined when it is. */
export function relativePathProblem(p: string): string | undefined {
  if (p.includes('\0')) return 'contains a NUL character'
  if (isAbsolute(p) || posix.isAbsolute(p) || win32.isAbsolute(p)) {
    return 'must be relative to the plugin root, not absolute'
  }
  const parts = p.replaceAll('\\', '/').split('/')
  if (parts.includes('..')) return 'must stay inside the plugin root (no ".." segments)'
  const normal = posix.normalize(p.replaceAll('\\', '/'))
  if (normal === '.' || normal === '') return 'must name a file'
  return undefined
}
