// The plugin as the host loads it: discovered among the builtin plugins, activated with its
// settings, shaped like a verifier, answering through the host's guard, closed on shutdown.

import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  InvalidInputError,
  PluginError,
  ResourceLimitError,
  UnavailableError,
  type PluginContext,
  type PluginManifest,
} from '@wholesum/plugin-api'
import { REPO_ROOT } from '../../../app/main/src/core.ts'
import { instanceProblems } from '../../../app/main/src/plugins/shape.ts'
import { makeHost, tempDirs } from '../../../app/main/src/plugins/test-support.ts'
import activate from './index.ts'

const PLUGIN_ROOT = join(REPO_ROOT, 'plugins', 'verifier')
const IMAGE_ID = 'ab'.repeat(32)
const GARBAGE = new TextEncoder().encode('not a receipt')

describe('the verifier plugin', () => {
  test('the host discovers and activates it; its verifier answers through the guard', async (t) => {
    const dirs = await tempDirs(t)
    const host = makeHost(dirs, {
      builtinDirs: [join(REPO_ROOT, 'plugins')],
      settings: { verifier: { maxReceiptBytes: 64 } },
    })
    t.after(() => host.shutdown())
    const listed = await host.discover()
    const mine = listed.find((p) => p.name === 'verifier')
    assert.equal(mine?.status, 'enabled', mine?.error)
    assert.deepEqual(mine?.kinds, ['verifier'])
    assert.equal((await host.activate('verifier')).status, 'active')

    const verifier = host.get('verifier', 'verifier')
    const check = await verifier.checkReceipt({ receipt: GARBAGE, imageId: IMAGE_ID })
    assert.equal(check.valid, false)
    assert.match(check.reason ?? '', /not a risc0 receipt/)
    // Its own error classes pass the guard unchanged, so callers can branch on them.
    await assert.rejects(
      verifier.checkReceipt({ receipt: new Uint8Array(65), imageId: IMAGE_ID }),
      ResourceLimitError,
    )

    await host.disable('verifier')
    await assert.rejects(
      verifier.checkReceipt({ receipt: GARBAGE, imageId: IMAGE_ID }),
      (err) => err instanceof PluginError && /no longer active/.test(err.message),
    )
  })

  test('its instance passes the shape check; deactivate closes the checker', async (t) => {
    const manifest = JSON.parse(
      await readFile(join(PLUGIN_ROOT, 'wholesum-plugin.json'), 'utf8'),
    ) as PluginManifest
    assert.deepEqual(manifest.permissions, [])
    const dirs = await tempDirs(t)
    const instance = await activate(context(manifest, dirs.data, {}))
    assert.deepEqual(instanceProblems(instance, manifest), [])
    await instance.deactivate?.()
    await assert.rejects(
      instance.verifier!.checkReceipt({ receipt: GARBAGE, imageId: IMAGE_ID }),
      UnavailableError,
    )
  })

  test('a setting out of range fails the activation, naming the setting', async (t) => {
    const dirs = await tempDirs(t)
    const host = makeHost(dirs, {
      builtinDirs: [join(REPO_ROOT, 'plugins')],
      settings: { verifier: { timeoutMs: -1 } },
    })
    t.after(() => host.shutdown())
    await host.discover()
    await assert.rejects(
      host.activate('verifier'),
      (err) =>
        err instanceof PluginError &&
        err.cause instanceof InvalidInputError &&
        /setting timeoutMs/.test(err.cause.message),
    )
  })
})

function context(
  manifest: PluginManifest,
  dataDir: string,
  settings: Record<string, unknown>,
): PluginContext {
  const quiet = () => {}
  return {
    manifest,
    root: PLUGIN_ROOT,
    dataDir,
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    settings,
    signal: new AbortController().signal,
  }
}
