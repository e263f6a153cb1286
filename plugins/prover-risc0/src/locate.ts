// Finds the risc0 worker binary: explicit setting, then environment, then the project's build cache.

import { access, constants } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { NotFoundError } from '@wholesum/plugin-api'

/** Where scripts/build-worker.sh puts the release build (outside the clone, so CI can cache it). */
export function defaultWorkerPath(): string {
  const cache = process.env['WHOLESUM_CACHE'] ?? join(homedir(), '.cache', 'wholesum')
  return join(cache, 'cargo-target', 'release', 'wholesum-risc0-worker')
}

export async function locateWorker(setting: unknown): Promise<string> {
  const candidates = [
    typeof setting === 'string' && setting !== '' ? setting : undefined,
    process.env['WHOLESUM_RISC0_WORKER'],
    defaultWorkerPath(),
  ].filter((path): path is string => path !== undefined && path !== '')
  for (const path of candidates) {
    try {
      await access(path, constants.X_OK)
      return path
    } catch {
      // try the next one
    }
  }
  throw new NotFoundError(
    `risc0 worker not found (looked at ${candidates.join(', ')}); build it with \`npm run setup\``,
  )
}
