// The API's per-install token: 32 random bytes in a file only this user can read.

import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TOKEN_FILE } from '@wholesum/api-client/node'

/** Reads the token, creating it on first start; a file others could read is made private. */
export async function loadOrCreateToken(home: string): Promise<string> {
  const file = join(home, TOKEN_FILE)
  try {
    const token = (await readFile(file, 'utf8')).trim()
    if (/^[0-9a-f]{64}$/.test(token)) {
      if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600)
      return token
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomBytes(32).toString('hex')
  await writeFile(file, token + '\n', { mode: 0o600 })
  await chmod(file, 0o600)
  return token
}

/** Compares in constant time, so the token cannot be guessed a byte at a time. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The token the API checks now; rotating it writes a new one and the old one stops working. */
export interface ApiTokens {
  current(): string
  rotate(): Promise<string>
}

/** The install's token file as `ApiTokens`. */
export async function tokenFile(home: string): Promise<ApiTokens> {
  let token = await loadOrCreateToken(home)
  const file = join(home, TOKEN_FILE)
  let queue: Promise<unknown> = Promise.resolve()
  return {
    current: () => token,
    rotate() {
      // One rotation at a time, so the file and the token in memory always agree.
      const next = queue.then(async () => {
        const fresh = randomBytes(32).toString('hex')
        // Written beside, then renamed: a reader sees the old token or the new one, never half.
        const staged = `${file}.${randomBytes(6).toString('hex')}.new`
        await writeFile(staged, fresh + '\n', { mode: 0o600 })
        await chmod(staged, 0o600)
        await rename(staged, file)
        token = fresh
        return fresh
      })
      queue = next.catch(() => {})
      return next
    },
  }
}
