// The node as the app's one libp2p node: extra services, peer discovery and connection limits are
// added to the defaults, bitswap shares the connections, and the loopback guard stays.

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { bootstrap } from '@libp2p/bootstrap'
import { ping, PING_PROTOCOL } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { startIpfsNode, type IpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'
import { bytesOf, collect, MiB, removeDir, sha256, tempDir } from './fixtures/data.ts'

const BITSWAP_PROTOCOL = '/ipfs/bitswap/1.2.0'

async function withDir(label: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir(label)
  try {
    await fn(dir)
  } finally {
    await removeDir(dir)
  }
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  for (const started = performance.now(); !check(); await delay(20)) {
    if (performance.now() - started > ms) throw new Error(`timed out waiting for ${what}`)
  }
}

test('with nothing added, the node has identify (and its push) and bitswap only, and dials loopback only', async () => {
  await withDir('shared1', async (dir) => {
    const node = await startIpfsNode({ dir })
    try {
      assert.deepEqual(Object.keys(node.helia.libp2p.services), ['identify', 'identifyPush'])
      assert.deepEqual(
        node.helia.libp2p.getProtocols().filter((p) => !p.startsWith('/ipfs/id/')),
        [BITSWAP_PROTOCOL],
      )
      for (const address of node.addresses()) assert.match(address, /^\/ip4\/127\.0\.0\.1\/tcp\//)
      // The gater refuses, before any packet, an address outside loopback.
      const other = `/ip4/10.1.2.3/tcp/4001/p2p/${node.helia.libp2p.peerId}`
      await assert.rejects(
        node.helia.libp2p.dial(multiaddr(other), { signal: AbortSignal.timeout(5_000) }),
      )
      await assert.rejects(node.dial(other), /refusing non-loopback address/)
      await assert.rejects(
        startIpfsNode({ dir: join(dir, 'x'), listen: ['/ip4/0.0.0.0/tcp/0'] }),
        /non-loopback/,
      )
    } finally {
      await node.stop()
    }
  })
})

test('a node with an extra service (ping) pings a peer and fetches blocks from it by bitswap over the same connection', async () => {
  await withDir('shared2', async (dir) => {
    const a = await startIpfsNode({ dir: join(dir, 'a'), services: { ping: ping() } })
    const b = await startIpfsNode({ dir: join(dir, 'b'), services: { ping: ping() } })
    try {
      assert.deepEqual(Object.keys(a.helia.libp2p.services).sort(), [
        'identify',
        'identifyPush',
        'ping',
      ])
      const bytes = await bytesOf(4 * MiB, 21)
      const cid = await new IpfsStore(b).put(bytes, { pin: true })

      await a.dial(b.addresses()[0]!)
      const [connection] = a.helia.libp2p.getConnections(b.helia.libp2p.peerId)
      assert.ok(connection)

      // The service map is typed: `services.ping` needs no cast.
      const rtt = await a.helia.libp2p.services.ping.ping(b.helia.libp2p.peerId)
      assert.ok(rtt >= 0 && rtt < 5_000, `${rtt} ms`)
      assert.equal(sha256(await collect(new IpfsStore(a).get(cid))), sha256(bytes))
      assert.equal((await a.helia.libp2p.services.ping.ping(b.helia.libp2p.peerId)) >= 0, true)

      // One connection each way, the one that was dialled, carried both protocols.
      const now = a.helia.libp2p.getConnections(b.helia.libp2p.peerId)
      assert.deepEqual(
        now.map((c) => c.id),
        [connection.id],
      )
      assert.equal(b.helia.libp2p.getConnections(a.helia.libp2p.peerId).length, 1)
      const peer = await a.helia.libp2p.peerStore.get(b.helia.libp2p.peerId)
      assert.ok(peer.protocols.includes(PING_PROTOCOL), peer.protocols.join(' '))
      assert.ok(peer.protocols.includes(BITSWAP_PROTOCOL), peer.protocols.join(' '))
    } finally {
      await b.stop()
      await a.stop()
    }
  })
})

test('peer discovery modules are added: a node bootstrapped to a loopback peer finds it and fetches from it', async () => {
  await withDir('shared3', async (dir) => {
    const a = await startIpfsNode({ dir: join(dir, 'a') })
    let b: IpfsNode | undefined
    try {
      const bytes = await bytesOf(MiB, 22)
      const cid = await new IpfsStore(a).put(bytes, { pin: true })
      b = await startIpfsNode({
        dir: join(dir, 'b'),
        peerDiscovery: [bootstrap({ list: [a.addresses()[0]!], timeout: 0 })],
      })
      const node = b
      await until('the bootstrap peer', () => node.helia.libp2p.getConnections().length > 0)
      assert.equal(
        sha256(await collect(new IpfsStore(b, { timeoutMs: 5_000 }).get(cid))),
        sha256(bytes),
      )
    } finally {
      await b?.stop()
      await a.stop()
    }
  })
})

test('the bootstrapped peer fetches from the node that dialled it while starting (identify push)', async () => {
  // b dials a at once, before b's Helia has registered bitswap: a's identify of b lacked bitswap,
  // and without identify push a never asked b for anything (every get timed out).
  await withDir('shared3b', async (dir) => {
    const a = await startIpfsNode({ dir: join(dir, 'a') })
    let b: IpfsNode | undefined
    try {
      b = await startIpfsNode({
        dir: join(dir, 'b'),
        peerDiscovery: [bootstrap({ list: [a.addresses()[0]!], timeout: 0 })],
      })
      const bytes = await bytesOf(64 * 1024, 23)
      const cid = await new IpfsStore(b).put(bytes, { pin: true })
      const node = b
      await until('the bootstrap peer', () => node.helia.libp2p.getConnections().length > 0)
      assert.equal(
        sha256(await collect(new IpfsStore(a, { timeoutMs: 5_000 }).get(cid))),
        sha256(bytes),
      )
    } finally {
      await b?.stop()
      await a.stop()
    }
  })
})

test('connection manager limits are passed on: over maxConnections an inbound connection is refused', async () => {
  await withDir('shared4', async (dir) => {
    const hub = await startIpfsNode({
      dir: join(dir, 'hub'),
      connectionManager: { maxConnections: 1 },
    })
    const first = await startIpfsNode({ dir: join(dir, 'first') })
    const second = await startIpfsNode({ dir: join(dir, 'second') })
    try {
      await first.dial(hub.addresses()[0]!)
      await until('the first connection', () => hub.helia.libp2p.getConnections().length === 1)
      await second.dial(hub.addresses()[0]!).catch(() => {})
      await delay(300)
      assert.equal(hub.helia.libp2p.getConnections().length, 1)
      assert.equal(hub.helia.libp2p.getConnections(second.helia.libp2p.peerId).length, 0)
    } finally {
      await second.stop()
      await first.stop()
      await hub.stop()
    }
  })
})

test("a caller's connection gater is applied after the loopback rule", async () => {
  await withDir('shared5', async (dir) => {
    const a = await startIpfsNode({ dir: join(dir, 'a') })
    const denied = a.helia.libp2p.peerId.toString()
    const b = await startIpfsNode({
      dir: join(dir, 'b'),
      connectionGater: { denyDialPeer: (peer) => peer.toString() === denied },
    })
    try {
      await assert.rejects(b.dial(a.addresses()[0]!))
      assert.equal(b.helia.libp2p.getConnections().length, 0)
    } finally {
      await b.stop()
      await a.stop()
    }
  })
})
