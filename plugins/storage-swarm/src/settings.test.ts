// Settings: defaults, units, and the problems that are refused with the field named.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidInputError } from '@wholesum/plugin-api'
import {
  DEFAULT_BEE_URL,
  DEFAULT_MAX_OBJECT_BYTES,
  DEFAULT_TIMEOUT_MS,
  isLoopbackHost,
  parseSettings,
} from './settings.ts'

test('defaults: the local Bee API, 30 s timeout, 1 GiB objects, no batch, no buying', () => {
  assert.deepEqual(parseSettings({}), {
    beeUrl: DEFAULT_BEE_URL,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
  })
  assert.equal(DEFAULT_BEE_URL, 'http://127.0.0.1:1633')
  assert.equal(DEFAULT_TIMEOUT_MS, 30_000)
  assert.equal(DEFAULT_MAX_OBJECT_BYTES, 1024 ** 3)
})

test('every setting is read, the batch ID in lower case, the amount as a decimal string', () => {
  const batch = 'AB'.repeat(32)
  assert.deepEqual(
    parseSettings({
      beeUrl: 'http://localhost:1733/',
      postageBatchId: batch,
      autoBuyBatch: { amount: 500_000_000, depth: 20 },
      timeoutMs: 5000,
      maxObjectBytes: 1024,
    }),
    {
      beeUrl: 'http://localhost:1733',
      postageBatchId: batch.toLowerCase(),
      autoBuyBatch: { amount: '500000000', depth: 20 },
      timeoutMs: 5000,
      maxObjectBytes: 1024,
    },
  )
})

test('only loopback Bee URLs: the manifest declares network:loopback and nothing wider', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) {
    assert.ok(isLoopbackHost(host), host)
    parseSettings({ beeUrl: `http://${host}:1633` })
  }
  for (const host of ['10.0.0.1', '192.168.1.2', 'bee.example', '128.0.0.1', '127.0.0.256']) {
    assert.equal(isLoopbackHost(host), false, host)
    assert.throws(
      () => parseSettings({ beeUrl: `http://${host}:1633` }),
      (err: unknown) =>
        err instanceof InvalidInputError &&
        /"beeUrl" (must be on this machine.*network:loopback|is not a URL)/.test(err.message),
    )
  }
})

test('malformed settings are InvalidInputError naming the field', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ beeUrl: 42 }, 'beeUrl'],
    [{ beeUrl: 'not a url' }, 'beeUrl'],
    [{ beeUrl: 'ws://127.0.0.1:1633' }, 'beeUrl'],
    [{ postageBatchId: 'abc' }, 'postageBatchId'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ timeoutMs: 1.5 }, 'timeoutMs'],
    [{ maxObjectBytes: '1' }, 'maxObjectBytes'],
    [{ autoBuyBatch: 'yes' }, 'autoBuyBatch'],
    [{ autoBuyBatch: { amount: '-1', depth: 20 } }, 'autoBuyBatch.amount'],
    [{ autoBuyBatch: { amount: '1000', depth: 16 } }, 'autoBuyBatch.depth'],
  ]
  for (const [raw, field] of cases) {
    assert.throws(
      () => parseSettings(raw),
      (err: unknown) =>
        err instanceof InvalidInputError && err.message.includes(`setting "${field}"`),
      JSON.stringify(raw),
    )
  }
})
