// Benchmark evidence over real libp2p nodes on loopback, checked by the real risc0 worker: a real
// segment receipt verifies and states its po2; garbage, a tampered receipt or an oversized object
// is a lie; a receipt nobody serves is merely unreachable.

import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { ProverPlugin, SegmentInfo } from '@wholesum/plugin-api'
import { openCore, REPO_ROOT, type Core } from '../core.ts'
import { EvidenceChecker } from './evidence.ts'
import { startNetworkNode, type NetworkNode } from './node.ts'
import { putFile } from './transfer.ts'
import { Libp2pWire } from './wire.ts'
import { createLogger } from '../log/logger.ts'

const GUESTS = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')

describe('benchmark evidence: an offer’s receipt fetched from its prover and checked', () => {
  let dir: string
  let core: Core
  let prover: ProverPlugin
  let holder: NetworkNode
  let client: NetworkNode
  let segment: SegmentInfo
  let receiptCid: string
  let inspections = 0
  let checker: EvidenceChecker

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-evidence-'))
    core = await openCore({ home: join(dir, 'core') })
    prover = await core.prover()
    const executed = await prover.execute({
      program: join(GUESTS, 'dist', 'hello.bin'),
      input: join(GUESTS, 'samples', 'hello.input'),
      po2: 16,
      outDir: join(dir, 'exec'),
    })
    segment = executed.segments[0]!
    const receipt = join(dir, 'segment.receipt')
    await prover.proveSegment({ segment: segment.path, out: receipt })
    holder = await startNetworkNode(join(dir, 'holder'), { dht: false })
    client = await startNetworkNode(join(dir, 'client'), {
      dht: false,
      bootstrap: [holder.addresses()[0]!],
    })
    await client.libp2p.dial(holder.libp2p.peerId)
    receiptCid = await putFile(holder.storage, receipt)
    checker = new EvidenceChecker({
      storage: client.storage,
      peers: new Libp2pWire(client, createLogger({ level: 'silent' })),
      prover: {
        inspectSegment: (request) => {
          inspections += 1
          return prover.inspectSegment(request)
        },
      },
      workDir: join(dir, 'checks'),
      fetchTimeoutMs: 1_000,
    })
  })

  after(async () => {
    await client?.stop()
    await holder?.stop()
    await core?.close()
    await rm(dir, { recursive: true, force: true })
  })

  const stored = async (name: string, bytes: Uint8Array): Promise<string> => {
    const file = join(dir, name)
    await writeFile(file, bytes)
    return await putFile(holder.storage, file)
  }

  test('a real segment receipt verifies and states the po2 and claim it proves', async () => {
    const result = await checker.check(holder.peerId, receiptCid)
    assert.deepEqual(result, {
      status: 'verified',
      po2: segment.po2,
      claimDigest: segment.claimDigest,
    })
  })

  test('a verdict is remembered: the same receipt in another offer costs no second check', async () => {
    const before = inspections
    const again = await checker.check(holder.peerId, receiptCid)
    assert.equal(again.status, 'verified')
    assert.equal(inspections, before)
  })

  test('no receipt named: absent, nothing fetched', async () => {
    assert.deepEqual(await checker.check(holder.peerId, undefined), { status: 'absent' })
  })

  test('bytes that are not a segment receipt are invalid', async () => {
    const cid = await stored('garbage.bin', new TextEncoder().encode('not a receipt, but fast'))
    const result = await checker.check(holder.peerId, cid)
    assert.equal(result.status, 'invalid')
    assert.match((result as { reason: string }).reason, /not a segment receipt/)
  })

  test('a real receipt with one byte of its seal changed is invalid', async () => {
    const bytes = Buffer.from(await readFile(join(dir, 'segment.receipt')))
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01
    const result = await checker.check(holder.peerId, await stored('tampered.receipt', bytes))
    assert.equal(result.status, 'invalid')
    assert.match((result as { reason: string }).reason, /does not verify/)
  })

  test('an object over the size bound is invalid, refused before it is all fetched', async () => {
    const small = new EvidenceChecker({
      storage: client.storage,
      peers: new Libp2pWire(client, createLogger({ level: 'silent' })),
      prover,
      workDir: join(dir, 'checks-small'),
      maxBytes: 4096,
    })
    const result = await small.check(holder.peerId, receiptCid)
    assert.equal(result.status, 'invalid')
    assert.match((result as { reason: string }).reason, /larger than the 4096-byte limit/)
  })

  test('a receipt nobody serves is unreachable (not a lie), and is asked for again next time', async () => {
    const missing = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    const started = Date.now()
    const first = await checker.check(holder.peerId, missing)
    assert.equal(first.status, 'unreachable')
    // One idle timeout, a reconnect, one more idle timeout.
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`)
    const second = await checker.check(holder.peerId, missing)
    assert.equal(second.status, 'unreachable')
  })
})
