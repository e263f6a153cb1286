// Dialling one known peer: at the addresses we learnt for it (a need's `clientAddrs`), else by
// its peer ID through the peer store.

import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'

export async function dialPeer(
  libp2p: Libp2p,
  peerId: string,
  addrs: readonly string[] = [],
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const targets = addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peerId}`))
  await libp2p.dial(targets.length > 0 ? targets : peerIdFromString(peerId), options)
}
