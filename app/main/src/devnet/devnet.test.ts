// The network end to end: separate prover processes, real libp2p over loopback TCP, real risc0
// proofs. Each test runs a whole job, so they are few and each shows one rule.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { joinClaims } from '@wholesum/plugin-api'
import { openCore, REPO_ROOT, type Core } from '../core.ts'
import { createLogger } from '../log/logger.ts'
import type { ClientEvent, JobOutcome } from '../net/client-service.ts'
import { startNetworkNode } from '../net/node.ts'
import { Devnet, type DevnetProverSpec } from './devnet.ts'

const GUESTS = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const PROGRAM = join(GUESTS, 'dist', 'hashchain.bin')
const INPUT = join(GUESTS, 'samples', 'hashchain-small.input')
const PO2 = 16

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const part of stream) parts.push(part)
  return Buffer.concat(parts)
}

/** A failed run leaves its story in the test output: the client's events and the provers' warnings. */
async function printDiagnostics(net: Devnet, events: readonly ClientEvent[]): Promise<void> {
  const lines = events.map((e) => `  client event ${JSON.stringify(e)}`)
  for (const p of net.provers) {
    const log = await readFile(p.logFile, 'utf8').catch(() => '')
    const notable = log.split('\n').filter((l) => /"level":"(warn|error)"/.test(l))
    lines.push(`  ${p.name} (${p.peerId}): ${notable.length} warnings`)
    lines.push(...notable.slice(-30).map((l) => `    ${l}`))
  }
  console.log(`devnet diagnostics:\n${lines.join('\n')}`)
}

describe('devnet: a client and prover processes on loopback', { timeout: 45 * 60_000 }, () => {
  let dir: string
  let core: Core
  const logger = createLogger({ level: 'warn' })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-devnet-'))
    core = await openCore({ home: join(dir, 'client-core'), logger })
  })
  after(async () => {
    await core.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function runJob(
    name: string,
    provers: DevnetProverSpec[],
    options: {
      claimTtlMs?: number
      endgame?: boolean
      onEvent?: (e: ClientEvent, net: Devnet) => void
    } = {},
  ) {
    const net = await Devnet.start({
      dir: join(dir, name),
      provers,
      clientProver: await core.prover(),
      logger,
      client: {
        claimTtlMs: options.claimTtlMs ?? 180_000,
        offerWindowMs: 2000,
        ...(options.endgame !== undefined ? { endgame: options.endgame } : {}),
      },
    })
    const events: ClientEvent[] = []
    try {
      const outcome = await net.client.submit({
        program: PROGRAM,
        input: INPUT,
        po2: PO2,
        rewardPerSegment: 100n,
        timeoutMs: 10 * 60_000,
        maxProvers: provers.length,
        onEvent: (e) => {
          events.push(e)
          options.onEvent?.(e, net)
        },
      })
      return { net, outcome, events }
    } catch (err) {
      await net.stop()
      await printDiagnostics(net, events)
      throw err
    }
  }

  test('three provers each prove some segments; the client verifies the receipt; outputs come back by CID', async () => {
    const { net, outcome } = await runJob('honest', [{}, {}, {}])
    try {
      assert.equal(outcome.segments, 3)
      const credited = [...outcome.credits.values()].reduce((a, b) => a + b, 0)
      assert.equal(credited, 3)
      for (const p of net.provers) {
        assert.ok(
          (outcome.credits.get(p.peerId) ?? 0) >= 1,
          `${p.name} proved at least one segment`,
        )
      }
      // The client verified it; verify once more from the file, as anyone could.
      const prover = await core.prover()
      const verified = await prover.verify({
        receipt: outcome.receiptPath,
        imageId: outcome.imageId,
      })
      assert.equal(verified.kind, 'composite')
      assert.equal(verified.segments, 3)
      // What the JOIN stage relies on: the segments' claims joined in order (joinClaims, risc0's
      // ReceiptClaim::join) are the claim of the whole session, which the receipt proves.
      const again = await prover.execute({
        program: PROGRAM,
        input: INPUT,
        po2: PO2,
        outDir: join(dir, 'honest-reexecuted'),
      })
      const claims = again.segments.map((s) => s.claim)
      assert.equal(await prover.claimDigest(claims.reduce(joinClaims)), verified.claimDigest)
      assert.notEqual(
        await prover.claimDigest(claims.slice(0, 2).reduce(joinClaims)),
        verified.claimDigest,
      )
      // A fresh node fetches the journal by CID from the client over bitswap.
      const reader = await startNetworkNode(join(dir, 'reader'), {
        dht: false,
        bootstrap: [net.clientNode.addresses()[0]!],
      })
      try {
        await reader.libp2p.dial(net.clientNode.libp2p.peerId)
        const journal = await collect(
          reader.storage.get(outcome.cids.journal, { timeoutMs: 20_000 }),
        )
        assert.deepEqual(journal, await readFile(outcome.journalPath))
        const stdout = await collect(reader.storage.get(outcome.cids.stdout, { timeoutMs: 20_000 }))
        // The guest's stdout as the client's execution wrote it (next to the receipt's job dir).
        assert.deepEqual(
          stdout,
          await readFile(join(dirname(outcome.receiptPath), 'segments', 'stdout.log')),
        )
        const receipt = await collect(
          reader.storage.get(outcome.cids.receipt, { timeoutMs: 20_000 }),
        )
        assert.equal(
          createHash('sha256').update(receipt).digest('hex'),
          createHash('sha256')
            .update(await readFile(outcome.receiptPath))
            .digest('hex'),
        )
      } finally {
        await reader.stop()
      }
    } finally {
      await net.stop()
    }
  })

  test('a lying prover is rejected and struck; the job completes with the honest provers', async () => {
    const { net, outcome, events } = await runJob('liar', [{}, {}, { fault: 'corrupt' }])
    try {
      const liar = net.provers[2]!
      assert.equal(outcome.credits.get(liar.peerId), undefined, 'the liar is credited nothing')
      assert.ok((outcome.strikes.get(liar.peerId) ?? 0) >= 1, 'the liar was struck')
      const rejected = events.filter((e) => e.type === 'strike')
      assert.ok(rejected.every((e) => e.type === 'strike' && e.prover === liar.peerId))
      assert.match((rejected[0] as { reason: string }).reason, /does not verify|claim/)
      assert.equal(
        [...outcome.credits.values()].reduce((a, b) => a + b, 0),
        3,
      )
    } finally {
      await net.stop()
    }
  })

  test('a prover that hands in one segment receipt as another is rejected; the job completes', async () => {
    const { net, outcome, events } = await runJob(
      'wrong-segment',
      [
        // The liar swaps receipts between two proofs at once: it takes two claims at a time.
        { fault: 'wrong-segment', settings: { maxConcurrentSegments: 2 } },
        {},
      ],
      // Without the endgame the honest prover cannot race the liar to its two segments: the
      // liar, whose worker runs its two proofs one after the other, always gets to lie (with
      // the endgame it lost that race about one run in two, and the test saw no lie at all).
      { endgame: false },
    )
    try {
      const liar = net.provers[0]!
      const strikes = events.filter((e) => e.type === 'strike' && e.prover === liar.peerId)
      if (strikes.length === 0) await printDiagnostics(net, events)
      assert.ok(strikes.length >= 1, 'the liar was struck')
      for (const strike of strikes) {
        assert.match((strike as { reason: string }).reason, /is for segment \d+, not segment \d+/)
      }
      assert.equal(outcome.credits.get(liar.peerId), undefined, 'the liar is credited nothing')
      assert.equal(
        [...outcome.credits.values()].reduce((a, b) => a + b, 0),
        3,
      )
    } finally {
      await net.stop()
    }
  })

  test('a prover killed mid-segment: its segment re-opens and the job completes', async () => {
    let killed: string | undefined
    let killedIndex: number | undefined
    const { net, outcome, events } = await runJob('killed', [{}, {}, {}], {
      claimTtlMs: 30_000,
      onEvent: (e, devnet) => {
        if (e.type === 'claim' && killed === undefined) {
          const victim = devnet.provers.find((p) => p.peerId === e.prover)!
          killed = victim.peerId
          killedIndex = e.index
          victim.child.kill('SIGKILL')
        }
      },
    })
    try {
      assert.ok(killed !== undefined)
      assert.equal(outcome.credits.get(killed), undefined, 'the killed prover is credited nothing')
      const proved = events.find((e) => e.type === 'credit' && e.index === killedIndex)
      assert.ok(proved !== undefined && proved.type === 'credit' && proved.prover !== killed)
      assert.equal(
        [...outcome.credits.values()].reduce((a, b) => a + b, 0),
        3,
      )
    } finally {
      await net.stop()
    }
  })

  test('a client restarted mid-job resumes from its job store and the job completes', async () => {
    const net = await Devnet.start({
      dir: join(dir, 'restart'),
      provers: [{}, {}],
      clientProver: await core.prover(),
      logger,
      persistClient: true,
      client: { claimTtlMs: 30_000, offerWindowMs: 2000 },
    })
    try {
      let firstCredit!: () => void
      const credited = new Promise<void>((r) => (firstCredit = r))
      const first = net.client.submit({
        program: PROGRAM,
        input: INPUT,
        po2: PO2,
        rewardPerSegment: 100n,
        timeoutMs: 10 * 60_000,
        maxProvers: 2,
        onEvent: (e) => {
          if (e.type === 'credit') firstCredit()
        },
      })
      first.catch(() => {}) // the crash below rejects it; the resumed client finishes the job
      await credited
      const jobId = net.store!.listJobs({ role: 'client' })[0]!.jobId
      assert.equal(net.store!.segmentCounts(jobId).proved, 1)
      await net.restartClient()
      const outcome = await new Promise<JobOutcome>((resolve, reject) => {
        const resumed = net.client.resume((o) => (o instanceof Error ? reject(o) : resolve(o)))
        assert.deepEqual(resumed, [jobId])
      })
      assert.equal(outcome.jobId, jobId)
      assert.equal(
        [...outcome.credits.values()].reduce((a, b) => a + b, 0),
        3,
      )
      const record = net.store!.getJob(jobId)!
      assert.equal(record.status, 'done')
      assert.equal(record.receiptCid, outcome.cids.receipt)
      assert.ok(net.store!.events(jobId).some((e) => e.type === 'resumed'))
      const verified = await (
        await core.prover()
      ).verify({ receipt: outcome.receiptPath, imageId: outcome.imageId })
      assert.equal(verified.segments, 3)
    } finally {
      await net.stop()
    }
  })

  test('a prover restarted mid-job resumes its deal from its job store and finishes the work', async () => {
    let restarted: Promise<unknown> | undefined
    const { net, outcome } = await runJob('prover-restart', [{}], {
      claimTtlMs: 20_000,
      onEvent: (e, devnet) => {
        // The only prover dies as it starts its first segment and comes back on the same home.
        if (e.type === 'claim' && restarted === undefined) {
          devnet.provers[0]!.child.kill('SIGKILL')
          restarted = devnet.restartProver(0)
        }
      },
    })
    try {
      assert.ok(restarted !== undefined)
      await restarted
      const prover = net.provers[0]!
      assert.equal(
        outcome.credits.get(prover.peerId),
        3,
        'the same peer (same key) proved every segment',
      )
      const log = await readFile(prover.logFile, 'utf8')
      assert.match(log, /deal resumed/)
    } finally {
      await net.stop()
    }
  })
})
