// The plugin entry and its manifest: settings, the environment key, the lifetime signal.

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import {
  AbortError,
  InvalidInputError,
  PLUGIN_KINDS,
  PLUGIN_PERMISSIONS,
  type PluginContext,
  type PluginInstance,
} from '@wholesum/plugin-api'
import activate, { readSettings } from './index.ts'
import { startFakeLighthouse } from './testing/fake-lighthouse.ts'
import { bytesOf, collect, TEST_KEY } from './testing/harness.ts'

const root = join(import.meta.dirname, '..')

async function activateWith(
  t: TestContext,
  settings: Record<string, unknown>,
  signal = new AbortController().signal,
): Promise<{ instance: PluginInstance; lines: string[]; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'filecoin-plugin-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const lines: string[] = []
  const log = (message: string, fields?: Record<string, unknown>): void =>
    void lines.push(`${message} ${JSON.stringify(fields ?? {})}`)
  const manifest = JSON.parse(await readFile(join(root, 'wholesum-plugin.json'), 'utf8'))
  const ctx = {
    manifest,
    root,
    dataDir,
    logger: { debug: log, info: log, warn: log, error: log },
    settings,
    signal,
  } satisfies PluginContext
  return { instance: await activate(ctx), lines, dataDir }
}

describe('storage-filecoin plugin entry', () => {
  test('the manifest declares one storage kind, an entry that exists and known permissions', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'wholesum-plugin.json'), 'utf8'))
    assert.equal(manifest.name, 'storage-filecoin')
    assert.deepEqual(manifest.kinds, ['storage'])
    assert.ok(manifest.kinds.every((k: string) => (PLUGIN_KINDS as readonly string[]).includes(k)))
    assert.equal(manifest.engine, '^0.1.0')
    assert.ok(existsSync(join(root, manifest.entry)))
    for (const p of manifest.permissions) {
      assert.ok((PLUGIN_PERMISSIONS as readonly string[]).includes(p), p)
    }
  })

  test('activation builds the store from settings; it round-trips through a FAKE Lighthouse', async (t) => {
    const fake = await startFakeLighthouse({ apiKeys: [TEST_KEY] })
    t.after(() => fake.close())
    const { instance, lines, dataDir } = await activateWith(t, {
      apiKey: TEST_KEY,
      apiUrl: `${fake.apiUrl}/`,
      uploadUrl: fake.uploadUrl,
      gatewayUrl: fake.gatewayUrl,
      timeoutMs: 2000,
      maxObjectBytes: 10_000,
    })
    const storage = instance.storage!
    const bytes = await bytesOf(5000)
    const cid = await storage.put(bytes)
    assert.deepEqual(await collect(storage.get(cid)), Buffer.from(bytes))
    assert.ok(existsSync(join(dataDir, 'spool')))
    assert.ok(lines.some((l) => l.startsWith('Lighthouse (Filecoin) store ready')))
    assert.ok(lines.some((l) => l.includes('"apiKey":"set (from settings)"')))
    await assert.rejects(() => storage.put(new Uint8Array(10_001)), { name: 'ResourceLimitError' })
  })

  test('without a key anywhere, activation warns and reads still work', async (t) => {
    const saved = process.env.LIGHTHOUSE_API_KEY
    delete process.env.LIGHTHOUSE_API_KEY
    t.after(() => {
      if (saved !== undefined) process.env.LIGHTHOUSE_API_KEY = saved
    })
    const { instance, lines } = await activateWith(t, {})
    assert.ok(instance.storage)
    assert.ok(lines.some((l) => l.includes('"apiKey":"missing"')))
    assert.ok(lines.some((l) => l.startsWith('no Lighthouse API key')))
  })

  test('the settings key wins over LIGHTHOUSE_API_KEY, which is used when settings have none', () => {
    assert.equal(readSettings({ apiKey: 'a' }, { LIGHTHOUSE_API_KEY: 'b' }).apiKey, 'a')
    const fromEnv = readSettings({}, { LIGHTHOUSE_API_KEY: 'b' })
    assert.equal(fromEnv.apiKey, 'b')
    assert.equal(fromEnv.apiKeySource, 'LIGHTHOUSE_API_KEY')
    assert.equal(readSettings({}, {}).apiKeySource, 'none')
    assert.equal(readSettings({ apiKey: '' }, {}).apiKey, undefined)
  })

  test('bad settings are InvalidInputError naming the setting', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ apiUrl: 'ftp://example.invalid' }, /"apiUrl" must be an http\(s\) URL/],
      [{ gatewayUrl: 'not a url' }, /"gatewayUrl" must be an http\(s\) URL/],
      [{ uploadUrl: 42 }, /"uploadUrl" must be an http\(s\) URL/],
      [{ timeoutMs: -1 }, /"timeoutMs" must be a positive integer/],
      [{ maxObjectBytes: 1.5 }, /"maxObjectBytes" must be a positive integer/],
      [{ apiKey: 12345 }, /"apiKey" must be a string$/],
    ]
    for (const [settings, message] of cases) {
      assert.throws(
        () => readSettings(settings, {}),
        (err: unknown) => {
          assert.ok(err instanceof InvalidInputError)
          assert.match(err.message, message)
          return true
        },
      )
    }
  })

  test('disabling the plugin (its context signal) ends a call in flight with AbortError', async (t) => {
    const fake = await startFakeLighthouse({ apiKeys: [TEST_KEY] })
    t.after(() => fake.close())
    const lifetime = new AbortController()
    const { instance } = await activateWith(
      t,
      {
        apiKey: TEST_KEY,
        apiUrl: fake.apiUrl,
        uploadUrl: fake.uploadUrl,
        gatewayUrl: fake.gatewayUrl,
      },
      lifetime.signal,
    )
    const cid = await instance.storage!.put(await bytesOf(1000))
    fake.stall('gateway')
    setTimeout(() => lifetime.abort(), 100)
    await assert.rejects(() => collect(instance.storage!.get(cid)), AbortError)
  })
})
