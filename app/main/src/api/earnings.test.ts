// The earnings ledger and the verifiers' attestations over the local API, on a real job store:
// what GET /v1/earnings answers and refuses, and what a job's detail shows of its attestations.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { API_PREFIX, ApiClient, ApiError } from '@wholesum/api-client'
import { fetchEarnings, formatEarnings } from '../cli/commands/earnings.ts'
import type { JobStore } from '../store/index.ts'
import { newJob, newSegments, peerId, sha256Hex } from '../store/testing/fixtures.ts'
import { testApiContext } from '../testing/api-context.ts'
import { startApi, type ApiServer } from './server.ts'

const TOKEN = 'e'.repeat(64)
const JOB = sha256Hex('job:paid')
const OTHER_JOB = sha256Hex('job:open')
const PROVER = `0x${'ab'.repeat(20)}`
const VERIFIER = `0x${'cd'.repeat(20)}`
const CLIENT = `0x${'ef'.repeat(20)}`
const ETH = 10n ** 18n
const txHash = (n: number) => `0x${sha256Hex(`tx:${n}`)}`

let dir: string
let store: JobStore
let server: ApiServer
let api: ApiClient

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wholesum-api-earnings-'))
  const ctx = testApiContext(dir, { token: TOKEN })
  store = ctx.store
  server = await startApi(ctx, 0)
  api = new ApiClient({ baseUrl: server.url, token: TOKEN })
})

after(async () => {
  await server.close()
  store.close()
  await rm(dir, { recursive: true, force: true })
})

/** A raw GET, so a test can leave the token out or send a query the typed client would not. */
function get(
  path: string,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
): Promise<{
  status: number
  body: { error?: { code: string; message: string; field?: string } }
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'GET',
        path: `${API_PREFIX}${path}`,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('GET /v1/earnings', () => {
  before(() => {
    store.upsertEarning(
      { jobId: OTHER_JOB, role: 'prover', account: PROVER },
      { segments: 2, earnedWei: (3n * ETH).toString(), status: 'earning' },
    )
    store.upsertEarning(
      { jobId: JOB, role: 'prover', account: PROVER },
      {
        peer: peerId('prover'),
        counterparty: peerId('client'),
        chainId: 31337,
        escrow: `0x${'12'.repeat(20)}`,
        segments: 4,
        earnedWei: (2n ** 53n + 1n).toString(),
        paidWei: (2n ** 53n + 1n).toString(),
        status: 'paid',
        addTx: { kind: 'collateral', hash: txHash(1) },
      },
    )
    store.upsertEarning(
      { jobId: JOB, role: 'prover', account: PROVER },
      { addTx: { kind: 'claim', hash: txHash(2) } },
    )
    store.upsertEarning(
      { jobId: JOB, role: 'verifier', account: VERIFIER },
      {
        earnedWei: '1500',
        status: 'refused',
        reason: 'the chain refused the claim: AlreadyClaimed',
      },
    )
  })

  test('every row, newest first, with exact wei and totals per role', async () => {
    const list = await api.earnings()
    assert.deepEqual(
      new Set(
        list.entries.map((e) => `${e.jobId === JOB ? 'paid' : 'open'} ${e.role} ${e.status}`),
      ),
      new Set(['paid prover paid', 'paid verifier refused', 'open prover earning']),
    )
    const times = list.entries.map((e) => e.createdAt)
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    )
    const paid = list.entries.find((e) => e.jobId === JOB && e.role === 'prover')!
    assert.equal(paid.earnedWei, '9007199254740993')
    assert.equal(paid.chainId, 31337)
    assert.deepEqual(
      paid.txHashes.map((t) => t.kind),
      ['collateral', 'claim'],
    )
    assert.deepEqual(list.totals.prover, {
      entries: 2,
      earnedWei: (3n * ETH + 2n ** 53n + 1n).toString(),
      paidWei: '9007199254740993',
      slashedWei: '0',
      pendingWei: (3n * ETH).toString(),
    })
    assert.equal(list.totals.verifier.pendingWei, '0')
    assert.equal(list.totals.client.entries, 0)
  })

  test('filtered by job, role and any of some statuses; totals follow the filter', async () => {
    const job = await api.earnings({ jobId: JOB })
    assert.equal(job.entries.length, 2)
    assert.equal(job.totals.prover.pendingWei, '0')
    const verifiers = await api.earnings({ role: 'verifier' })
    assert.deepEqual(
      verifiers.entries.map((e) => e.reason),
      ['the chain refused the claim: AlreadyClaimed'],
    )
    assert.equal(verifiers.totals.prover.entries, 0)
    const open = await api.earnings({ status: 'earning,pending' })
    assert.deepEqual(
      open.entries.map((e) => e.jobId),
      [OTHER_JOB],
    )
  })

  test('the token is required (401)', async () => {
    const none = await get('/earnings', {})
    assert.equal(none.status, 401)
    assert.equal(none.body.error?.code, 'UNAUTHORIZED')
    const wrong = await get('/earnings', { authorization: `Bearer ${'f'.repeat(64)}` })
    assert.equal(wrong.status, 401)
  })

  test('a bad query is refused (400) naming the field', async () => {
    const cases: [string, string, RegExp][] = [
      ['?role=miner', 'querystring/role', /must be equal to one of the allowed values/],
      ['?status=paid,lost', 'querystring/status/1', /lost is not an earning status/],
      ['?jobId=abc', 'querystring/jobId', /must match pattern/],
      ['?account=0x12', 'querystring/account', /must NOT have additional properties/],
    ]
    for (const [query, field, message] of cases) {
      const answer = await get(`/earnings${query}`)
      assert.equal(answer.status, 400, query)
      assert.equal(answer.body.error?.code, 'INVALID_REQUEST', query)
      assert.equal(answer.body.error?.field, field, query)
      assert.match(answer.body.error!.message, message, query)
    }
    await assert.rejects(
      api.earnings({ role: 'miner' as 'prover' }),
      (err) => err instanceof ApiError && err.status === 400,
    )
  })

  test('the route is in the OpenAPI document', async () => {
    const doc = (await get('/openapi.json')).body as unknown as { paths: Record<string, object> }
    assert.ok(Object.keys(doc.paths['/v1/earnings'] ?? {}).includes('get'))
  })
})

describe('wholesum earnings over the API', () => {
  test('--json gives the API answer as it came, exact wei included', async () => {
    const list = await fetchEarnings(api, { job: JOB.slice(0, 8) })
    assert.deepEqual(list, await api.earnings({ jobId: JOB }))
    assert.deepEqual(JSON.parse(JSON.stringify(list)), list)
    const table = formatEarnings(list)
    assert.match(table, /^JOB +ROLE +ACCOUNT/)
    assert.match(table, /claim 0x/)
  })

  test('a prefix is matched in the ledger, and must name one job', async () => {
    store.upsertEarning(
      { jobId: `${JOB.slice(0, 10)}${'0'.repeat(54)}`, role: 'client', account: CLIENT },
      { earnedWei: '1' },
    )
    await assert.rejects(fetchEarnings(api, { job: JOB.slice(0, 8) }), /names more than one job/)
    await assert.rejects(fetchEarnings(api, { job: 'ffffffff' }), /no earnings on this node/)
    await assert.rejects(fetchEarnings(api, { job: 'abc' }), /is not a job ID/)
    const client = await fetchEarnings(api, { job: JOB.slice(0, 8), role: 'client' })
    assert.deepEqual(
      client.entries.map((e) => e.account),
      [CLIENT],
    )
  })
})

describe("a job's attestations in its detail", () => {
  test('GET /v1/jobs/{id} lists them, without the signed bytes', async () => {
    const job = store.createJob(newJob('attested', 1), newSegments('attested', 1))
    assert.deepEqual((await api.job(job.jobId)).attestations, [])
    store.putAttestation({
      jobId: job.jobId,
      verifier: peerId('verifier'),
      account: VERIFIER,
      verdict: 'valid',
      receiptDigest: sha256Hex('receipt'),
      envelope: new Uint8Array([1, 2, 3]),
      agrees: true,
      receivedAt: 5_000,
    })
    const detail = await api.job(job.jobId)
    assert.deepEqual(detail.attestations, [
      {
        verifier: peerId('verifier'),
        account: VERIFIER,
        verdict: 'valid',
        receiptDigest: sha256Hex('receipt'),
        agrees: true,
        receivedAt: 5_000,
      },
    ])
  })
})
