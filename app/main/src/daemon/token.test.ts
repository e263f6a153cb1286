// The install token file: made private, kept across starts, rotated one at a time.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TOKEN_FILE } from '@wholesum/api-client/node'
import { loadOrCreateToken, tokenFile } from './token.ts'

test('rotations at once leave the file and the token in memory equal, with no staged file left', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'wholesum-token-'))
  t.after(() => rm(home, { recursive: true, force: true }))
  const first = await loadOrCreateToken(home)
  const tokens = await tokenFile(home)
  assert.equal(tokens.current(), first)
  const rotated = await Promise.all(Array.from({ length: 5 }, () => tokens.rotate()))
  assert.equal(new Set(rotated).size, 5)
  assert.equal(tokens.current(), rotated[4])
  assert.equal((await readFile(join(home, TOKEN_FILE), 'utf8')).trim(), tokens.current())
  assert.equal((await stat(join(home, TOKEN_FILE))).mode & 0o777, 0o600)
  assert.deepEqual(await readdir(home), [TOKEN_FILE])
  assert.equal(await loadOrCreateToken(home), tokens.current(), 'a restart reads the rotated token')
})
