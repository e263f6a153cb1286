// The Lighthouse API key is a secret: no log line, error text or inspection may ever contain it.

import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { inspect } from 'node:util'
import type { PluginContext, StoragePlugin } from '@wholesum/plugin-api'
import { translateFailure } from './failures.ts'
import activate from './index.ts'
import { startFakeLighthouse } from './testing/fake-lighthouse.ts'
import { collect, deadUrl } from './testing/harness.ts'

const SECRET = 'lh-SECRET-9f8e7d6c5b4a39281706f5e4d3c2b1a0'

/** Every text a failure can show: message, stack, String(), inspect() and JSON, through causes. */
function textsOf(err: unknown): string[] {
  const texts = [String(err), inspect(err, { depth: Infinity, showHidden: true })]
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    texts.push(e.message, e.stack ?? '', JSON.stringify(e))
  }
  return texts
}

/** Activates the plugin entry with a logger that records every line as JSON. */
async function activateWith(
  t: TestContext,
  settings: Record<string, unknown>,
): Promise<{ storage: StoragePlugin; lines: string[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'filecoin-secret-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const lines: string[] = []
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void =>
      void lines.push(JSON.stringify({ level, message, fields }))
  const ctx = {
    manifest: {
      name: 'storage-filecoin',
      version: '0.1.0',
      kinds: ['storage'],
      entry: 'src/index.ts',
      engine: '^0.1.0',
      permissions: ['fs:data', 'network:p2p', 'secrets'],
    },
    root: join(import.meta.dirname, '..'),
    dataDir,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    settings,
    signal: new AbortController().signal,
  } satisfies PluginContext
  const instance = await activate(ctx)
  assert.ok(instance.storage)
  return { storage: instance.storage, lines }
}

async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call()
  } catch (err) {
    return err
  }
  return assert.fail('expected the call to fail')
}

test('the API key never appears in logs, errors, stacks or inspections of the store', async (t) => {
  const cid = 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN'
  const failures: unknown[] = []
  const texts: string[] = []

  // 1. A FAKE Lighthouse that does not know the key: refused (401) on every keyed call.
  const refusing = await startFakeLighthouse({ apiKeys: ['some-other-account'] })
  t.after(() => refusing.close())
  const refused = await activateWith(t, {
    apiKey: SECRET,
    apiUrl: refusing.apiUrl,
    uploadUrl: refusing.uploadUrl,
    gatewayUrl: refusing.gatewayUrl,
    timeoutMs: 300,
  })
  failures.push(await failureOf(() => refused.storage.put(new Uint8Array(10))))
  failures.push(await failureOf(() => refused.storage.pin(cid)))
  failures.push(await failureOf(() => refused.storage.unpin(cid)))
  assert.ok(refusing.requests.length >= 3 && refusing.requests.every((r) => !r.authorized))
  // …and stalled: timeouts of keyed calls.
  refusing.stall('upload')
  refusing.stall('api')
  failures.push(await failureOf(() => refused.storage.put(new Uint8Array(10))))
  failures.push(await failureOf(() => refused.storage.pin(cid)))
  texts.push(...refused.lines, inspect(refused.storage, { depth: Infinity, showHidden: true }))
  texts.push(JSON.stringify(refused.storage))

  // 2. A FAKE that accepts the key, lying about the CID, then corrupting what it serves.
  const accepting = await startFakeLighthouse({ apiKeys: [SECRET] })
  t.after(() => accepting.close())
  const accepted = await activateWith(t, {
    apiKey: SECRET,
    apiUrl: accepting.apiUrl,
    uploadUrl: accepting.uploadUrl,
    gatewayUrl: accepting.gatewayUrl,
    timeoutMs: 2000,
  })
  const stored = await accepted.storage.put(new TextEncoder().encode('hello\n'))
  accepting.corrupt(stored)
  failures.push(await failureOf(() => collect(accepted.storage.get(stored))))
  accepting.tamperUploads = true
  failures.push(await failureOf(() => accepted.storage.put(new Uint8Array(3))))
  assert.ok(accepting.requests.some((r) => r.authorized))
  texts.push(...accepted.lines)

  // 3. Nothing listening, the key coming from the environment this time.
  const dead = await deadUrl()
  const saved = process.env.LIGHTHOUSE_API_KEY
  process.env.LIGHTHOUSE_API_KEY = SECRET
  t.after(() => {
    if (saved === undefined) delete process.env.LIGHTHOUSE_API_KEY
    else process.env.LIGHTHOUSE_API_KEY = saved
  })
  const unreachable = await activateWith(t, { apiUrl: dead, uploadUrl: dead, gatewayUrl: dead })
  failures.push(await failureOf(() => unreachable.storage.put(new Uint8Array(10))))
  failures.push(await failureOf(() => unreachable.storage.unpin(cid)))
  failures.push(await failureOf(() => unreachable.storage.has(cid)))
  texts.push(...unreachable.lines)
  assert.ok(unreachable.lines.some((l) => l.includes('set (from LIGHTHOUSE_API_KEY)')))

  // 4. A wrongly typed key setting is refused without echoing it.
  failures.push(await failureOf(() => activateWith(t, { apiKey: { value: SECRET } })))

  assert.equal(failures.length, 11)
  for (const err of failures) texts.push(...textsOf(err))
  assert.ok(refused.lines.some((l) => l.includes('set (from settings)')))
  for (const text of texts) assert.equal(text.includes(SECRET), false, `key leaked in: ${text}`)
})

test('error texts that quote the key (a server echoing it, say) are scrubbed', () => {
  const err = translateFailure(
    new Error(`upstream said: bad token Bearer ${SECRET} (twice: ${SECRET})`),
    'put',
    'http://127.0.0.1:1',
    SECRET,
  )
  assert.equal(err.message.includes(SECRET), false)
  assert.match(err.message, /Bearer \[redacted\]/)
})
