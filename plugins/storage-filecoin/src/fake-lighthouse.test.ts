// The FAKE Lighthouse speaks the documented API the SDK uses, and computes CIDs the way Kubo does.

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { LighthouseClient } from './lighthouse-client.ts'
import { startFakeLighthouse, type FakeLighthouse } from './testing/fake-lighthouse.ts'
import { seeded, TEST_KEY } from './testing/harness.ts'

const run = promisify(execFile)

async function fakeFor(t: TestContext): Promise<FakeLighthouse> {
  const fake = await startFakeLighthouse({ apiKeys: [TEST_KEY] })
  t.after(() => fake.close())
  return fake
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-lighthouse-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function ipfsCidOfFile(file: string): Promise<string> {
  const { stdout } = await run('ipfs_cid', [file])
  return (JSON.parse(stdout.slice(stdout.indexOf('{'))) as { CIDv0: string }).CIDv0
}

describe('FAKE Lighthouse (a local stand-in for tests, not the service)', () => {
  test("answers the SDK's upload with Kubo's {Name, Hash, Size}; Hash equals Debian ipfs_cid", async (t) => {
    const fake = await fakeFor(t)
    const dir = await tempDir(t)
    const client = new LighthouseClient(fake)
    const hello = join(dir, 'hello.txt')
    await writeFile(hello, 'hello\n')
    // Kubo's Size is the DAG's cumulative size: 6 bytes in a 14-byte dag-pb UnixFS node.
    assert.deepEqual(await client.upload(hello, TEST_KEY, () => {}), {
      Name: 'hello.txt',
      Hash: 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN',
      Size: '14',
    })
    const empty = join(dir, 'empty')
    await writeFile(empty, '')
    assert.equal((await client.upload(empty, TEST_KEY, () => {})).Hash, await ipfsCidOfFile(empty))
    // 176 chunks (43.75 MiB + 1 B): more than 174 leaves, so a second level of the balanced tree.
    const big = join(dir, 'big')
    await pipeline(Readable.from(seeded(176, 176 * 262_144 - 262_143)), createWriteStream(big))
    const answer = await client.upload(big, TEST_KEY, () => {})
    assert.equal(answer.Hash, await ipfsCidOfFile(big))
    assert.ok(Number(answer.Size) > 176 * 262_144 - 262_143)
  })

  test('refuses an upload without a Bearer key it knows (401, JSON error)', async (t) => {
    const fake = await fakeFor(t)
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: TEST_KEY }]) {
      const form = new FormData()
      form.set('file', new Blob([new Uint8Array(3)]), 'x')
      const response = await fetch(`${fake.uploadUrl}/api/v0/add?cid-version=0`, {
        method: 'POST',
        headers,
        body: form,
      })
      assert.equal(response.status, 401)
      assert.equal(typeof ((await response.json()) as { error: unknown }).error, 'string')
    }
    assert.equal(fake.holds('QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN'), false)
  })

  test('file_info, deal_status and the gateway answer without a key, in the documented shapes', async (t) => {
    const fake = await fakeFor(t)
    const dir = await tempDir(t)
    const file = join(dir, 'hello.txt')
    await writeFile(file, 'hello\n')
    const { Hash: cid } = await new LighthouseClient(fake).upload(file, TEST_KEY, () => {})

    const info = await fetch(`${fake.apiUrl}/api/lighthouse/file_info?cid=${cid}`)
    assert.deepEqual(await info.json(), {
      fileSizeInBytes: '6',
      cid,
      encryption: false,
      fileName: 'hello.txt',
      mimeType: null,
      txHash: '',
    })
    const deals = await fetch(`${fake.apiUrl}/api/lighthouse/deal_status?cid=${cid}`)
    assert.deepEqual(await deals.json(), [])

    const got = await fetch(`${fake.gatewayUrl}/ipfs/${cid}`)
    assert.equal(got.status, 200)
    assert.equal(got.headers.get('content-length'), '6')
    assert.equal(await got.text(), 'hello\n')
    const head = await fetch(`${fake.gatewayUrl}/ipfs/${cid}`, { method: 'HEAD' })
    assert.equal(head.headers.get('content-length'), '6')
    // The same DAG spelled as a CIDv1 is the same content.
    const v1 = 'bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk4'
    assert.equal(await (await fetch(`${fake.gatewayUrl}/ipfs/${v1}`)).text(), 'hello\n')

    const absent = 'Qmc5QgwHkL1wBpNnc3AKfKBd8edYLfzZheZXUqaaRCvEWx'
    assert.equal((await fetch(`${fake.apiUrl}/api/lighthouse/file_info?cid=${absent}`)).status, 404)
    assert.equal((await fetch(`${fake.gatewayUrl}/ipfs/${absent}`)).status, 404)
  })

  test('each service answers only its own routes (the SDK must be pointed at the right one)', async (t) => {
    const fake = await fakeFor(t)
    assert.equal((await fetch(`${fake.gatewayUrl}/api/lighthouse/file_info?cid=x`)).status, 404)
    assert.equal(
      (await fetch(`${fake.apiUrl}/ipfs/QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN`)).status,
      404,
    )
    const upload = await fetch(`${fake.apiUrl}/api/v0/add`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_KEY}` },
    })
    assert.equal(upload.status, 404)
  })

  test('binds to 127.0.0.1 only', async (t) => {
    const fake = await fakeFor(t)
    for (const url of [fake.apiUrl, fake.uploadUrl, fake.gatewayUrl]) {
      assert.equal(new URL(url).hostname, '127.0.0.1')
    }
  })
})
