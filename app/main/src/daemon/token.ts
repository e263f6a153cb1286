// The API's per-install token: 32 random bytes in a file only this user can read.

import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
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
