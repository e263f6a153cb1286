// The plugin entry's storage settings: quotaBytes and gcIntervalMs, checked before the node starts.

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { InvalidInputError, ResourceLimitError, type PluginContext } from '@wholesum/plugin-api'
import activate from './index.ts'
import { MiB, prng, removeDir, tempDir } from './fixtures/data.ts'

function context(
  dataDir: string,
  settings: Record<string, unknown>,
  logs: string[],
): PluginContext {
  const log = (message: string): void => void logs.push(message)
  return {
    manifest: {
      name: 'storage-ipfs',
      version: '0.1.0',
      kinds: ['storage'],
      entry: 'src/index.ts',
      engine: '^0.1.0',
      permissions: ['fs:data', 'network:p2p'],
    },
    root: join(import.meta.dirname, '..'),
    dataDir,
    logger: { debug: log, info: log, warn: log, error: log },
    settings,
    signal: new AbortController().signal,
  }
}

test('quotaBytes limits the store and gcIntervalMs collects unpinned content on its own', async () => {
  const dir = await tempDir('settings')
  const logs: string[] = []
  try {
    const instance = await activate(
      context(dir, { quotaBytes: 2 * MiB, gcIntervalMs: 1_000 }, logs),
    )
    const storage = instance.storage!
    try {
      const loose = await storage.put(prng(1, MiB))
      const kept = await storage.put(prng(2, 512 * 1024), { pin: true })
      await delay(1_600)
      assert.equal(await storage.has(loose), false, 'collected by the periodic gc')
      assert.equal(await storage.has(kept), true)
      assert.ok(logs.includes('garbage collected'), logs.join(' | '))
      await assert.rejects(storage.put(prng(3, 3 * MiB)), ResourceLimitError)
    } finally {
      await instance.deactivate?.()
    }
  } finally {
    await removeDir(dir)
  }
})

test('a malformed quotaBytes or gcIntervalMs is refused with InvalidInputError naming it', async () => {
  const dir = await tempDir('settings-bad')
  try {
    for (const [settings, name] of [
      [{ quotaBytes: -1 }, 'quotaBytes'],
      [{ quotaBytes: '10GB' }, 'quotaBytes'],
      [{ gcIntervalMs: 10 }, 'gcIntervalMs'],
    ] as const) {
      const activating = Promise.resolve().then(() => activate(context(dir, settings, [])))
      await assert.rejects(activating, (err: unknown) => {
        assert.ok(err instanceof InvalidInputError)
        assert.match(err.message, new RegExp(`setting ${name} `))
        return true
      })
    }
  } finally {
    await removeDir(dir)
  }
})
