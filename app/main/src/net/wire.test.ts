import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decode, encode } from '@ipld/dag-cbor'
import { lpStream } from '@libp2p/utils'
import { createLogger } from '../log/logger.ts'
import { encodeSigned } from '../protocol/codec.ts'
import { encodeFrame } from '../protocol/framing.ts'
import { PROTOCOLS, pipelineTopic, type Message } from '../protocol/messages.ts'
import { startNetworkNode, type NetworkNode } from './node.ts'
import { GRAYLIST_THRESHOLD } from './peer-score.ts'
import { Libp2pWire } from './wire.ts'

/** Log lines captured per node, to show that every dropped message says why. */
function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = []
  return {
    lines,
    logger: createLogger({ level: 'warn', stream: { write: (l: string) => lines.push(l) } }),
  }
}

const job = 'a'.repeat(64)
const status = { jobId: job }
const topic = pipelineTopic(job)

describe('wire: signed messages over real libp2p nodes on loopback', () => {
  let dir: string
  let a: NetworkNode
  let b: NetworkNode
  let wireA: Libp2pWire
  let wireB: Libp2pWire
  const logB = capture()
  const gossipAtB: Message[] = []
  const requestsAtB: Message[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-wire-'))
    b = await startNetworkNode(join(dir, 'b'), { dht: false })
    a = await startNetworkNode(join(dir, 'a'), { dht: false, bootstrap: [b.addresses()[0]!] })
    wireA = new Libp2pWire(a, capture().logger)
    wireB = new Libp2pWire(b, logB.logger)
    wireB.subscribe(topic, (m) => gossipAtB.push(m))
    wireA.subscribe(topic, () => {})
    await wireB.handle(PROTOCOLS.status, async (m) => {
      requestsAtB.push(m)
      return {
        type: 'status-reply',
        body: { jobId: job, stage: 'prove', done: 1, total: 3, state: 'running' },
      }
    })
    // Wait until each side sees the other subscribed.
    for (let i = 0; i < 100 && a.libp2p.services.pubsub.getSubscribers(topic).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
    }
  })

  after(async () => {
    await a.stop()
    await b.stop()
    await rm(dir, { recursive: true, force: true })
  })

  test('a direct request gets a signed, checked reply', async () => {
    const reply = await wireA.request(b.peerId, PROTOCOLS.status, 'status', status)
    assert.equal(reply.type, 'status-reply')
    assert.equal(reply.from, b.peerId)
    assert.equal(requestsAtB.at(-1)!.from, a.peerId)
  })

  test('a gossiped bit field arrives signed by its sender', async () => {
    await wireA.publish(topic, 'bitfield', {
      jobId: job,
      stage: 'prove',
      round: 0,
      total: 3,
      bits: Uint8Array.of(0b101),
      endgame: false,
    })
    for (let i = 0; i < 50 && gossipAtB.length === 0; i++)
      await new Promise((r) => setTimeout(r, 100))
    assert.equal(gossipAtB.length, 1)
    assert.equal(gossipAtB[0]!.from, a.peerId)
  })

  /** Sends raw bytes on the status protocol and returns whether any reply came back. */
  async function rawRequest(bytes: Uint8Array): Promise<boolean> {
    const stream = await a.libp2p.dialProtocol(b.libp2p.peerId, PROTOCOLS.status)
    const lp = lpStream(stream)
    await lp.write(bytes)
    try {
      await lp.read({ signal: AbortSignal.timeout(3000) })
      return true
    } catch {
      return false
    }
  }

  test('malformed, unsigned, mis-signed, wrong-sender and replayed messages are dropped with a log line', async () => {
    const before = requestsAtB.length
    const now = Date.now()
    const stranger = await generateKeyPair('Ed25519')
    const good = encodeSigned('status', status, { privateKey: a.peerKey, seq: now * 1000 + 7, now })
    const cases: [string, Uint8Array][] = [
      ['malformed', Uint8Array.of(0xff, 0x00, 0x13)],
      [
        'unsigned',
        encode({
          v: 1,
          type: 'status',
          from: a.peerId,
          seq: now * 1000 + 1,
          ts: now,
          body: status,
        }),
      ],
      // Signed by a key that is not the sender's: its signature does not verify for `from`.
      [
        'mis-signed',
        (() => {
          const forged = encodeSigned('status', status, {
            privateKey: stranger,
            seq: now * 1000 + 2,
            now,
          })
          return forged
        })(),
      ],
    ]
    for (const [name, bytes] of cases) {
      assert.equal(await rawRequest(bytes), false, `${name} got a reply`)
    }
    assert.equal(await rawRequest(good), true, 'the genuine message is answered')
    assert.equal(await rawRequest(good), false, 'the same bytes again are a replay')
    assert.equal(requestsAtB.length, before + 1, 'only the genuine message reached the handler')
    const dropped = logB.lines
      .filter((l) => l.includes('message dropped'))
      .map((l) => JSON.parse(l).fields.code)
    assert.ok(dropped.includes('malformed'), `codes: ${dropped}`)
    assert.ok(dropped.includes('unsigned') || dropped.includes('bad-schema'), `codes: ${dropped}`)
    assert.ok(
      dropped.includes('wrong-sender') || dropped.includes('bad-signature'),
      `codes: ${dropped}`,
    )
    assert.ok(dropped.includes('duplicate') || dropped.includes('replay'), `codes: ${dropped}`)
  })

  test('an oversized frame is refused before it is decoded', async () => {
    assert.equal(await rawRequest(new Uint8Array(300 * 1024)), false)
  })

  /** A genuine status request from A, with a seq of its own. */
  const genuine = (n: number) => {
    const now = Date.now()
    return encodeSigned('status', status, { privateKey: a.peerKey, seq: now * 1000 + 500 + n, now })
  }

  test("a frame over the protocol's 2048-byte cap is refused from its length prefix, body withheld", async () => {
    const stream = await a.libp2p.dialProtocol(b.libp2p.peerId, PROTOCOLS.status)
    // A length prefix of 2049 (0x81 0x10) and no body: B must not wait for one.
    stream.send(Uint8Array.of(0x81, 0x10))
    const lp = lpStream(stream)
    const outcome = await lp.read({ signal: AbortSignal.timeout(10_000) }).then(
      () => 'a reply',
      (err: Error) => err.name,
    )
    assert.notEqual(outcome, 'a reply')
    assert.notEqual(outcome, 'TimeoutError', 'B kept the stream open waiting for the body')
    assert.ok(
      logB.lines.some((l) => l.includes('direct stream failed') && l.includes('2049 > 2048')),
    )
    // 2048 bytes is the cap, not more: a frame just under it is read and judged on its bytes.
    assert.equal(await rawRequest(new Uint8Array(2048)), false)
  })

  test('a request followed by trailing bytes, or by a second frame, is not answered', async () => {
    const before = requestsAtB.length
    const framed = (bytes: Uint8Array) => encodeFrame(bytes, 2048)
    for (const [k, extra] of [Uint8Array.of(0), framed(genuine(2))].entries()) {
      const stream = await a.libp2p.dialProtocol(b.libp2p.peerId, PROTOCOLS.status)
      const frame = framed(genuine(3 + k))
      const joined = new Uint8Array(frame.length + extra.length)
      joined.set(frame)
      joined.set(extra, frame.length)
      stream.send(joined)
      const answered = await lpStream(stream)
        .read({ signal: AbortSignal.timeout(5_000) })
        .then(
          () => true,
          () => false,
        )
      assert.equal(answered, false, `answered with ${extra.length} bytes after the frame`)
    }
    assert.equal(requestsAtB.length, before, 'the handler never ran')
    assert.ok(logB.lines.some((l) => l.includes('bytes after the request frame')))
  })

  test('seq is never below ts × 1000 and always increases, even when the clock goes back', async () => {
    const times = [5_000_000, 5_000_000, 4_999_990, 5_000_020]
    let i = 0
    const wire = new Libp2pWire(a, capture().logger, () => times[Math.min(i++, times.length - 1)]!)
    const envelopes = times.map(
      () => decode(wire.sign('status', status)) as { seq: number; ts: number },
    )
    for (const [k, e] of envelopes.entries()) {
      assert.ok(e.seq >= e.ts * 1000, `seq ${e.seq} below ts ${e.ts} × 1000`)
      if (k > 0) assert.ok(e.seq > envelopes[k - 1]!.seq, 'strictly increasing')
    }
  })

  test("on a job's topic, a validly signed message from anyone but the job's client is rejected", async () => {
    const otherJob = 'd'.repeat(64)
    const jobTopic = pipelineTopic(otherJob)
    const stranger = await generateKeyPair('Ed25519')
    const client = peerIdFromPrivateKey(stranger).toString()
    const delivered: Message[] = []
    wireB.subscribe(jobTopic, (m) => delivered.push(m), { author: client })
    wireA.subscribe(jobTopic, () => {})
    for (let i = 0; i < 100 && a.libp2p.services.pubsub.getSubscribers(jobTopic).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100))
    await wireA.publish(jobTopic, 'bitfield', {
      jobId: otherJob,
      stage: 'prove',
      round: 0,
      total: 3,
      bits: Uint8Array.of(0b1),
      endgame: false,
    })
    for (let i = 0; i < 50 && !logB.lines.some((l) => l.includes('wrong-author')); i++)
      await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(delivered, [])
    assert.ok(logB.lines.some((l) => l.includes('"code":"wrong-author"')))
  })
})

describe('gossip is validated before it is forwarded (three nodes in a line: A – B – C)', () => {
  let dir: string
  let a: NetworkNode
  let b: NetworkNode
  let c: NetworkNode
  let wireA: Libp2pWire
  const logB = capture()
  const logC = capture()
  const atB: Message[] = []
  const atC: Message[] = []
  /** The gossipsub implementation's own view (not in its exported interface). */
  const router = (node: NetworkNode) =>
    node.libp2p.services.pubsub as unknown as {
      getMeshPeers(topic: string): string[]
      getScore(peer: string): number
    }
  /** C checks whatever reaches it: any line here means B forwarded something it should not. */
  const droppedAtC = () => logC.lines.filter((l) => l.includes('message dropped'))
  const bitfield = (round: number) => ({
    jobId: job,
    stage: 'prove' as const,
    round,
    total: 3,
    bits: Uint8Array.of(0b011),
    endgame: false,
  })
  const settle = async (ms = 1500) => await new Promise((r) => setTimeout(r, ms))
  /** B's score of A once `wanted` holds of it, or after 10 s, whichever comes first. */
  const scoreAtB = async (wanted: (score: number) => boolean): Promise<number> => {
    let score = router(b).getScore(a.peerId)
    for (let i = 0; i < 200 && !wanted(score); i++) {
      await settle(50)
      score = router(b).getScore(a.peerId)
    }
    return score
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-gossip-'))
    b = await startNetworkNode(join(dir, 'b'), { dht: false })
    a = await startNetworkNode(join(dir, 'a'), { dht: false, bootstrap: [b.addresses()[0]!] })
    c = await startNetworkNode(join(dir, 'c'), { dht: false, bootstrap: [b.addresses()[0]!] })
    wireA = new Libp2pWire(a, capture().logger)
    new Libp2pWire(b, logB.logger).subscribe(topic, (m) => atB.push(m))
    new Libp2pWire(c, logC.logger).subscribe(topic, (m) => atC.push(m))
    wireA.subscribe(topic, () => {})
    // B forwards to its mesh: wait until C (and A) are grafted there.
    const meshOfB = () => router(b).getMeshPeers(topic).map(String)
    for (let i = 0; i < 100 && !(meshOfB().includes(c.peerId) && meshOfB().includes(a.peerId)); i++)
      await settle(100)
    assert.equal(a.libp2p.getConnections(c.libp2p.peerId).length, 0, 'A and C are not connected')
  })

  after(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()])
    await rm(dir, { recursive: true, force: true })
  })

  test('a valid message from A reaches C through B', async () => {
    await wireA.publish(topic, 'bitfield', bitfield(1))
    for (let i = 0; i < 50 && atC.length === 0; i++) await settle(100)
    assert.equal(atC.length, 1)
    assert.equal(atC[0]!.from, a.peerId)
  })

  test('a replay of genuine bytes is ignored at B: not delivered, not forwarded, A not blamed', async () => {
    const bytes = wireA.sign('bitfield', bitfield(2))
    await a.libp2p.services.pubsub.publish(topic, bytes)
    await settle()
    const [b0, c0] = [atB.length, atC.length]
    await a.libp2p.services.pubsub.publish(topic, bytes) // a new gossipsub message
    await settle()
    assert.equal(atB.length, b0)
    assert.equal(atC.length, c0)
    assert.ok(logB.lines.some((l) => /"code":"(duplicate|replay)"/.test(l)))
    assert.deepEqual(droppedAtC(), [], 'B forwarded the replay')
    assert.ok(router(b).getScore(a.peerId) >= 0, 'ignored, not penalised')
  })

  test("a genuine bit field of another job on this job's topic is rejected as wrong-topic", async () => {
    const [b0, c0] = [atB.length, atC.length]
    const elsewhere = { ...bitfield(4), jobId: 'b'.repeat(64) }
    await a.libp2p.services.pubsub.publish(topic, wireA.sign('bitfield', elsewhere))
    await settle()
    assert.equal(atB.length, b0)
    assert.equal(atC.length, c0)
    assert.deepEqual(droppedAtC(), [])
    assert.ok(logB.lines.some((l) => l.includes('"code":"wrong-topic"')))
  })

  test('only wholesum topics can be followed; unsubscribing stops deliveries', async () => {
    assert.throws(() => wireA.subscribe('/some/other/topic', () => {}), /not a wholesum topic/)
    assert.throws(() => wireA.subscribe(pipelineTopic('not-a-job'), () => {}), /not a wholesum/)
    const wireC = new Libp2pWire(c, capture().logger)
    const other = pipelineTopic('c'.repeat(64))
    assert.equal(wireC.follows(other), false)
    wireC.subscribe(other, () => {})
    assert.equal(wireC.follows(other), true)
    wireC.unsubscribe(other)
    assert.equal(wireC.follows(other), false)
    assert.ok(!c.libp2p.services.pubsub.getTopics().includes(other))
  })

  test('garbage and forgeries are rejected at B: C never sees them, and A is graylisted', async () => {
    // The wrong-topic test above got A graylisted for a few seconds; start from good standing.
    await scoreAtB((score) => score >= GRAYLIST_THRESHOLD)
    const [b0, c0] = [atB.length, atC.length]
    const stranger = await generateKeyPair('Ed25519')
    const now = Date.now()
    const forged = encodeSigned('bitfield', bitfield(3), {
      privateKey: stranger,
      seq: now * 1000,
      now,
    })
    await a.libp2p.services.pubsub.publish(topic, Uint8Array.of(0xff, 0x00, 0x13))
    await a.libp2p.services.pubsub.publish(topic, forged)
    // B's validator rejects both asynchronously; wait for the score to say so (two invalid
    // messages keep A under the threshold for 8–9 s, far longer than this wait needs).
    const score = await scoreAtB((score) => score < GRAYLIST_THRESHOLD)
    assert.ok(score < GRAYLIST_THRESHOLD, `B scores A ${score}: below the graylist threshold`)
    await settle()
    assert.equal(atB.length, b0)
    assert.equal(atC.length, c0)
    assert.deepEqual(droppedAtC(), [], 'B forwarded what it should have rejected')
    const codes = logB.lines
      .filter((l) => l.includes('message dropped'))
      .map((l) => JSON.parse(l).fields.code)
    assert.ok(codes.includes('malformed'), `codes: ${codes}`)
    assert.ok(codes.includes('wrong-sender') || codes.includes('bad-signature'), `codes: ${codes}`)
  })
})
