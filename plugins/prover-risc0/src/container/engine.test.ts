// Finding the engine, against stand-ins on Unix sockets: no real engine needed.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UnavailableError } from '@wholesum/plugin-api'
import { connectEngine } from './engine.ts'

let work = ''
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wholesum-engine-'))
})
after(() => (work === '' ? undefined : rm(work, { recursive: true, force: true })))

/** An engine's two probe answers, after hanging up on the first `hangUps` connections. */
async function flakyEngine(
  path: string,
  hangUps: number,
): Promise<{ server: Server; seen: () => number }> {
  let requests = 0
  const server = createServer((req, res) => {
    requests += 1
    if (requests <= hangUps) {
      req.socket.destroy()
      return
    }
    if (req.url?.endsWith('/_ping') === true) {
      res.end('OK')
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ Version: '5.4.2', Components: [{ Name: 'Podman Engine' }] }))
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return { server, seen: () => requests }
}

describe('connectEngine', () => {
  test('an engine that hangs up at first (busy) is reached once it answers', async () => {
    const path = join(work, 'busy.sock')
    const { server, seen } = await flakyEngine(path, 2)
    try {
      const engine = await connectEngine(undefined, {
        sockets: [path],
        timeoutMs: 1000,
        patienceMs: 10_000,
      })
      assert.equal(engine.product, 'Podman')
      assert.equal(engine.version, '5.4.2')
      assert.equal(seen(), 4, 'two hung-up pings, then a ping and a version')
    } finally {
      server.close()
    }
  })

  test('an engine that keeps hanging up is given up after its patience, with the attempts counted', async () => {
    const path = join(work, 'hung.sock')
    const { server } = await flakyEngine(path, Number.POSITIVE_INFINITY)
    try {
      await assert.rejects(
        connectEngine(undefined, { sockets: [path], timeoutMs: 500, patienceMs: 1500 }),
        (err: unknown) =>
          err instanceof UnavailableError &&
          /hung\.sock \(.*after \d+ attempts\)/.test(err.message),
      )
    } finally {
      server.close()
    }
  })

  test('a path where nothing listens fails at once, without waiting out the patience', async () => {
    const notAnEngine = join(work, 'file.sock')
    await writeFile(notAnEngine, 'just a file')
    const started = Date.now()
    await assert.rejects(
      connectEngine(undefined, {
        sockets: [join(work, 'absent.sock'), notAnEngine],
        patienceMs: 60_000,
      }),
      (err: unknown) =>
        err instanceof UnavailableError &&
        /absent\.sock \(absent\)/.test(err.message) &&
        /file\.sock \(/.test(err.message) &&
        !/attempts/.test(err.message),
    )
    // Loose: it must not have waited out a minute of patience.
    assert.ok(Date.now() - started < 30_000)
  })
})
