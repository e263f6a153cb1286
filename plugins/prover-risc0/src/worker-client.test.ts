// The worker client against the real worker, and against workers that crash or speak garbage.

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AbortError,
  InvalidInputError,
  TimeoutError,
  WorkerError,
  type Logger,
} from '@wholesum/plugin-api'
import { defaultWorkerPath } from './locate.ts'
import { WorkerClient } from './worker-client.ts'

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const work = await mkdtemp(join(tmpdir(), 'wholesum-worker-client-'))
after(() => rm(work, { recursive: true, force: true }))

/** A stand-in worker written in shell+node, to play the failure modes the real one never shows. */
async function fakeWorker(name: string, script: string): Promise<string> {
  const path = join(work, name)
  await writeFile(path, `#!${process.execPath}\n${script}\n`)
  await chmod(path, 0o755)
  return path
}

const READY = `
const frame = (m) => { const b = Buffer.from(JSON.stringify(m)); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); process.stdout.write(Buffer.concat([h, b])) }
frame({ id: 0, event: 'ready', data: { recursion: false } })
`

describe('the real worker', () => {
  const client = new WorkerClient({ binary: defaultWorkerPath(), logger: quiet })
  after(() => client.close())

  test('announces its capabilities when it starts', async () => {
    const caps = (await client.start()) as Record<string, unknown>
    assert.equal(caps['risc0Version'], '3.0.6')
    assert.equal(caps['accelerator'], 'cpu')
    assert.equal(typeof caps['recursion'], 'boolean')
  })

  test('answers an unknown operation with a clear error and keeps serving', async () => {
    await assert.rejects(
      client.request('frobnicate', {}),
      (err: unknown) => err instanceof InvalidInputError && /malformed request/.test(err.message),
    )
    const caps = await client.request<Record<string, unknown>>('capabilities', {})
    assert.equal(caps['groth16'], false)
  })

  test('answers a request with missing fields with a clear error', async () => {
    await assert.rejects(
      client.request('verify', { receipt: '/nonexistent' }),
      /missing field `imageId`/,
    )
  })

  test('an aborted request rejects with AbortError and the next request restarts the worker', async () => {
    const controller = new AbortController()
    const pending = client.request('capabilities', {}, { signal: controller.signal })
    controller.abort()
    await assert.rejects(pending, AbortError)
    const caps = await client.request<Record<string, unknown>>('capabilities', {})
    assert.equal(caps['risc0Version'], '3.0.6')
  })
})

describe('a misbehaving worker', () => {
  test('one that cannot be started gives WorkerError naming the binary', async () => {
    const client = new WorkerClient({ binary: join(work, 'missing-binary'), logger: quiet })
    await assert.rejects(
      client.start(),
      (err: unknown) => err instanceof WorkerError && /missing-binary/.test(err.message),
    )
  })

  test('one that dies mid-request rejects that request with its stderr, and is restarted', async () => {
    const marker = join(work, 'died-once')
    const binary = await fakeWorker(
      'dies.js',
      `${READY}
const fs = require('node:fs')
process.stdin.once('data', (chunk) => {
  if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ''); console.error('boom: out of cheese'); process.exit(3) }
  const { id } = JSON.parse(chunk.subarray(4).toString())
  frame({ id, ok: true, result: { fine: true } })
})`,
    )
    const client = new WorkerClient({ binary, logger: quiet })
    await assert.rejects(
      client.request('prove-segment', {}),
      (err: unknown) =>
        err instanceof WorkerError &&
        /code 3/.test(err.message) &&
        /out of cheese/.test(err.message),
    )
    assert.deepEqual(await client.request('prove-segment', {}), { fine: true })
    await client.close()
  })

  test('one that writes a garbage frame is killed and the request fails', async () => {
    const binary = await fakeWorker(
      'garbage.js',
      `${READY}
process.stdin.once('data', () => { const h = Buffer.alloc(4); h.writeUInt32BE(0xffffffff); process.stdout.write(h) })
setInterval(() => {}, 1000)`,
    )
    const client = new WorkerClient({ binary, logger: quiet })
    await assert.rejects(client.request('capabilities', {}), WorkerError)
    await client.close()
  })

  test('one that never answers hits the request timeout', async () => {
    const binary = await fakeWorker(
      'silent.js',
      `${READY}\nprocess.stdin.resume(); setInterval(() => {}, 1000)`,
    )
    const client = new WorkerClient({ binary, logger: quiet })
    await assert.rejects(client.request('prove-segment', {}, { timeoutMs: 200 }), TimeoutError)
    await client.close()
  })

  test('one that never says ready hits the start timeout', async () => {
    const binary = await fakeWorker('mute.js', `setInterval(() => {}, 1000)`)
    const client = new WorkerClient({ binary, logger: quiet, startTimeoutMs: 200 })
    await assert.rejects(client.start(), TimeoutError)
  })
})
