// Independent verification on the in-memory wire: a client, provers and verifiers running the
// real services, with the receipt double standing in for risc0. Real libp2p and the wasm verifier
// are the devnet's.

import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { REPO_ROOT } from '../core.ts'
import { createLogger } from '../log/logger.ts'
import { decodeVerified } from '../protocol/codec.ts'
import { MemoryNetwork } from '../testing/memory-wire.ts'
import { MemoryStorage } from '../testing/memory-storage.ts'
import { doubleChecker, ReceiptDouble } from '../testing/receipt-double.ts'
import { JobStore } from '../store/index.ts'
import { ClientService, type ClientEvent } from './client-service.ts'
import { ProverService } from './prover-service.ts'
import { proverSettings } from './prover-settings.ts'
import { VerifierService, type VerifierFault } from './verifier-service.ts'

const PROGRAM = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests', 'dist', 'hello.bin')
const SEGMENTS = 4

describe('verifiers on the in-memory wire', () => {
  let dir: string
  const stops: (() => Promise<void>)[] = []
  const logger = createLogger({ level: 'error', stream: { write: () => true } })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-verification-'))
  })
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })

  async function network(faults: readonly (VerifierFault | undefined)[]) {
    const net = new MemoryNetwork()
    const storage = new MemoryStorage()
    const store = JobStore.open(join(dir, `jobs-${faults.length}-${Date.now()}.sqlite`))
    stops.push(async () => store.close())
    const events: ClientEvent[] = []
    const client = new ClientService({
      wire: await net.join(logger),
      storage,
      prover: new ReceiptDouble({ segments: SEGMENTS, proveMs: 5 }),
      logger,
      workDir: join(dir, `client-${faults.length}`),
      store,
      offerWindowMs: 200,
      bitfieldIntervalMs: 100,
      tickMs: 50,
      verification: { count: faults.length, quorum: 2, waitMs: 5_000, timeoutMs: 5_000 },
      onEvent: (e) => events.push(e),
    })
    await client.start()
    stops.push(() => client.stop())
    for (let i = 0; i < 2; i++) {
      const prover = new ProverService({
        wire: await net.join(logger),
        storage,
        prover: new ReceiptDouble({ segments: SEGMENTS, proveMs: 5 }),
        settings: proverSettings(
          { minPricePerSegment: 1, maxConcurrentSegments: 1, hz: 100_000 },
          { recursion: false, accelerator: 'cpu' },
        ),
        logger,
        workDir: join(dir, `prover-${faults.length}-${i}`),
        tickMs: 50,
      })
      await prover.start()
      stops.push(() => prover.stop())
    }
    const verifiers: string[] = []
    for (const fault of faults) {
      const wire = await net.join(logger)
      const verifier = new VerifierService({
        wire,
        storage,
        checker: doubleChecker(SEGMENTS),
        logger,
        fee: 10n,
        adIntervalMs: 200,
        ...(fault !== undefined ? { fault } : {}),
      })
      await verifier.start()
      stops.push(() => verifier.stop())
      verifiers.push(wire.peerId)
    }
    return { client, store, events, verifiers }
  }

  async function submit(client: ClientService): Promise<string> {
    const input = join(dir, `input-${Date.now()}.bin`)
    await writeFile(input, 'attest to this')
    const outcome = await client.submit({
      program: PROGRAM,
      input,
      po2: 16,
      rewardPerSegment: 100n,
      timeoutMs: 30_000,
      maxProvers: 2,
    })
    return outcome.jobId
  }

  test('a quorum with one dishonest verifier reaches the right verdict, and the lie is kept as evidence', async () => {
    const { client, store, events, verifiers } = await network([
      undefined,
      'says-invalid',
      undefined,
    ])
    const liar = verifiers[1]!
    const jobId = await submit(client)
    const quorum = events.find((e) => e.type === 'quorum')
    assert.ok(quorum !== undefined && quorum.type === 'quorum')
    assert.equal(quorum.verdict, 'valid')
    assert.equal(quorum.valid, 2)
    assert.equal(quorum.invalid, 1)
    assert.deepEqual(quorum.wrong, [liar])
    // The quorum came before the job's last event.
    assert.equal(events.at(-1)?.type, 'finished')

    const kept = store.getAttestations(jobId)
    assert.equal(kept.length, 3)
    const lie = kept.find((a) => a.verifier === liar)!
    assert.equal(lie.verdict, 'invalid')
    assert.equal(lie.agrees, false)
    // Anyone holding the envelope can check who signed it and what it said.
    const message = decodeVerified(lie.envelope, { now: Date.now(), expectedFrom: liar as never })
    assert.equal(message.type, 'attestation')
    assert.deepEqual(dagCbor.encode(message), lie.envelope)
    for (const honest of kept.filter((a) => a.verifier !== liar)) assert.equal(honest.agrees, true)
  })

  test('too few verifiers: the job still completes, and says its receipt has no quorum', async () => {
    const { client, events } = await network([undefined])
    await submit(client)
    const quorum = events.find((e) => e.type === 'quorum')
    assert.ok(quorum !== undefined && quorum.type === 'quorum')
    assert.equal(quorum.verdict, 'none')
    assert.ok(events.some((e) => e.type === 'notice' && /a quorum needs 2/.test(e.message)))
  })
})
