// An embedded IPFS node: Helia on its own explicit libp2p configuration, persisted on disk.
//
// Built from parts on purpose: helia's `createHelia` and libp2p's `libp2pDefaults` add public bootstrap peers,
// delegated routing and HTTP gateways, which would dial outside addresses. By default this node has
// TCP on loopback, noise, yamux, identify and bitswap, and nothing else: no bootstrap, no mDNS, no
// DHT. It learns about peers only when someone dials it or it is told to dial a multiaddr. The app
// can make it its one libp2p node by adding services (gossipsub, kad-dht, its own protocols), peer
// discovery and connection limits; the loopback guard and the connection gater stay.

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight, type HeliaWithLibp2p } from '@helia/libp2p'
import { identify, identifyPush } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { FsDatastore } from 'datastore-fs'
import { createHeliaLight } from 'helia'
import { BlockSpace, type GcResult, type SpaceUsage } from './blockspace.ts'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { AbortOptions, ConnectionGater, PrivateKey, ServiceMap } from '@libp2p/interface'
import type { Key } from 'interface-datastore'
import type { Libp2pOptions, ServiceFactoryMap } from 'libp2p'

/** The services every node has; a caller's services are added to these. */
export interface BaseServices extends ServiceMap {
  identify: Identify
  identifyPush: IdentifyPush
}

export interface IpfsNodeOptions<S extends ServiceMap = ServiceMap> {
  /** Directory for the node's blocks (`blocks/`) and datastore (`datastore/`: pins, peer key). */
  readonly dir: string
  /** Listen addresses; loopback only by default. Anything outside 127.0.0.0/8 is refused. */
  readonly listen?: readonly string[]
  /** Re-hash every block read from disk (default true). Off only to test a peer's checks. */
  readonly verifyReads?: boolean
  /** The node's key (its peer ID). Default: one created once and kept in `datastore/`. */
  readonly privateKey?: PrivateKey
  /**
   * Limit on the bytes of block files under `blocks/` (default: none). A write that would pass it
   * runs garbage collection first, then fails with ResourceLimitError. Changeable later through
   * `setQuota`.
   */
  readonly quotaBytes?: number
  /**
   * libp2p services added to `identify` (bitswap is Helia's, not a service): gossipsub, kad-dht,
   * ping, the app's protocols. A service named `identify` replaces the default one.
   */
  readonly services?: ServiceFactoryMap<S>
  /** Peer discovery modules (default none). Whatever they find is dialed only on loopback. */
  readonly peerDiscovery?: Libp2pOptions['peerDiscovery']
  /** Connection manager limits (maxConnections, dialTimeout, ...); libp2p's defaults otherwise. */
  readonly connectionManager?: Libp2pOptions['connectionManager']
  /**
   * More gating, applied after the loopback rule: a dial or connection that the loopback rule
   * allows can still be denied here, never the other way round.
   */
  readonly connectionGater?: ConnectionGater
}

export type IpfsHelia<S extends ServiceMap = ServiceMap> = HeliaWithLibp2p<BaseServices & S>

export interface IpfsNode<S extends ServiceMap = ServiceMap> {
  readonly helia: IpfsHelia<S>
  /** The node's listen multiaddrs with its peer ID, e.g. `/ip4/127.0.0.1/tcp/41234/p2p/12D3…`. */
  addresses(): string[]
  /** Dials a peer by multiaddr (must include /p2p/<peer id>); bitswap then asks it for blocks. */
  dial(address: string, options?: { signal?: AbortSignal }): Promise<void>
  /** Deletes every block that no pin holds and no put or pin in progress touched. */
  gc(): Promise<GcResult>
  /** Bytes and blocks under `blocks/`, and the quota. */
  usage(): SpaceUsage
  /** Sets or clears (undefined) the quota on `blocks/`. */
  setQuota(quotaBytes: number | undefined): void
  stop(): Promise<void>
}

const LOOPBACK_TCP = /^\/ip4\/127\.\d{1,3}\.\d{1,3}\.\d{1,3}\/tcp\/\d{1,5}(\/|$)/

function assertLoopback(address: string): void {
  if (!LOOPBACK_TCP.test(address)) {
    throw new Error(
      `refusing non-loopback address ${address}: this node only uses 127.0.0.0/8 over TCP`,
    )
  }
}

function assertQuota(quotaBytes: number | undefined): void {
  if (quotaBytes !== undefined && !(Number.isSafeInteger(quotaBytes) && quotaBytes >= 0)) {
    throw new RangeError(`quotaBytes must be a non-negative integer, not ${quotaBytes}`)
  }
}

/** The block space of each Helia this module started, so a store built from `helia` finds it. */
const spaces = new WeakMap<object, BlockSpace>()

/** The block space (accounting, quota, guards, gc) behind a Helia started by `startIpfsNode`. */
export function blockSpaceOf(helia: object): BlockSpace | undefined {
  return spaces.get(helia)
}

/**
 * A datastore that drops writes once the node is stopped. libp2p 3's address manager updates the
 * self peer record through a 1 s debounce that `stop()` does not cancel, so about a second after
 * `helia.stop()` resolves it writes `datastore/peers/<self>.data` again, recreating the directory
 * if the host removed it. Writes after stop are dropped (that record is rebuilt on every start).
 */
export class ClosableFsDatastore extends FsDatastore {
  private closed = false
  seal(): void {
    this.closed = true
  }
  override async put(key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    if (this.closed) return key
    return await super.put(key, val, options)
  }
  override async delete(key: Key, options?: AbortOptions): Promise<void> {
    if (this.closed) return
    await super.delete(key, options)
  }
}

export async function startIpfsNode<S extends ServiceMap = ServiceMap>(
  options: IpfsNodeOptions<S>,
): Promise<IpfsNode<S>> {
  const listen = [...(options.listen ?? ['/ip4/127.0.0.1/tcp/0'])]
  listen.forEach(assertLoopback)
  assertQuota(options.quotaBytes)
  const blocksDir = join(options.dir, 'blocks')
  const dataDir = join(options.dir, 'datastore')
  await mkdir(blocksDir, { recursive: true })
  await mkdir(dataDir, { recursive: true })

  const blockstore = new BlockSpace(blocksDir, {
    verifyReads: options.verifyReads !== false,
    ...(options.quotaBytes !== undefined ? { quotaBytes: options.quotaBytes } : {}),
  })
  await blockstore.scan()
  const datastore = new ClosableFsDatastore(dataDir)
  const gater = options.connectionGater ?? {}

  // identifyPush: Helia registers bitswap after libp2p has started, so a peer that connected in
  // between (a bootstrap dial, at once) was told a protocol list without bitswap and never asked
  // us for blocks. The push tells connected peers when our protocols change.
  const services = {
    identify: identify(),
    identifyPush: identifyPush({ debounce: 250 }),
    ...options.services,
  } as ServiceFactoryMap<BaseServices & S>
  const helia = withBitswap(
    withLibp2pLight(createHeliaLight({ blockstore, datastore }), {
      ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
      addresses: { listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // By default no peerDiscovery, no dht, no relay, no autonat, no upnp: nothing dials on its own.
      peerDiscovery: [...(options.peerDiscovery ?? [])],
      ...(options.connectionManager !== undefined
        ? { connectionManager: options.connectionManager }
        : {}),
      services,
      connectionGater: {
        ...gater,
        // Belt and braces: never dial anything outside loopback, whatever a peer announces.
        denyDialMultiaddr: async (ma) =>
          !LOOPBACK_TCP.test(ma.toString()) || (await gater.denyDialMultiaddr?.(ma)) === true,
      },
    }),
    // Helia's bitswap keeps a block it sent in the peer's ledger as 'sent' for this window and
    // swallows a new want for it meanwhile; the stale entry goes only when the next message from
    // that peer arrives, after the want was swallowed. A peer that dropped the block (gc, a failed
    // pin, the quota) and asks again got nothing until its timeout, whatever the wait (seen with
    // the default 5000 ms). With 0 the entry is gone by the peer's next message.
    { doNotResendBlockWindow: 0 },
  )
  blockstore.isPinned = (cid) => helia.pins.isPinned(cid)
  spaces.set(helia, blockstore)
  await helia.start()

  return {
    helia,
    addresses: () => helia.libp2p.getMultiaddrs().map((ma) => ma.toString()),
    async dial(address, dialOptions) {
      assertLoopback(address)
      await helia.libp2p.dial(multiaddr(address), { signal: dialOptions?.signal })
    },
    gc: () => blockstore.gc(),
    usage: () => blockstore.usage(),
    setQuota(quotaBytes) {
      assertQuota(quotaBytes)
      blockstore.quotaBytes = quotaBytes
    },
    async stop() {
      await helia.stop()
      datastore.seal()
    },
  }
}
