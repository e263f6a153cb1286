// FilecoinStore's rules, each shown against a FAKE Lighthouse on 127.0.0.1 (never the service).

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import {
  AbortError,
  InvalidInputError,
  NotFoundError,
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
  VerificationError,
  type TransferProgress,
} from '@wholesum/plugin-api'
import { defaultConfig, lighthouseConfig } from '@lighthouse-web3/sdk/dist/lighthouse.config.js'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import {
  LIGHTHOUSE_API_URL,
  LIGHTHOUSE_GATEWAY_URL,
  LIGHTHOUSE_UPLOAD_URL,
} from './lighthouse-client.ts'
import { FilecoinStore } from './store.ts'
import { bytesOf, collect, deadUrl, fakeAndStore, seeded, TEST_KEY } from './testing/harness.ts'

const run = promisify(execFile)
const KiB = 1024
const MiB = 1024 * KiB

/** The CIDv0 Debian's `ipfs_cid` (Kubo's `ipfs add` defaults) prints for these bytes. */
async function ipfsCid(bytes: Uint8Array): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'filecoin-ipfs-cid-'))
  try {
    await writeFile(join(dir, 'data'), bytes)
    const { stdout } = await run('ipfs_cid', [join(dir, 'data')])
    return (JSON.parse(stdout.slice(stdout.indexOf('{'))) as { CIDv0: string }).CIDv0
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Uploads straight to the fake's /api/v0/add, as Lighthouse's SDK does by default (cid-version 1). */
async function uploadV1(uploadUrl: string, bytes: Uint8Array): Promise<string> {
  const form = new FormData()
  form.set('file', new Blob([bytes]), 'v1.bin')
  const response = await fetch(`${uploadUrl}/api/v0/add?cid-version=1`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_KEY}` },
    body: form,
  })
  assert.equal(response.status, 200)
  return ((await response.json()) as { Hash: string }).Hash
}

describe('FilecoinStore against a FAKE Lighthouse', () => {
  test('put uploads through the SDK and returns the CID Debian ipfs_cid gives (Kubo defaults)', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    for (const size of [0, 6, 2_000_000]) {
      const bytes = await bytesOf(size, size + 3)
      const cid = await store.put(bytes)
      assert.equal(cid, await ipfsCid(bytes), `${size} B`)
      assert.deepEqual(await collect(store.get(cid)), Buffer.from(bytes))
    }
    const uploads = fake.requests.filter((r) => r.service === 'upload')
    assert.equal(uploads.length, 3)
    for (const r of uploads) {
      assert.equal(r.method, 'POST')
      assert.match(r.url, /^\/api\/v0\/add\?.*cid-version=0/)
      assert.equal(r.authorized, true)
    }
  })

  test('put reports upload progress in bytes, ending at the total', async (t) => {
    const { store } = await fakeAndStore(t)
    const seen: TransferProgress[] = []
    await store.put(seeded(1, 3 * MiB), { onProgress: (p) => seen.push(p) })
    assert.ok(seen.length >= 2)
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytes >= seen[i - 1]!.bytes)
    assert.deepEqual(seen.at(-1), { bytes: 3 * MiB, total: 3 * MiB })
  })

  test('get reports download progress with the total the gateway announced', async (t) => {
    const { store } = await fakeAndStore(t)
    const cid = await store.put(await bytesOf(MiB))
    const seen: TransferProgress[] = []
    await collect(store.get(cid, { onProgress: (p) => seen.push(p) }))
    assert.deepEqual(seen.at(-1), { bytes: MiB, total: MiB })
  })

  test('corrupted gateway bytes end get with VerificationError, and no byte is yielded', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    for (const size of [100, MiB + 1]) {
      const cid = await store.put(await bytesOf(size))
      fake.corrupt(cid)
      let yielded = 0
      await assert.rejects(async () => {
        for await (const chunk of store.get(cid)) yielded += chunk.byteLength
      }, VerificationError)
      assert.equal(yielded, 0, `${size} B`)
    }
  })

  test('a CIDv1 from a cid-version=1 upload (raw leaves) is read and verified', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    for (const size of [100, 300 * KiB]) {
      const bytes = await bytesOf(size, 11)
      const cid = await uploadV1(fake.uploadUrl, bytes)
      assert.equal(CID.parse(cid).version, 1)
      assert.deepEqual(await collect(store.get(cid)), Buffer.from(bytes))
      fake.corrupt(cid)
      await assert.rejects(async () => collect(store.get(cid)), VerificationError)
    }
  })

  test('Lighthouse answering another CID than the bytes have ends put with VerificationError', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    fake.tamperUploads = true
    await assert.rejects(
      () => store.put(new TextEncoder().encode('hello\n')),
      (err: unknown) => {
        assert.ok(err instanceof VerificationError)
        assert.match(err.message, /QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN/)
        return true
      },
    )
  })

  test('an unreachable Lighthouse is UnavailableError for every call', async () => {
    const url = await deadUrl()
    const store = new FilecoinStore({
      apiKey: TEST_KEY,
      apiUrl: url,
      uploadUrl: url,
      gatewayUrl: url,
      timeoutMs: 5000,
    })
    const cid = 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN'
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['put', () => store.put(new Uint8Array(10))],
      ['get', () => collect(store.get(cid))],
      ['has', () => store.has(cid)],
      ['stat', () => store.stat(cid)],
      ['pin', () => store.pin(cid)],
      ['unpin', () => store.unpin(cid)],
      ['dealStatus', () => store.dealStatus(cid)],
    ]
    for (const [name, call] of calls) {
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof UnavailableError, `${name}: ${String(err)}`)
        assert.match(err.message, /cannot reach http:\/\/127\.0\.0\.1:\d+/, name)
        return true
      })
    }
  })

  test('a CID that does not parse is InvalidInputError for every call, before any request', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    for (const bad of ['not-a-cid!', '', 'Qm123']) {
      assert.throws(() => store.get(bad), InvalidInputError)
      await assert.rejects(() => store.has(bad), InvalidInputError)
      await assert.rejects(() => store.stat(bad), InvalidInputError)
      await assert.rejects(() => store.pin(bad), InvalidInputError)
      await assert.rejects(() => store.unpin(bad), InvalidInputError)
      await assert.rejects(() => store.dealStatus(bad), InvalidInputError)
    }
    // A well-formed CID whose bytes cannot be recomputed (identity hash) is refused on get too.
    const inline = CID.create(1, 0x55, identity.digest(new Uint8Array([1, 2, 3]))).toString()
    assert.throws(() => store.get(inline), InvalidInputError)
    assert.equal(fake.requests.length, 0)
  })

  test('put over maxObjectBytes is ResourceLimitError and nothing is uploaded', async (t) => {
    const { fake, store } = await fakeAndStore(t, { maxObjectBytes: 1000 })
    await assert.rejects(() => store.put(new Uint8Array(1001)), ResourceLimitError)
    await assert.rejects(() => store.put(seeded(2, 3 * 400, 400)), ResourceLimitError)
    assert.equal(fake.requests.length, 0)
    assert.ok(await store.put(new Uint8Array(1000)))
  })

  test('get over maxObjectBytes is ResourceLimitError', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    const cid = await store.put(await bytesOf(2000))
    const small = new FilecoinStore({ gatewayUrl: fake.gatewayUrl, maxObjectBytes: 1000 })
    await assert.rejects(() => collect(small.get(cid)), ResourceLimitError)
  })

  test('deal status round trip: none after upload, then the deals Lighthouse reports', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    const cid = await store.put(await bytesOf(5000))
    assert.deepEqual(await store.dealStatus(cid), [])
    const first = fake.addDeal(cid, { dealStatus: 'Sealing: PreCommit1' })
    const second = fake.addDeal(cid)
    const deals = await store.dealStatus(cid)
    assert.deepEqual(deals, [first, second])
    assert.equal(deals[0]?.dealStatus, 'Sealing: PreCommit1')
    assert.equal(typeof deals[1]?.chainDealID, 'number')
    assert.ok(fake.requests.some((r) => r.url === `/api/lighthouse/deal_status?cid=${cid}`))
    await assert.rejects(
      () => store.dealStatus('Qmc5QgwHkL1wBpNnc3AKfKBd8edYLfzZheZXUqaaRCvEWx'),
      NotFoundError,
    )
  })

  test('has and stat come from file info; an unknown CID is false / NotFoundError', async (t) => {
    const { store } = await fakeAndStore(t)
    const cid = await store.put(await bytesOf(4321))
    assert.equal(await store.has(cid), true)
    assert.deepEqual(await store.stat(cid), { cid, size: 4321, pinned: true, local: false })
    const absent = 'Qmc5QgwHkL1wBpNnc3AKfKBd8edYLfzZheZXUqaaRCvEWx'
    assert.equal(await store.has(absent), false)
    await assert.rejects(() => store.stat(absent), NotFoundError)
  })

  test('a stalled upload ends put with TimeoutError after about timeoutMs of silence', async (t) => {
    const { fake, store } = await fakeAndStore(t, { timeoutMs: 500 })
    fake.stall('upload')
    const bytes = await bytesOf(KiB)
    const started = performance.now()
    await assert.rejects(() => store.put(bytes), TimeoutError)
    const took = performance.now() - started
    // The upper bound only says the put did not wait for anything longer than its own timeout.
    assert.ok(took >= 450 && took < 10_000, `${took} ms`)
  })

  test('a gateway that stalls mid-body ends get with TimeoutError and yields nothing', async (t) => {
    const { fake, store } = await fakeAndStore(t, { timeoutMs: 500 })
    const cid = await store.put(await bytesOf(MiB))
    fake.stall('gateway', { afterBytes: 300 * KiB })
    let yielded = 0
    const started = performance.now()
    await assert.rejects(async () => {
      for await (const chunk of store.get(cid)) yielded += chunk.byteLength
    }, TimeoutError)
    assert.ok(performance.now() - started < 2500)
    assert.equal(yielded, 0)
  })

  test('a stalled API ends has, stat, dealStatus and unpin with TimeoutError', async (t) => {
    const { fake, store } = await fakeAndStore(t, { timeoutMs: 300 })
    const cid = await store.put(await bytesOf(KiB))
    fake.stall('api')
    await assert.rejects(() => store.has(cid), TimeoutError)
    await assert.rejects(() => store.stat(cid), TimeoutError)
    await assert.rejects(() => store.dealStatus(cid), TimeoutError)
    await assert.rejects(() => store.unpin(cid), TimeoutError)
    await assert.rejects(() => store.pin(cid, { timeoutMs: 200 }), TimeoutError)
  })

  test("the caller's signal ends put and get with AbortError", async (t) => {
    const { fake, store } = await fakeAndStore(t)
    const controller = new AbortController()
    async function* abortsHalfway(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(KiB)
      controller.abort()
      yield new Uint8Array(KiB)
    }
    await assert.rejects(
      () => store.put(abortsHalfway(), { signal: controller.signal }),
      AbortError,
    )
    assert.equal(fake.requests.length, 0)

    const cid = await store.put(await bytesOf(MiB))
    fake.stall('gateway', { afterBytes: 100 })
    const reading = new AbortController()
    setTimeout(() => reading.abort(), 100)
    await assert.rejects(() => collect(store.get(cid, { signal: reading.signal })), AbortError)

    fake.unstall()
    fake.stall('upload')
    const uploading = new AbortController()
    setTimeout(() => uploading.abort(), 100)
    await assert.rejects(
      () => store.put(new Uint8Array(10), { signal: uploading.signal }),
      AbortError,
    )
  })

  test('pin uses the pin API; unpin deletes every upload of the CID from this account only', async (t) => {
    const OTHER = 'another-account-key'
    // Two uploads a page, so that unpin has to follow lastKey through several pages.
    const { fake, store } = await fakeAndStore(t, {}, { apiKeys: [TEST_KEY, OTHER], pageSize: 2 })
    const other = new FilecoinStore({
      apiKey: OTHER,
      apiUrl: fake.apiUrl,
      uploadUrl: fake.uploadUrl,
    })
    const cid = await store.put(await bytesOf(3000))
    await store.put(await bytesOf(100, 1))
    await store.put(await bytesOf(100, 2))
    await store.put(await bytesOf(3000)) // a second upload of the same bytes, on the second page
    await other.pin(cid)
    assert.ok(fake.requests.some((r) => r.method === 'POST' && r.url === '/api/lighthouse/pin'))

    await store.unpin(cid) // removes both of this account's uploads
    const listed = fake.requests.filter((r) => r.url.startsWith('/api/user/files_uploaded'))
    assert.deepEqual(listed.length, 2)
    assert.equal(fake.requests.filter((r) => r.method === 'DELETE').length, 2)
    assert.equal(await store.has(cid), true, "the other account's pin keeps it")
    await assert.rejects(() => store.unpin(cid), NotFoundError)
    await other.unpin(cid)
    assert.equal(await store.has(cid), false)
    assert.equal(fake.holds(cid), false)
    await assert.rejects(() => store.pin(cid), NotFoundError)
  })

  test('two stores on two fakes at once each reach only their own; the SDK defaults are restored', async (t) => {
    const a = await fakeAndStore(t)
    const b = await fakeAndStore(t)
    const [cidA, cidB] = await Promise.all([
      a.store.put(await bytesOf(300 * KiB, 1)),
      b.store.put(await bytesOf(300 * KiB, 2)),
    ])
    await Promise.all([a.store.has(cidA), b.store.has(cidB), a.store.dealStatus(cidA)])
    assert.equal(a.fake.holds(cidA) && !a.fake.holds(cidB), true)
    assert.equal(b.fake.holds(cidB) && !b.fake.holds(cidA), true)
    assert.equal(a.fake.requests.length, 3)
    assert.equal(b.fake.requests.length, 2)
    const sdk = lighthouseConfig as Record<string, unknown>
    assert.equal(sdk.lighthouseAPI, LIGHTHOUSE_API_URL)
    assert.equal(sdk.lighthouseNode, LIGHTHOUSE_UPLOAD_URL)
  })

  test("the default URLs are Lighthouse's real ones, as in the SDK's own config", () => {
    assert.equal(defaultConfig.lighthouseAPI, LIGHTHOUSE_API_URL)
    assert.equal(defaultConfig.lighthouseNode, LIGHTHOUSE_UPLOAD_URL)
    assert.equal(defaultConfig.lighthouseGateway, LIGHTHOUSE_GATEWAY_URL)
    const store = new FilecoinStore()
    assert.deepEqual(store.client.endpoints, {
      apiUrl: LIGHTHOUSE_API_URL,
      uploadUrl: LIGHTHOUSE_UPLOAD_URL,
      gatewayUrl: LIGHTHOUSE_GATEWAY_URL,
    })
  })

  test('without an API key, put, pin and unpin are UnavailableError naming the settings; reads work', async (t) => {
    const { fake, store } = await fakeAndStore(t)
    const bytes = await bytesOf(777)
    const cid = await store.put(bytes)
    const keyless = new FilecoinStore({
      apiUrl: fake.apiUrl,
      uploadUrl: fake.uploadUrl,
      gatewayUrl: fake.gatewayUrl,
    })
    const before = fake.requests.length
    for (const call of [
      () => keyless.put(bytes),
      () => keyless.pin(cid),
      () => keyless.unpin(cid),
    ]) {
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof UnavailableError)
        assert.match(err.message, /no Lighthouse API key.*"apiKey".*LIGHTHOUSE_API_KEY/)
        return true
      })
    }
    assert.equal(fake.requests.length, before, 'nothing was sent without a key')
    assert.deepEqual(await collect(keyless.get(cid)), Buffer.from(bytes))
    assert.equal((await keyless.stat(cid)).size, 777)
  })

  test('a key Lighthouse refuses (HTTP 401) is UnavailableError that says so', async (t) => {
    const { fake, store } = await fakeAndStore(t, { apiKey: 'not-an-account' })
    for (const call of [
      () => store.put(new Uint8Array(5)),
      () => store.unpin('QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN'),
    ]) {
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof UnavailableError)
        assert.match(err.message, /refused the API key \(HTTP 401/)
        return true
      })
    }
    assert.ok(fake.requests.every((r) => !r.authorized))
  })

  test('put spools to a private folder and removes it afterwards, also after a failure', async (t) => {
    const spoolDir = await mkdtemp(join(tmpdir(), 'filecoin-spool-'))
    t.after(() => rm(spoolDir, { recursive: true, force: true }))
    const { fake, store } = await fakeAndStore(t, { spoolDir, timeoutMs: 300 })
    const { readdir } = await import('node:fs/promises')
    const cid = await store.put(await bytesOf(10 * KiB))
    await collect(store.get(cid))
    fake.corrupt(cid)
    await assert.rejects(() => collect(store.get(cid)), VerificationError)
    fake.stall('upload')
    await assert.rejects(() => store.put(new Uint8Array(5)), TimeoutError)
    assert.deepEqual(await readdir(spoolDir), [])
  })

  test('64 MiB round trip through the SDK and the fake: bytes and CID (ipfs_cid) agree; timings', async (t) => {
    const { store } = await fakeAndStore(t, { timeoutMs: 30_000 })
    // Generated first, so that the timings are the store's, not the generator's.
    const pieces: Uint8Array[] = []
    const hash = createHash('sha256')
    for await (const piece of seeded(64, 64 * MiB)) {
      hash.update(piece)
      pieces.push(piece)
    }
    async function* streamed(): AsyncGenerator<Uint8Array> {
      yield* pieces
    }
    let started = performance.now()
    const cid = await store.put(streamed())
    const putMs = performance.now() - started
    started = performance.now()
    const back = createHash('sha256')
    for await (const chunk of store.get(cid)) back.update(chunk)
    const getMs = performance.now() - started
    assert.equal(back.digest('hex'), hash.digest('hex'))
    assert.equal(cid, await ipfsCid(Buffer.concat(pieces)), 'CID of 64 MiB (256 leaves, 2 levels)')
    t.diagnostic(`put 64 MiB ${putMs.toFixed(0)} ms, get 64 MiB ${getMs.toFixed(0)} ms (${cid})`)
  })
})
