// Packaging refuses, naming each missing piece, instead of half-building.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packagingBlockers } from './packaging.ts'

test('an empty checkout names every missing piece; a complete one none', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'wholesum-pack-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  await writeFile(join(root, 'package.json'), '{}')
  const missing = packagingBlockers({ root, worker: join(root, 'worker') })
  assert.equal(missing.length, 5)
  assert.match(missing.join('\n'), /Electron binary is not installed/)
  assert.match(missing.join('\n'), /electron-builder is not installed/)
  for (const [file, body] of [
    ['node_modules/electron/path.txt', 'electron'],
    ['node_modules/electron-builder/package.json', '{"name":"electron-builder","main":"index.js"}'],
    ['node_modules/electron-builder/index.js', ''],
    ['app/renderer/dist/index.html', ''],
    ['worker', ''],
    ['plugins/prover-risc0/guests/dist/manifest.json', '{}'],
  ] as const) {
    await mkdir(join(root, file, '..'), { recursive: true })
    await writeFile(join(root, file), body)
  }
  assert.deepEqual(packagingBlockers({ root, worker: join(root, 'worker') }), [])
})
