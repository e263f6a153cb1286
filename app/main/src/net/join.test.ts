// The JOIN stage over the network: a client and three provers, real libp2p nodes on loopback, real
// Wire, ClientService and ProverService, real execution and real claims. What is NOT real here:
// the recursion circuit. No worker on these machines has it (its zip is only on risc0's S3, see
// docs/network.md), so the provers' lift/join and the client's succinct checks use RECURSION TEST DOUBLE
// below, whose "receipts" are JSON that carry a claim and prove nothing. This test checks the wire
// and the adapters around the circuit: join bit fields by round, join claims granted with their
// inputs, join notices, each join checked against risc0's ReceiptClaim::join of its inputs' claims
// (the claim arithmetic itself is checked against a real composite receipt in the devnet test), a
// lying joiner struck, and the last join finalized into the job's receipt.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  joinClaims,
  VerificationError,
  type ClaimParts,
  type ProverPlugin,
  type ReceiptFile,
} from '@wholesum/plugin-api'
import { openCore, REPO_ROOT, type Core } from '../core.ts'
import { createLogger } from '../log/logger.ts'
import { ClientService, type ClientEvent } from './client-service.ts'
import { startNetworkNode, type NetworkNode } from './node.ts'
import { ProverService } from './prover-service.ts'
import { proverSettings } from './prover-settings.ts'
import { Libp2pWire } from './wire.ts'

const GUESTS = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const PROGRAM = join(GUESTS, 'dist', 'hashchain.bin')
const INPUT = join(GUESTS, 'samples', 'hashchain-small.input')
const PO2 = 16

interface DoubleReceipt {
  readonly double: 'segment' | 'succinct' | 'final'
  /** Real receipts are randomised (zero knowledge): no two provers' receipts share a CID. */
  readonly nonce?: string
  readonly index?: number
  readonly claim?: ClaimParts
  readonly journalHex?: string
}

/**
 * RECURSION TEST DOUBLE: the real prover plugin for everything but the recursion circuit, whose
 * lift/join/verifySuccinct/finalizeSuccinct work on JSON receipts that state their claim. Proving
 * a segment is replaced too (it only names the segment), so that the test spends its time on the
 * network, not on proofs the double would throw away. A `liar` joins in the wrong order.
 */
/**
 * The claims of the job's segments, as the client's execution found them. Segment states are not
 * the same from one execution to the next (only the whole session's claim is), so every double in
 * this process reads the claims of the one execution the client made.
 */
const session: { claims: readonly ClaimParts[] } = { claims: [] }

class RecursionTestDouble implements ProverPlugin {
  private readonly real: ProverPlugin
  private readonly liar: boolean
  private readonly joinMs: number
  joins = 0

  constructor(real: ProverPlugin, options: { liar?: boolean; joinMs?: number } = {}) {
    this.real = real
    this.liar = options.liar === true
    this.joinMs = options.joinMs ?? 0
  }

  async capabilities() {
    return {
      ...(await this.real.capabilities()),
      recursion: true,
      notes: ['RECURSION TEST DOUBLE'],
    }
  }
  imageId = (program: string) => this.real.imageId(program)
  execute: ProverPlugin['execute'] = async (request) => {
    const executed = await this.real.execute(request)
    session.claims = executed.segments.map((s) => s.claim)
    return executed
  }
  verifySegment: ProverPlugin['verifySegment'] = (request) => this.real.verifySegment(request)
  inspectSegment: ProverPlugin['inspectSegment'] = (request) => this.real.inspectSegment(request)
  claimDigest: ProverPlugin['claimDigest'] = (claim) => this.real.claimDigest(claim)
  assemble: ProverPlugin['assemble'] = (request) => this.real.assemble(request)

  async proveSegment(request: { segment: string; out: string }) {
    // A risc0 segment's serde form starts with its index, a little-endian u32.
    const index = (await readFile(request.segment)).readUInt32LE(0)
    const bytes = await write(request.out, { double: 'segment', index })
    const claimDigest = await this.real.claimDigest(session.claims[index]!)
    return { index, po2: PO2, path: request.out, bytes, claimDigest, proveMs: 1 }
  }

  async lift(request: { receipt: string; out: string }): Promise<ReceiptFile> {
    const segment = await read(request.receipt)
    const claim = session.claims[segment.index!]!
    return { path: request.out, bytes: await write(request.out, { double: 'succinct', claim }) }
  }

  async join(request: { left: string; right: string; out: string }): Promise<ReceiptFile> {
    const [left, right] = [await read(request.left), await read(request.right)]
    if (left.claim!.post !== right.claim!.pre) throw new Error('the receipts are not adjacent')
    await new Promise((r) => setTimeout(r, this.joinMs))
    this.joins += 1
    const claim = this.liar
      ? joinClaims(right.claim!, left.claim!)
      : joinClaims(left.claim!, right.claim!)
    return { path: request.out, bytes: await write(request.out, { double: 'succinct', claim }) }
  }

  async verifySuccinct(request: { receipt: string; expectedClaim: ClaimParts }) {
    const receipt = await read(request.receipt).catch(() => undefined)
    if (
      receipt?.double !== 'succinct' ||
      !isDeepStrictEqual(receipt.claim, request.expectedClaim)
    ) {
      throw new VerificationError('the (double) succinct receipt does not prove the expected claim')
    }
    return { claimDigest: await this.real.claimDigest(receipt.claim!), verifyMs: 0 }
  }

  async finalizeSuccinct(request: { receipt: string; journal: string; out: string }) {
    const { claim } = await read(request.receipt)
    const journalHex = (await readFile(request.journal)).toString('hex')
    return {
      path: request.out,
      bytes: await write(request.out, { double: 'final', claim: claim!, journalHex }),
    }
  }

  async verify(request: { receipt: string; imageId: string; expectedJournal?: string }) {
    const receipt = await read(request.receipt)
    const whole = session.claims.reduce(joinClaims)
    if (receipt.double !== 'final' || !isDeepStrictEqual(receipt.claim, whole)) {
      throw new VerificationError('the (double) final receipt does not prove the whole session')
    }
    const journal = Buffer.from(receipt.journalHex!, 'hex')
    if (request.expectedJournal !== undefined) {
      assert.deepEqual(journal, await readFile(request.expectedJournal))
    }
    return {
      kind: 'succinct' as const,
      claimDigest: await this.real.claimDigest(whole),
      journal,
      exitCode: whole.exitCode,
      segments: 1,
      verifyMs: 0,
    }
  }
}

async function write(path: string, receipt: DoubleReceipt): Promise<number> {
  const bytes = Buffer.from(JSON.stringify({ ...receipt, nonce: randomBytes(8).toString('hex') }))
  await writeFile(path, bytes)
  return bytes.length
}
async function read(path: string): Promise<DoubleReceipt> {
  return JSON.parse(await readFile(path, 'utf8')) as DoubleReceipt
}

describe('the JOIN stage over the network (recursion circuit: a TEST DOUBLE)', () => {
  let dir: string
  let core: Core
  let real: ProverPlugin
  let segments: number
  const nodes: NetworkNode[] = []
  const services: { stop(): Promise<void> }[] = []
  const logger = createLogger({ level: 'warn' })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-join-'))
    core = await openCore({ home: join(dir, 'core'), logger })
    real = await core.prover()
    const executed = await real.execute({
      program: PROGRAM,
      input: INPUT,
      po2: PO2,
      outDir: join(dir, 'reference'),
    })
    segments = executed.segments.length
    assert.ok(segments >= 3, 'a job with at least two rounds of joins')
  })

  after(async () => {
    for (const s of services) await s.stop()
    for (const n of nodes) await n.stop()
    await core.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function network(name: string, provers: RecursionTestDouble[]) {
    const ids: string[] = []
    const clientNode = await startNetworkNode(join(dir, name, 'client'), { dht: false })
    nodes.push(clientNode)
    const client = new ClientService({
      wire: new Libp2pWire(clientNode, logger),
      storage: clientNode.storage,
      prover: new RecursionTestDouble(real),
      logger,
      workDir: join(dir, name, 'client-work'),
      offerWindowMs: 1000,
      claimTtlMs: 30_000,
    })
    await client.start()
    services.push(client)
    for (const [i, prover] of provers.entries()) {
      const node = await startNetworkNode(join(dir, name, `prover-${i}`), {
        dht: false,
        bootstrap: [clientNode.addresses()[0]!],
      })
      nodes.push(node)
      ids.push(node.peerId)
      const service = new ProverService({
        wire: new Libp2pWire(node, logger),
        storage: node.storage,
        prover,
        settings: proverSettings({}, { recursion: true, accelerator: 'cpu' }),
        logger,
        workDir: join(dir, name, `prover-${i}-work`),
        tickMs: 250,
      })
      service.start()
      services.push(service)
    }
    // Each prover sees the client on the need topic before the job is announced.
    for (let i = 0; i < 100; i++) {
      const subscribers = clientNode.libp2p.services.pubsub.getSubscribers('/wholesum/need/1')
      if (subscribers.length >= provers.length) break
      await new Promise((r) => setTimeout(r, 100))
    }
    return { client, ids }
  }

  async function submit(client: ClientService, events: ClientEvent[]) {
    return await client.submit({
      program: PROGRAM,
      input: INPUT,
      po2: PO2,
      rewardPerSegment: 100n,
      timeoutMs: 3 * 60_000,
      maxProvers: 3,
      receipt: 'succinct',
      onEvent: (e) => events.push(e),
    })
  }

  test('lifted segments are joined round by round into one succinct receipt', async () => {
    const provers = [0, 1, 2].map(() => new RecursionTestDouble(real))
    const { client } = await network('honest', provers)
    const events: ClientEvent[] = []
    const outcome = await submit(client, events)
    assert.equal(outcome.segments, segments)
    const joins = segments - 1 // a binary tree over n leaves has n - 1 inner nodes
    const joinCredits = [...outcome.joinCredits.values()].reduce((a, b) => a + b, 0)
    assert.equal(joinCredits, joins)
    assert.equal(
      provers.reduce((n, p) => n + p.joins, 0) >= joins,
      true,
      'every credited join was made by a prover',
    )
    const rounds = new Set(events.flatMap((e) => (e.type === 'join-credit' ? [e.round] : [])))
    assert.equal(rounds.size, Math.ceil(Math.log2(segments)), 'one round per tree level')
    const notice = events.find((e) => e.type === 'notice')
    assert.match((notice as { message: string }).message, /succinct receipt/)
    // The client ended with the finalized join, and checked it before it reported success.
    const verified = await new RecursionTestDouble(real).verify({
      receipt: outcome.receiptPath,
      imageId: outcome.imageId,
    })
    assert.equal(verified.kind, 'succinct')
    assert.ok((await stat(outcome.receiptPath)).size > 0)
  })

  test('a prover whose joins prove the wrong claim is struck; the honest one finishes the tree', async () => {
    // The liar is quick and the honest prover slow: with one pair open per round, the second
    // claim comes in the endgame, so both join every pair and the liar's lie always arrives first.
    const liar = new RecursionTestDouble(real, { liar: true })
    const honest = new RecursionTestDouble(real, { joinMs: 1500 })
    const { client, ids } = await network('liar', [liar, honest])
    const events: ClientEvent[] = []
    const outcome = await submit(client, events)
    assert.equal(
      [...outcome.joinCredits.values()].reduce((a, b) => a + b, 0),
      segments - 1,
    )
    assert.equal(outcome.joinCredits.get(ids[1]!), segments - 1, 'the honest prover')
    assert.equal(outcome.joinCredits.get(ids[0]!), undefined, 'the liar is credited no join')
    const strikes = events.filter((e) => e.type === 'join-strike')
    assert.ok(liar.joins >= 1 && strikes.length >= 1, 'the liar joined and was struck')
    for (const strike of strikes) {
      assert.equal((strike as { prover: string }).prover, ids[0])
      assert.match((strike as { reason: string }).reason, /does not prove the expected claim/)
    }
    assert.ok((outcome.strikes.get(ids[0]!) ?? 0) >= 1)
  })
})
