// Browser mode over real HTTP on loopback: the UI's files with their security headers, one-time
// tickets that hand the page the token, and the token's rotation.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiClient, ApiError } from '@wholesum/api-client'
import { testApiContext } from '../testing/api-context.ts'
import type { JobStore } from '../store/index.ts'
import { startApi, type ApiServer } from './server.ts'
import { TICKET_TTL_MS } from './ui-tickets.ts'

const TOKEN = 'b'.repeat(64)

let dir: string
let now = Date.now()
let server: ApiServer
let bare: ApiServer
const stores: JobStore[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wholesum-ui-api-'))
  const ui = join(dir, 'dist')
  await mkdir(join(ui, 'assets'), { recursive: true })
  await writeFile(join(ui, 'index.html'), '<!doctype html><title>Wholesum</title>')
  await writeFile(join(ui, 'assets', 'app.js'), 'console.log(1)')
  const ctx = testApiContext(join(dir, 'with-ui'), { token: TOKEN, uiRoot: ui, clock: () => now })
  stores.push(ctx.store)
  server = await startApi(ctx, 0)
  const bareCtx = testApiContext(join(dir, 'bare'), { token: TOKEN })
  stores.push(bareCtx.store)
  bare = await startApi(bareCtx, 0)
})

after(async () => {
  await server.close()
  await bare.close()
  for (const store of stores) store.close()
  await rm(dir, { recursive: true, force: true })
})

interface Raw {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

function raw(
  target: ApiServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: target.port, method, path, headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('the UI files', () => {
  test('are served at / without the token, each with a strict CSP and no-sniff', async () => {
    for (const path of ['/', '/assets/app.js']) {
      const answer = await raw(server, 'GET', path)
      assert.equal(answer.status, 200, path)
      const csp = String(answer.headers['content-security-policy'])
      assert.match(csp, /default-src 'none'/)
      assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/)
      assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${server.port}`))
      assert.match(csp, /frame-ancestors 'none'/)
      assert.equal(answer.headers['x-content-type-options'], 'nosniff')
      assert.equal(answer.headers['referrer-policy'], 'no-referrer')
    }
    assert.match((await raw(server, 'GET', '/')).body, /<title>Wholesum<\/title>/)
  })

  test('a foreign Host (DNS rebinding) gets no file (403)', async () => {
    const answer = await raw(server, 'GET', '/', { host: 'evil.example:80' })
    assert.equal(answer.status, 403)
    assert.doesNotMatch(answer.body, /Wholesum<\/title>/)
  })

  test('the API stays behind its token next to the files', async () => {
    assert.equal((await raw(server, 'GET', '/v1/info')).status, 401)
    const missing = await raw(server, 'GET', '/v1/no-such-route', {
      authorization: `Bearer ${TOKEN}`,
    })
    assert.equal(missing.status, 404)
    assert.equal(JSON.parse(missing.body).error.code, 'NOT_FOUND')
  })

  test('a node without a built UI says how to build it (503), not a blank page', async () => {
    const answer = await raw(bare, 'GET', '/')
    assert.equal(answer.status, 503)
    assert.match(answer.body, /npm run build:ui/)
  })
})

describe('UI tickets', () => {
  test('a ticket needs the token; redeemed once it gives the token, a second time nothing', async () => {
    assert.equal((await raw(server, 'POST', '/v1/ui/tickets')).status, 401)
    const api = new ApiClient({ baseUrl: server.url, token: TOKEN })
    const ticket = await api.uiTicket()
    assert.equal(ticket.url, `${server.url}/#ticket=${ticket.ticket}`)
    assert.equal(await ApiClient.redeemTicket(server.url, ticket.ticket), TOKEN)
    await assert.rejects(
      ApiClient.redeemTicket(server.url, ticket.ticket),
      (err: unknown) =>
        err instanceof ApiError && err.status === 401 && err.code === 'TICKET_INVALID',
    )
  })

  test('an expired ticket, an invented one and a malformed one are refused', async () => {
    const api = new ApiClient({ baseUrl: server.url, token: TOKEN })
    const ticket = await api.uiTicket()
    now += TICKET_TTL_MS + 1
    await assert.rejects(ApiClient.redeemTicket(server.url, ticket.ticket), /expired/)
    await assert.rejects(
      ApiClient.redeemTicket(server.url, 'c'.repeat(64)),
      /used already or has expired/,
    )
    const malformed = await raw(
      server,
      'POST',
      '/v1/ui/session',
      { 'content-type': 'application/json' },
      JSON.stringify({ ticket: 'short' }),
    )
    assert.equal(malformed.status, 400)
    assert.equal(JSON.parse(malformed.body).error.field, 'body/ticket')
  })

  test('a web page of another origin cannot redeem a ticket, even a live one (403)', async () => {
    const api = new ApiClient({ baseUrl: server.url, token: TOKEN })
    const ticket = await api.uiTicket()
    const answer = await raw(
      server,
      'POST',
      '/v1/ui/session',
      { 'content-type': 'application/json', origin: 'https://evil.example' },
      JSON.stringify({ ticket: ticket.ticket }),
    )
    assert.equal(answer.status, 403)
    assert.doesNotMatch(answer.body, new RegExp(TOKEN))
  })
})

describe('token rotation', () => {
  test('after a rotation the old token is refused (401) and the new one works', async () => {
    const old = new ApiClient({ baseUrl: bare.url, token: TOKEN })
    const { token } = await old.rotateToken()
    assert.match(token, /^[0-9a-f]{64}$/)
    assert.notEqual(token, TOKEN)
    await assert.rejects(
      old.info(),
      (err: unknown) => err instanceof ApiError && err.status === 401,
    )
    const fresh = new ApiClient({ baseUrl: bare.url, token })
    assert.equal((await fresh.info()).version, 'test')
  })
})

describe('rotation and tickets', () => {
  test('a ticket issued before a rotation is spent by it: it cannot hand out the new token', async () => {
    const ctx = testApiContext(join(dir, 'rotate-tickets'), { token: TOKEN })
    stores.push(ctx.store)
    const node = await startApi(ctx, 0)
    try {
      const api = new ApiClient({ baseUrl: node.url, token: TOKEN })
      const ticket = await api.uiTicket()
      await api.rotateToken()
      await assert.rejects(
        ApiClient.redeemTicket(node.url, ticket.ticket),
        /used already or has expired/,
      )
    } finally {
      await node.close()
    }
  })
})
