// One node per data dir: two daemons on one home would share a peer key and a job store.

import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { WholesumError } from '@wholesum/plugin-api'

export const LOCK_FILE = 'node.lock'

export interface HomeLock {
  release(): Promise<void>
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<home>/node.lock` (holding this pid), or fails naming the process that holds it. A lock
 * left by a process that no longer runs (a SIGKILL) is taken over.
 */
export async function lockHome(home: string): Promise<HomeLock> {
  const file = join(home, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return {
        async release() {
          const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim())
          if (holder === process.pid) await rm(file, { force: true })
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim())
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new WholesumError(
          'UNAVAILABLE',
          `another node (pid ${holder}) is running on ${home}; stop it or use another WHOLESUM_HOME`,
        )
      }
      await rm(file, { force: true })
    }
  }
  throw new WholesumError('UNAVAILABLE', `cannot lock ${file}`)
}
