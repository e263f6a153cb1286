// Remembers which plugins the user enabled or disabled, in a small JSON file written atomically.

import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/** The file's shape: `{ "version": 1, "plugins": { "<name>": { "enabled": false } } }`. */
interface StateFileV1 {
  readonly version: 1
  readonly plugins: Record<string, { readonly enabled: boolean }>
}

export interface LoadedState {
  readonly enabled: Map<string, boolean>
  /** Set when the file existed but could not be used; the host starts from defaults then. */
  readonly problem?: string
}

export async function readPluginState(file: string): Promise<LoadedState> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { enabled: new Map() }
    return { enabled: new Map(), problem: `${file} cannot be read: ${(err as Error).message}` }
  }
  try {
    const data = JSON.parse(text) as Partial<StateFileV1>
    if (data.version !== 1 || typeof data.plugins !== 'object' || data.plugins === null) {
      return { enabled: new Map(), problem: `${file}: unknown format` }
    }
    const enabled = new Map<string, boolean>()
    for (const [name, entry] of Object.entries(data.plugins)) {
      if (typeof entry?.enabled === 'boolean') enabled.set(name, entry.enabled)
    }
    return { enabled }
  } catch (err) {
    return { enabled: new Map(), problem: `${file}: not valid JSON (${(err as Error).message})` }
  }
}

/** Writes to a temporary file beside `file`, then renames over it: a crash leaves old or new. */
export async function writePluginState(
  file: string,
  enabled: ReadonlyMap<string, boolean>,
): Promise<void> {
  const plugins: Record<string, { enabled: boolean }> = {}
  for (const [name, on] of [...enabled].sort(([a], [b]) => a.localeCompare(b))) {
    plugins[name] = { enabled: on }
  }
  const data: StateFileV1 = { version: 1, plugins }
  await mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(tmp, JSON.stringify(data, null, 2) + '\n')
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
