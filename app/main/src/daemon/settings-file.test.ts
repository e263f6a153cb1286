import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { mergeSettings, readSettingsFile, writeSettingsFile } from './settings-file.ts'

describe('settings.json as the API writes it', () => {
  test("the API's keys are replaced (absent ones removed); any other key is kept", () => {
    const current = { roles: ['prover'], clientNode: { offerWindowMs: 5 }, api: { port: 1 } }
    assert.deepEqual(mergeSettings(current, { storage: { quotaBytes: 10 } }), {
      clientNode: { offerWindowMs: 5 },
      storage: { quotaBytes: 10 },
    })
  })

  test('written atomically, 0600, and read back; an unreadable file reads as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wholesum-settings-'))
    try {
      const file = join(dir, 'settings.json')
      await writeFile(file, JSON.stringify({ clientNode: { claimTtlMs: 9 }, prover: 'x' }))
      await writeSettingsFile(file, { prover: 'risc0', roles: ['client'] })
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
        clientNode: { claimTtlMs: 9 },
        prover: 'risc0',
        roles: ['client'],
      })
      assert.equal((await stat(file)).mode & 0o777, 0o600)
      await writeFile(file, 'not json')
      assert.deepEqual(await readSettingsFile(file), {})
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
