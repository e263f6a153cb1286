// The app's one libp2p node: TCP, noise, yamux, identify, ping, gossipsub, kad-dht, bootstrap and
// (optionally) mDNS, with Helia's bitswap on the same node, so IPFS and our protocols share peers,
// connections and the peer key.

import { join } from 'node:path'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { kadDHT, removePublicAddressesMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping, type Ping } from '@libp2p/ping'
import type { Identify } from '@libp2p/identify'
import type { Ed25519PrivateKey, Libp2p } from '@libp2p/interface'
import { IpfsStore, startIpfsNode, type IpfsNode } from '@wholesum/storage-ipfs'
import { TOPICS } from '../protocol/messages.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'
import { GRAYLIST_THRESHOLD, TOPIC_SCORE } from './peer-score.ts'

export interface NetworkSettings {
  /** Listen multiaddrs; loopback by default (the embedded store refuses anything else). */
  readonly listen?: readonly string[]
  /** Multiaddrs (with /p2p/<id>) dialled at start and kept connected. */
  readonly bootstrap?: readonly string[]
  /**
   * mDNS multicasts to 224.0.0.251 on the LAN. Off by default: devnets and tests stay on
   * loopback, and a desktop user turns it on to find provers on their own network.
   */
  readonly mdns?: boolean
  /** Peer routing and discovery on a private DHT protocol (on by default). */
  readonly dht?: boolean
  readonly maxConnections?: number
  /** Idle timeout of bitswap/network reads (ms). */
  readonly storageTimeoutMs?: number
  /** Limit on the embedded store's block bytes (default: none). */
  readonly quotaBytes?: number
}

export type NetworkServices = {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht?: KadDHT
}

export interface NetworkNode {
  readonly libp2p: Libp2p<NetworkServices>
  readonly peerKey: Ed25519PrivateKey
  readonly peerId: string
  readonly storage: IpfsStore
  addresses(): string[]
  stop(): Promise<void>
}

/**
 * Scores a topic joined after start (a job's own topic) like the fixed ones. js-libp2p gossipsub
 * takes topic score parameters only at construction (go-libp2p has SetTopicScoreParams), so the
 * entry is added to the live parameters, which its scoring reads on every update.
 */
export function scoreTopic(node: NetworkNode, topic: string): void {
  const router = node.libp2p.services.pubsub as unknown as {
    score?: { params?: { topics?: Record<string, unknown> } }
  }
  const topics = router.score?.params?.topics
  if (topics !== undefined && topics[topic] === undefined) topics[topic] = TOPIC_SCORE
}

/** Our DHT speaks its own protocol ID: it must never merge with the public IPFS DHT. */
export const DHT_PROTOCOL = '/wholesum/kad/1.0.0'

export async function startNetworkNode(
  dir: string,
  settings: NetworkSettings = {},
): Promise<NetworkNode> {
  const peerKey = await loadOrCreatePeerKey(join(dir, 'peer.key'))
  const peerDiscovery = [
    ...((settings.bootstrap ?? []).length > 0
      ? [bootstrap({ list: [...settings.bootstrap!], timeout: 0 })]
      : []),
    ...(settings.mdns === true ? [mdns()] : []),
  ]
  const services = {
    ping: ping(),
    pubsub: gossipsub({
      // Small devnets have fewer peers than a mesh wants; publish to every subscriber anyway.
      allowPublishToZeroTopicPeers: true,
      floodPublish: true,
      emitSelf: false,
      scoreParams: {
        topics: { [TOPICS.need]: TOPIC_SCORE },
      },
      scoreThresholds: { graylistThreshold: GRAYLIST_THRESHOLD },
    }),
    ...(settings.dht !== false
      ? {
          dht: kadDHT({
            protocol: DHT_PROTOCOL,
            clientMode: false,
            // A private, loopback/LAN network: keep private addresses, drop public ones.
            peerInfoMapper: removePublicAddressesMapper,
          }),
        }
      : {}),
  }

  const ipfs: IpfsNode = await startIpfsNode({
    dir: join(dir, 'ipfs'),
    privateKey: peerKey,
    ...(settings.listen !== undefined ? { listen: settings.listen } : {}),
    services,
    peerDiscovery,
    connectionManager: { maxConnections: settings.maxConnections ?? 300 },
    ...(settings.quotaBytes !== undefined ? { quotaBytes: settings.quotaBytes } : {}),
  })
  const libp2p = ipfs.helia.libp2p as unknown as Libp2p<NetworkServices>
  const storage = new IpfsStore(
    ipfs.helia,
    settings.storageTimeoutMs !== undefined ? { timeoutMs: settings.storageTimeoutMs } : {},
  )
  return {
    libp2p,
    peerKey,
    peerId: libp2p.peerId.toString(),
    storage,
    addresses: () => ipfs.addresses(),
    stop: () => ipfs.stop(),
  }
}
