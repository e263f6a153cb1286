// The node's EVM key on disk: a Web3 Secret Storage keystore, created with a fresh key on first
// use and never written in clear. It appears under its name complete or not at all (written
// aside, then linked into place), so a crash never leaves a half-written key behind, and two
// processes starting at once end up with the same key.

import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { KeystoreError, newKeystore, openKeystore } from '@wholesum/escrow'
import { InvalidInputError } from '@wholesum/plugin-api'
import type { LocalAccount } from 'viem'

export interface NodeKey {
  readonly account: LocalAccount
  /** The keystore did not exist: a fresh key was made and written. */
  readonly created: boolean
}

export interface OpenNodeKeyOptions {
  /** scrypt's cost for a key created here: geth's 2^18 unless told (tests use less). */
  readonly scryptN?: number
}

export async function openNodeKey(
  file: string,
  password: string,
  options: OpenNodeKeyOptions = {},
): Promise<NodeKey> {
  if (password === '') {
    throw new InvalidInputError('INVALID_INPUT', `the EVM keystore ${file} needs a password`)
  }
  const existing = await readKeystore(file)
  if (existing !== undefined) return { account: unlock(file, existing, password), created: false }
  const { keystore } = newKeystore(password, {
    ...(options.scryptN ? { scryptN: options.scryptN } : {}),
  })
  if (await publish(file, `${JSON.stringify(keystore, null, 2)}\n`)) {
    return { account: unlock(file, keystore, password), created: true }
  }
  // Someone else created it meanwhile: theirs is the key.
  const theirs = await readKeystore(file)
  if (theirs === undefined)
    throw new Error(`the EVM keystore ${file} vanished while it was created`)
  return { account: unlock(file, theirs, password), created: false }
}

async function readKeystore(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new InvalidInputError(
      'INVALID_INPUT',
      `cannot read the EVM keystore ${file}: ${(err as Error).message}`,
      { cause: err },
    )
  }
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new InvalidInputError('INVALID_INPUT', `the EVM keystore ${file} is not JSON`, {
      cause: err,
    })
  }
}

function unlock(file: string, keystore: unknown, password: string): LocalAccount {
  try {
    return openKeystore(keystore, password)
  } catch (err) {
    if (err instanceof KeystoreError && err.code === 'WRONG_PASSWORD') {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `wrong password for the EVM keystore ${file} (its MAC does not match)`,
        { cause: err },
      )
    }
    throw new InvalidInputError(
      'INVALID_INPUT',
      `the EVM keystore ${file} cannot be opened: ${(err as Error).message}`,
      { cause: err },
    )
  }
}

/** Writes `text` to `file` only if no file is there; false when one was. Owner-only access. */
async function publish(file: string, text: string): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  const aside = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(aside, 'wx', 0o600)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(aside, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await unlink(aside).catch(() => undefined)
  }
}
