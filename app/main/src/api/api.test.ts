// The local API over real HTTP and WebSocket on loopback, with a real job store and a context
// without network roles: who may call it, what it refuses and how, and the event stream.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import {
  API_PREFIX,
  ApiClient,
  ApiError,
  WS_PROTOCOL,
  WS_TOKEN_PREFIX,
  type JobEvent,
  type StreamFrame,
} from '@wholesum/api-client'
import type { ProverPlugin } from '@wholesum/plugin-api'
import { REPO_ROOT } from '../core.ts'
import type { JobStore } from '../store/index.ts'
import type { EventHub } from '../daemon/event-hub.ts'
import type { UploadStore } from '../daemon/uploads.ts'
import { testApiContext } from '../testing/api-context.ts'
import type { MemoryStorage } from '../testing/memory-storage.ts'
import { newJob, newSegments } from '../store/testing/fixtures.ts'
import { startApi, type ApiServer } from './server.ts'
import { jobEvent } from './views.ts'

const TOKEN = 'a'.repeat(64)
const PROGRAM_LIMIT = 1024

let dir: string
let store: JobStore
let hub: EventHub
let uploads: UploadStore
let storage: MemoryStorage
let server: ApiServer
let api: ApiClient

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wholesum-api-'))
  const ctx = testApiContext(dir, {
    token: TOKEN,
    uploadLimit: PROGRAM_LIMIT,
    allowedOrigins: ['http://localhost:5173'],
  })
  ;({ store, events: hub, uploads, storage } = ctx)
  server = await startApi(ctx, 0)
  api = new ApiClient({ baseUrl: server.url, token: TOKEN })
})

after(async () => {
  await server.close()
  store.close()
  await rm(dir, { recursive: true, force: true })
})

interface Answer {
  readonly status: number
  readonly body: { error?: { code: string; message: string; field?: string } } & Record<
    string,
    unknown
  >
}

/** A raw HTTP request, so tests can set Host and Origin as an attacker's page would. */
function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path: `${API_PREFIX}${path}`,
        headers: { authorization: `Bearer ${TOKEN}`, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : JSON.parse(text) })
        })
      },
    )
    req.on('error', reject)
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })
}

describe('who may call the API', () => {
  test('the token is required, and a wrong one is refused (401)', async () => {
    const none = await call('GET', '/info', { headers: { authorization: '' } })
    assert.equal(none.status, 401)
    assert.equal(none.body.error?.code, 'UNAUTHORIZED')
    const wrong = await call('GET', '/info', {
      headers: { authorization: `Bearer ${'b'.repeat(64)}` },
    })
    assert.equal(wrong.status, 401)
    assert.match(wrong.body.error!.message, /wrong API token/)
    const short = await call('GET', '/info', { headers: { authorization: 'Bearer a' } })
    assert.equal(short.status, 401)
    assert.equal((await call('GET', '/info')).status, 200)
  })

  test('a foreign Host (DNS rebinding) or Origin (a web page) is refused (403), even with the token', async () => {
    const host = await call('GET', '/info', { headers: { host: `evil.example:${server.port}` } })
    assert.equal(host.status, 403)
    assert.match(host.body.error!.message, /Host evil\.example/)
    const port = await call('GET', '/info', { headers: { host: `127.0.0.1:1` } })
    assert.equal(port.status, 403)
    const origin = await call('GET', '/info', { headers: { origin: 'https://evil.example' } })
    assert.equal(origin.status, 403)
    assert.match(origin.body.error!.message, /Origin https:\/\/evil\.example/)
    // The API's own origin and a configured one are let through.
    const own = await call('GET', '/info', {
      headers: { origin: `http://127.0.0.1:${server.port}` },
    })
    assert.equal(own.status, 200)
    const dev = await call('GET', '/info', { headers: { origin: 'http://localhost:5173' } })
    assert.equal(dev.status, 200)
  })

  test('a WebSocket upgrade without the token is refused (401), with it accepted', async () => {
    const job = store.createJob(newJob('ws', 1), newSegments('ws', 1))
    const url = `${server.url.replace('http', 'ws')}${API_PREFIX}/jobs/${job.jobId}/stream`
    const refused = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(url, [WS_PROTOCOL])
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      socket.on('open', () => reject(new Error('opened without a token')))
      socket.on('error', () => {})
    })
    assert.equal(refused, 401)
    const wrong = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(url, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${'c'.repeat(64)}`])
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      socket.on('open', () => reject(new Error('opened with a wrong token')))
      socket.on('error', () => {})
    })
    assert.equal(wrong, 401)
    const foreign = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(url, [WS_PROTOCOL, WS_TOKEN_PREFIX + TOKEN], {
        origin: 'https://evil.example',
      })
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      socket.on('open', () => reject(new Error('opened from a foreign origin')))
      socket.on('error', () => {})
    })
    assert.equal(foreign, 403)
    const accepted = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(url, [WS_PROTOCOL, WS_TOKEN_PREFIX + TOKEN])
      socket.on('open', () => {
        resolve(socket.protocol)
        socket.close()
      })
      socket.on('error', reject)
    })
    assert.equal(accepted, WS_PROTOCOL)
  })
})

describe('what the API refuses, and how', () => {
  test('an upload past its limit is refused (413) and nothing of it is kept', async () => {
    const before = await readdir(uploads.dir).catch(() => [])
    const big = await call('PUT', '/uploads?kind=program', {
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(PROGRAM_LIMIT + 1, 7),
    })
    assert.equal(big.status, 413)
    assert.equal(big.body.error?.code, 'INPUT_TOO_LARGE')
    assert.deepEqual(await readdir(uploads.dir).catch(() => []), before)
    const wrongType = await call('PUT', '/uploads?kind=program', {
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    })
    assert.equal(wrongType.status, 415, JSON.stringify(wrongType.body))
    assert.equal(wrongType.body.error?.code, 'UNSUPPORTED_MEDIA_TYPE')
    const noBody = await call('PUT', '/uploads?kind=program')
    assert.equal(noBody.status, 411, JSON.stringify(noBody.body))
    const badKind = await call('PUT', '/uploads?kind=kernel', {
      headers: { 'content-type': 'application/octet-stream' },
      body: 'x',
    })
    assert.equal(badKind.status, 400)
    assert.equal(badKind.body.error?.field, 'querystring/kind')
    const ok = await api.upload('program', Buffer.alloc(PROGRAM_LIMIT, 7))
    assert.equal(ok.bytes, PROGRAM_LIMIT)
    await uploads.remove(ok.id)
  })

  test('a malformed body is refused (400) naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ program: { upload: 'x' }, input: { upload: '0'.repeat(32) } }, /^body\/program/],
      [{ input: { upload: '0'.repeat(32) } }, /^body\/program$/],
      [{ program: { cid: 'b' }, input: { cid: 'b' }, po2: 'big' }, /^body\/po2$/],
      [{ program: { cid: 'b' }, input: { cid: 'b' }, po2: 13 }, /^body\/po2$/],
      [
        { program: { cid: 'b' }, input: { cid: 'b' }, pricePerSegment: '-1' },
        /^body\/pricePerSegment$/,
      ],
      [{ program: { cid: 'b' }, input: { cid: 'b' }, colour: 'red' }, /^body\/colour$/],
    ]
    for (const [body, field] of cases) {
      const answer = await call('POST', '/jobs', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      assert.equal(answer.status, 400, JSON.stringify(answer.body))
      assert.equal(answer.body.error?.code, 'INVALID_REQUEST')
      assert.match(answer.body.error?.field ?? '', field, JSON.stringify(answer.body))
    }
    const notJson = await call('POST', '/jobs', {
      headers: { 'content-type': 'application/json' },
      body: '{"program":',
    })
    assert.equal(notJson.status, 400)
  })

  test('a valid job on a node without the client role is refused (409), not lost silently', async () => {
    const answer = await call('POST', '/jobs', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ program: { cid: 'b' }, input: { cid: 'b' } }),
    })
    assert.equal(answer.status, 409)
    assert.equal(answer.body.error?.code, 'NOT_A_CLIENT')
  })

  test('unknown jobs, routes and cursors get clear errors', async () => {
    await assert.rejects(api.job('f'.repeat(64)), (err: ApiError) => err.status === 404)
    const badId = await call('GET', '/jobs/xyz')
    assert.equal(badId.status, 400)
    assert.equal(badId.body.error?.field, 'params/id')
    const route = await call('GET', '/nothing-here')
    assert.equal(route.status, 404)
    const cursor = await call('GET', '/jobs?cursor=nope')
    assert.equal(cursor.status, 400)
    assert.equal(cursor.body.error?.field, 'querystring/cursor')
  })

  test('the OpenAPI document names every route, and docs/api.md lists every one', async () => {
    const doc = await call('GET', '/openapi.json')
    assert.equal(doc.status, 200)
    const paths = Object.keys(doc.body['paths'] as object)
    for (const p of [
      '/v1/jobs',
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/cancel',
      '/v1/uploads',
      '/v1/info',
    ])
      assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`)
    const docs = await readFile(join(REPO_ROOT, 'docs', 'api.md'), 'utf8')
    for (const [path, methods] of Object.entries(doc.body['paths'] as Record<string, object>)) {
      for (const method of Object.keys(methods)) {
        const route = `\`${method.toUpperCase()} ${path}\``
        assert.ok(docs.includes(route), `docs/api.md lists ${route}`)
      }
    }
  })
})

describe('estimates', () => {
  test('a prover plugin without a dry run: 409 NOT_SUPPORTED; one estimate at a time: a second is 429 BUSY until the first answers', async () => {
    const program = await readFile(
      join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests', 'dist', 'hello.bin'),
    )
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    let runs = 0
    const withDryRun = {
      dryRun: async () => {
        runs += 1
        await gate
        return {
          imageId: 'ab'.repeat(32),
          exitCode: { kind: 'halted', code: 0 },
          userCycles: 1000,
          totalCycles: 65536,
          po2: 16,
          segments: 1,
          journalBytes: 36,
          executeMs: 5,
        }
      },
    } as unknown as ProverPlugin
    const serve = async (prover: ProverPlugin) => {
      const ctx = testApiContext(await mkdtemp(join(dir, 'estimate-')), {
        token: TOKEN,
        prover: async () => prover,
      })
      const started = await startApi(ctx, 0)
      const client = new ApiClient({ baseUrl: started.url, token: TOKEN })
      const files = async () => ({
        program: { upload: (await client.upload('program', program)).id },
        input: { upload: (await client.upload('input', new TextEncoder().encode('in'))).id },
        po2: 16,
      })
      return { ctx, started, client, files }
    }

    const bare = await serve({} as ProverPlugin)
    try {
      await assert.rejects(
        bare.client.estimate(await bare.files()),
        (err: Error & { status?: number; code?: string }) =>
          err.status === 409 && err.code === 'NOT_SUPPORTED',
      )
    } finally {
      await bare.started.close()
      bare.ctx.store.close()
    }

    const node = await serve(withDryRun)
    try {
      const first = node.client.estimate(await node.files())
      while (runs === 0) await new Promise((r) => setTimeout(r, 5))
      await assert.rejects(
        node.client.estimate(await node.files()),
        (err: Error & { status?: number; code?: string }) =>
          err.status === 429 && err.code === 'BUSY',
      )
      release()
      const answered = await first
      assert.equal(answered.segments, 1)
      assert.equal(answered.maxCost, '1000')
      assert.equal(
        (await node.client.estimate(await node.files())).segments,
        1,
        'free again once answered',
      )
      assert.equal(runs, 2)
    } finally {
      await node.started.close()
      node.ctx.store.close()
    }
  })
})

describe('jobs and their events', () => {
  test('jobs are listed newest first, a page at a time', async () => {
    for (let i = 0; i < 5; i++)
      store.createJob(
        newJob(`page-${i}`, 2, { createdAt: 2_000_000 + i }),
        newSegments(`page-${i}`, 2),
      )
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await api.jobs({ limit: 2, ...(cursor !== undefined ? { cursor } : {}) })
      assert.ok(page.jobs.length <= 2)
      seen.push(...page.jobs.map((j) => j.jobId))
      cursor = page.next
    } while (cursor !== undefined)
    assert.equal(new Set(seen).size, seen.length, 'no job twice')
    const all = store.listJobs({})
    assert.equal(seen.length, all.length)
    const created = seen.map((id) => store.getJob(id)!.createdAt)
    assert.deepEqual(
      created,
      [...created].sort((a, b) => b - a),
    )
  })

  function emit(jobId: string, type: string, data: Record<string, unknown> = {}): JobEvent {
    const id = store.appendEvent(jobId, type, data as never)
    const event = jobEvent(store.events(jobId, { afterId: id - 1, limit: 1 })[0]!)
    hub.publish(event)
    return event
  }

  test('a stream sends the backlog then live events; a reconnect resumes with no gap and no duplicate', async () => {
    const job = store.createJob(newJob('stream', 40), newSegments('stream', 40))
    const sent: number[] = []
    for (let i = 0; i < 10; i++) sent.push(emit(job.jobId, 'claim', { index: i }).id)

    // First connection: reads the backlog and a few live events, then drops.
    const first: number[] = []
    const abort = new AbortController()
    const frames = api.stream(job.jobId, 0, abort.signal)
    for await (const frame of frames) {
      assert.equal(frame.type, 'event')
      if (frame.type !== 'event') break
      first.push(frame.event.id)
      if (first.length === 10)
        for (let i = 10; i < 15; i++) sent.push(emit(job.jobId, 'credit', { index: i }).id)
      if (first.length === 12) break
    }
    abort.abort()
    // Events go on while nobody listens.
    for (let i = 15; i < 30; i++) sent.push(emit(job.jobId, 'credit', { index: i }).id)

    // Resume after the last one seen, through watch(), which also ends on `finished`.
    const resumed: number[] = []
    const watching = (async () => {
      const events = api.watch(job.jobId, { after: first.at(-1)! })
      for (;;) {
        const next = await events.next()
        if (next.done === true) return next.value
        resumed.push(next.value.id)
        if (resumed.length === 18) {
          for (let i = 30; i < 33; i++) sent.push(emit(job.jobId, 'credit', { index: i }).id)
          sent.push(emit(job.jobId, 'finished', { status: 'done' }).id)
        }
      }
    })()
    const status = await watching
    assert.equal(status, 'done')
    assert.deepEqual([...first, ...resumed], sent, 'every event once, in order')
  })

  test('a client that does not read is dropped (4008, saying where to resume), the node is not slowed', async () => {
    const job = store.createJob(newJob('slow', 1), newSegments('slow', 1))
    const url = `${server.url.replace('http', 'ws')}${API_PREFIX}/jobs/${job.jobId}/stream`
    const socket = new WebSocket(url, [WS_PROTOCOL, WS_TOKEN_PREFIX + TOKEN])
    await new Promise((resolve) => socket.once('open', resolve))
    // Stop reading at the TCP level: the node's send buffer fills.
    ;(socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()
    await new Promise((r) => setTimeout(r, 50))
    const padding = 'x'.repeat(1024)
    for (let i = 0; i < 20_000; i++) {
      hub.publish({ id: 1_000_000 + i, jobId: job.jobId, at: 0, type: 'claim', data: { padding } })
    }
    assert.equal(hub.subscribers(job.jobId), 0, 'the slow stream was let go')
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
    ;(socket as unknown as { _socket: { resume(): void } })._socket.resume()
    const { code, reason } = await closed
    assert.equal(code, 4008)
    assert.match(reason, /too slow: reconnect with after=\d+/)
  })

  test('the event page and the stream agree', async () => {
    const job = store.createJob(newJob('page-events', 1), newSegments('page-events', 1))
    for (let i = 0; i < 3; i++) emit(job.jobId, 'claim', { index: i })
    emit(job.jobId, 'finished', { status: 'failed', reason: 'test' })
    const page = await api.events(job.jobId)
    const streamed: StreamFrame[] = []
    for await (const frame of api.stream(job.jobId, 0)) streamed.push(frame)
    assert.deepEqual(
      streamed.filter((f) => f.type === 'event').map((f) => (f as { event: JobEvent }).event),
      page.events,
    )
    assert.deepEqual(streamed.at(-1), { type: 'end', status: 'failed' })
  })
})

describe('storage', () => {
  test("an output is served until retention releases it, then 410; the node's storage says so", async () => {
    const job = store.createJob(newJob('kept', 1, { status: 'proving' }), newSegments('kept', 1))
    const receipt = await storage.put(new TextEncoder().encode('a receipt'), { pin: true })
    store.updateJob(job.jobId, { receiptCid: receipt })
    store.recordPins(job.jobId, 'output', [receipt])
    assert.deepEqual((await api.storage()).held, { work: 0, output: 1 })
    assert.equal((await api.sweepStorage()).released, 0, 'a running job keeps its pins')
    assert.equal(new TextDecoder().decode(await api.output(job.jobId, 'receipt')), 'a receipt')

    store.updateJob(job.jobId, { status: 'done' })
    const swept = await api.sweepStorage()
    assert.deepEqual([swept.released, swept.unpinned], [1, 1])
    assert.equal(
      await storage.has(receipt),
      true,
      'unpinned, not deleted: the memory store has no gc',
    )
    assert.equal((await storage.stat(receipt)).pinned, false)
    const gone = await call('GET', `/jobs/${job.jobId}/outputs/receipt`)
    assert.equal(gone.status, 410)
    assert.equal(gone.body.error?.code, 'RELEASED')
    assert.match(gone.body.error!.message, /released by the storage retention at 20\d\d-/)
    assert.deepEqual((await api.storage()).held, { work: 0, output: 0 })
  })

  test('a sweep needs the token like everything else', async () => {
    const answer = await call('POST', '/storage/sweep', { headers: { authorization: '' } })
    assert.equal(answer.status, 401)
  })
})

describe('settings', () => {
  test('a valid write is accepted (restart required); bad values and unknown keys are 400 naming the field', async () => {
    const written = await api.writeSettings({
      roles: ['client', 'prover'],
      storage: { quotaBytes: 1 << 30, retention: { workHours: 2, outputsDays: null } },
    })
    assert.equal(written.restartRequired, true)
    const cases: [unknown, RegExp][] = [
      [{ storage: { retention: { workHours: -1 } } }, /storage\/retention\/workHours/],
      [{ storage: { quota: 1 } }, /storage/],
      [{ roles: ['miner'] }, /roles/],
      [{ roles: [] }, /roles/],
      [{ colour: 'blue' }, /colour|additional/i],
    ]
    for (const [body, field] of cases) {
      const answer = await call('PUT', '/settings', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      assert.equal(answer.status, 400, JSON.stringify(body))
      assert.match(
        `${answer.body.error?.field ?? ''} ${answer.body.error?.message ?? ''}`,
        field,
        JSON.stringify(body),
      )
    }
  })
})
