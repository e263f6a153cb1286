// The client and prover services, unchanged, driven through whole jobs on the in-memory wire with
// a receipt test double instead of risc0: the market, claims, deliveries, strikes, endgame and
// assembly run as on the network, in seconds. Real libp2p and real proofs are the devnet tests'.

import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { ProverPlugin } from '@wholesum/plugin-api'
import { REPO_ROOT } from '../core.ts'
import { createLogger } from '../log/logger.ts'
import { MemoryNetwork, type MemoryWire } from '../testing/memory-wire.ts'
import { MemoryStorage } from '../testing/memory-storage.ts'
import { lyingProver, ReceiptDouble, stalledProver } from '../testing/receipt-double.ts'
import { JobStore } from '../store/index.ts'
import { PROTOCOLS } from '../protocol/messages.ts'
import { ClientService, type JobOutcome } from './client-service.ts'
import { ProverService } from './prover-service.ts'
import { proverSettings } from './prover-settings.ts'

// The client checks that the program is a RISC Zero program: a real one, which is never run.
const PROGRAM = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests', 'dist', 'hello.bin')
const SEGMENTS = 50

interface Lines {
  readonly lines: string[]
  readonly logger: ReturnType<typeof createLogger>
}
function capture(): Lines {
  const lines: string[] = []
  return {
    lines,
    logger: createLogger({ level: 'info', stream: { write: (l: string) => lines.push(l) } }),
  }
}

describe('client and prover services on the in-memory wire', () => {
  let dir: string
  const stops: (() => Promise<void>)[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-services-'))
  })
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })

  async function prover(
    network: MemoryNetwork,
    storage: MemoryStorage,
    name: string,
    plugin: ProverPlugin,
    log: Lines,
  ): Promise<{ wire: MemoryWire; service: ProverService }> {
    const wire = await network.join(log.logger.forComponent(`wire:${name}`))
    const service = new ProverService({
      wire,
      storage,
      prover: plugin,
      settings: proverSettings(
        { minPricePerSegment: 1, maxConcurrentSegments: 1, hz: 100_000 },
        { recursion: false, accelerator: 'cpu' },
      ),
      logger: log.logger.forComponent(name),
      workDir: join(dir, name),
      tickMs: 50,
    })
    await service.start()
    stops.push(() => service.stop())
    return { wire, service }
  }

  test(
    '50 segments, 10 provers, one liar and one that vanishes: done in seconds, credits right',
    { timeout: 120_000 },
    async () => {
      const network = new MemoryNetwork()
      const storage = new MemoryStorage() // one content-addressed store stands for everyone's
      const log = capture()
      const honest = () => new ReceiptDouble({ segments: SEGMENTS, proveMs: 20 })
      const clientWire = await network.join(log.logger.forComponent('wire:client'))
      const clientProver = honest()
      const client = new ClientService({
        wire: clientWire,
        storage,
        prover: clientProver,
        logger: log.logger.forComponent('client'),
        workDir: join(dir, 'client'),
        offerWindowMs: 300,
        bitfieldIntervalMs: 200,
        claimTtlMs: 1_500,
        tickMs: 50,
      })
      await client.start()
      stops.push(() => client.stop())

      let stalledClaims = 0
      const stalling = stalledProver(honest())
      const watched: ProverPlugin = {
        ...stalling,
        proveSegment: (request) => {
          stalledClaims += 1
          return stalling.proveSegment(request)
        },
      }
      const liar = await prover(network, storage, 'liar', lyingProver(honest()), log)
      const vanisher = await prover(network, storage, 'vanisher', watched, log)
      const honestProvers = []
      for (let i = 0; i < 8; i++) {
        honestProvers.push(await prover(network, storage, `honest-${i}`, honest(), log))
      }

      const input = join(dir, 'input.bin')
      await writeFile(input, 'fifty segments, please')
      const started = performance.now()
      const submitted = await client.accept({
        program: PROGRAM,
        input,
        po2: 16,
        rewardPerSegment: 1000n,
        timeoutMs: 60_000,
        maxProvers: 10,
      })
      // The vanisher goes away as soon as it holds a claim: its machine is gone mid-proof.
      const vanished = (async () => {
        while (stalledClaims === 0) await new Promise((r) => setTimeout(r, 10))
        network.vanish(vanisher.wire.peerId)
      })()
      const outcome = await submitted.outcome
      await vanished
      const seconds = (performance.now() - started) / 1000
      console.log(`50 segments, 10 provers: ${seconds.toFixed(1)} s`)

      assert.equal(outcome.segments, SEGMENTS)
      const credited = [...outcome.credits.values()].reduce((a, b) => a + b, 0)
      assert.equal(credited, SEGMENTS, 'every segment credited once')
      assert.equal(outcome.credits.get(liar.wire.peerId), undefined, 'the liar is paid nothing')
      assert.equal(outcome.credits.get(vanisher.wire.peerId), undefined, 'nor the vanished one')
      for (const [peer] of outcome.credits) {
        assert.ok(
          honestProvers.some((p) => p.wire.peerId === peer),
          `${peer} is an honest prover`,
        )
      }
      assert.ok((outcome.strikes.get(liar.wire.peerId) ?? 0) >= 1, 'the liar was struck')
      assert.equal(outcome.strikes.get(vanisher.wire.peerId), undefined)
      assert.ok(stalledClaims >= 1, 'the vanisher had taken work before it went')
      assert.ok(
        log.lines.some((l) => l.includes('segment receipt rejected')),
        "the liar's receipts were rejected",
      )
      const verified = await clientProver.verify({
        receipt: outcome.receiptPath,
        imageId: outcome.imageId,
      })
      assert.equal(verified.segments, SEGMENTS)
    },
  )

  test(
    'a job cancelled mid-PROVE: provers abort their proofs and drop the job',
    { timeout: 60_000 },
    async () => {
      const network = new MemoryNetwork()
      const storage = new MemoryStorage()
      const log = capture()
      const store = JobStore.open(join(dir, 'cancel.sqlite'))
      stops.push(async () => store.close())
      const client = new ClientService({
        wire: await network.join(log.logger.forComponent('wire:client')),
        storage,
        prover: new ReceiptDouble({ segments: 10 }),
        logger: log.logger.forComponent('client'),
        workDir: join(dir, 'cancel-client'),
        offerWindowMs: 200,
        bitfieldIntervalMs: 200,
        claimTtlMs: 5_000,
        tickMs: 50,
        store,
      })
      await client.start()
      stops.push(() => client.stop())
      let proving = 0
      let aborted = 0
      const stalling = stalledProver(new ReceiptDouble({ segments: 10 }))
      const counted: ProverPlugin = {
        ...stalling,
        proveSegment: (request) => {
          proving += 1
          request.signal?.addEventListener('abort', () => (aborted += 1), { once: true })
          return stalling.proveSegment(request)
        },
      }
      for (let i = 0; i < 2; i++) await prover(network, storage, `slow-${i}`, counted, log)
      const input = join(dir, 'cancel-input.bin')
      await writeFile(input, 'cancel me')
      const submitted = await client.accept({
        program: PROGRAM,
        input,
        po2: 16,
        rewardPerSegment: 1000n,
        timeoutMs: 60_000,
        maxProvers: 2,
      })
      while (proving < 2) await new Promise((r) => setTimeout(r, 10))
      assert.equal(await client.cancel(submitted.jobId), 'cancelled')
      await assert.rejects(submitted.outcome)
      while (aborted < 2) await new Promise((r) => setTimeout(r, 10))
      assert.equal(aborted, proving, 'every proof in flight was aborted')
      assert.equal(store.getJob(submitted.jobId)?.status, 'cancelled')
    },
  )

  test(
    'a deal whose reply is lost on the way: the prover offers again, gets the deal the client made, and the job completes',
    { timeout: 60_000 },
    async () => {
      const network = new MemoryNetwork()
      const storage = new MemoryStorage()
      const log = capture()
      const client = new ClientService({
        wire: await network.join(log.logger.forComponent('wire:client')),
        storage,
        prover: new ReceiptDouble({ segments: 4 }),
        logger: log.logger.forComponent('client'),
        workDir: join(dir, 'lost-deal-client'),
        offerWindowMs: 200,
        bitfieldIntervalMs: 200,
        claimTtlMs: 2_000,
        tickMs: 50,
      })
      await client.start()
      stops.push(() => client.stop())
      const only = await prover(
        network,
        storage,
        'lost-deal',
        new ReceiptDouble({ segments: 4 }),
        log,
      )
      // The client makes the deal; its answer never reaches the prover. A client with a deal no
      // longer announces the need, so only the prover's second offer can bring them together.
      network.loseReplies(PROTOCOLS.offer, 1)
      const input = join(dir, 'lost-deal-input.bin')
      await writeFile(input, 'the deal that got lost')
      const submitted = await client.accept({
        program: PROGRAM,
        input,
        po2: 16,
        rewardPerSegment: 1000n,
        timeoutMs: 30_000,
        maxProvers: 1,
      })
      const outcome = await submitted.outcome
      assert.equal(outcome.segments, 4)
      assert.equal(outcome.credits.get(only.wire.peerId), 4)
      assert.ok(
        log.lines.some((l) => l.includes('offer got no answer; sending it again')),
        'the prover sent its offer again',
      )
    },
  )

  test('a submission aborted before the job is recorded leaves nothing behind', async () => {
    const network = new MemoryNetwork()
    const store = JobStore.open(join(dir, 'abort.sqlite'))
    stops.push(async () => store.close())
    const client = new ClientService({
      wire: await network.join(capture().logger),
      storage: new MemoryStorage(),
      prover: new ReceiptDouble({ segments: 1 }),
      logger: capture().logger,
      workDir: join(dir, 'abort-client'),
      store,
    })
    await client.start()
    stops.push(() => client.stop())
    const input = join(dir, 'abort-input.bin')
    await writeFile(input, 'never mind')
    await assert.rejects(
      client.accept({
        program: PROGRAM,
        input,
        po2: 16,
        rewardPerSegment: 1n,
        timeoutMs: 60_000,
        maxProvers: 1,
        signal: AbortSignal.abort(new Error('the caller went away')),
      }),
      /the caller went away/,
    )
    assert.deepEqual(store.listJobs({}), [])
  })

  test(
    'a client restarted mid-PROVE resumes from its store tables: what was credited stays credited',
    { timeout: 60_000 },
    async () => {
      const network = new MemoryNetwork()
      const storage = new MemoryStorage()
      const log = capture()
      const store = JobStore.open(join(dir, 'resume.sqlite'))
      stops.push(async () => store.close())
      const wire = await network.join(log.logger.forComponent('wire:client'))
      const clientOptions = {
        wire,
        storage,
        prover: new ReceiptDouble({ segments: 20 }),
        logger: log.logger.forComponent('client'),
        workDir: join(dir, 'resume-client'),
        offerWindowMs: 200,
        bitfieldIntervalMs: 200,
        claimTtlMs: 2_000,
        tickMs: 50,
        store,
      }
      const first = new ClientService(clientOptions)
      await first.start()
      // Stopped below on purpose; here too, so that a failure before then leaves no timer running.
      stops.push(() => first.stop())
      for (let i = 0; i < 3; i++) {
        const plugin = new ReceiptDouble({ segments: 20, proveMs: 40 })
        await prover(network, storage, `resume-${i}`, plugin, log)
      }
      const input = join(dir, 'resume-input.bin')
      await writeFile(input, 'resume me')
      const submitted = await first.accept({
        program: PROGRAM,
        input,
        po2: 16,
        rewardPerSegment: 1000n,
        timeoutMs: 60_000,
        maxProvers: 3,
      })
      submitted.outcome.catch(() => {})
      const provedNow = () =>
        store.getSegments(submitted.jobId).filter((s) => s.status === 'proved')
      while (provedNow().length < 5) await new Promise((r) => setTimeout(r, 10))
      await first.stop()
      const before = new Map(provedNow().map((s) => [s.idx, s.receiptCid]))

      const second = new ClientService(clientOptions)
      await second.start()
      stops.push(() => second.stop())
      const outcome = await new Promise<JobOutcome>((resolve, reject) => {
        const resumed = second.resume((o) => (o instanceof Error ? reject(o) : resolve(o)))
        assert.deepEqual(resumed, [submitted.jobId])
      })
      assert.equal(outcome.segments, 20)
      assert.equal(
        [...outcome.credits.values()].reduce((a, b) => a + b, 0),
        20,
      )
      const after = new Map(provedNow().map((s) => [s.idx, s.receiptCid]))
      for (const [idx, cid] of before) assert.equal(after.get(idx), cid, `segment ${idx} kept`)
      assert.equal(store.getJob(submitted.jobId)?.status, 'done')
    },
  )
})
