// An embedded IPFS node: Helia on its own explicit libp2p configuration, persisted on disk.
//
// Built from parts on purpose: helia's `createHelia` and libp2p's `libp2pDefaults` add public bootstrap peers,
// delegated routing and HTTP gateways, which would dial outside addresses. This node has TCP on
// loopback, noise, yamux, identify and bitswap, and nothing else: no bootstrap, no mDNS, no DHT.
// It learns about peers only when someone dials it or it is told to dial a multiaddr.

import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight, type HeliaWithLibp2p } from '@helia/libp2p'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { FsBlockstore } from 'blockstore-fs'
import { FsDatastore } from 'datastore-fs'
import { createHeliaLight } from 'helia'
import { VerificationError } from '@wholesum/plugin-api'
import type { Identify } from '@libp2p/identify'
import type { AbortOptions } from '@libp2p/interface'
import type { Key } from 'interface-datastore'
import type { CID } from 'multiformats/cid'

export interface IpfsNodeOptions {
  /** Directory for the node's blocks (`blocks/`) and datastore (`datastore/`: pins, peer key). */
  readonly dir: string
  /** Listen addresses; loopback only by default. Anything outside 127.0.0.0/8 is refused. */
  readonly listen?: readonly string[]
  /** Re-hash every block read from disk (default true). Off only to test a peer's checks. */
  readonly verifyReads?: boolean
}

export type IpfsHelia = HeliaWithLibp2p<{ identify: Identify }>

export interface IpfsNode {
  readonly helia: IpfsHelia
  /** The node's listen multiaddrs with its peer ID, e.g. `/ip4/127.0.0.1/tcp/41234/p2p/12D3…`. */
  addresses(): string[]
  /** Dials a peer by multiaddr (must include /p2p/<peer id>); bitswap then asks it for blocks. */
  dial(address: string, options?: { signal?: AbortSignal }): Promise<void>
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

const SHA2_256 = 0x12
const IDENTITY = 0x00

/**
 * blockstore-fs trusts its own files. This one re-hashes every block it reads and throws
 * VerificationError when the bytes no longer match the CID (bit rot, a tampered file), so local
 * reads are checked like network fetches are. Blocks are at most a chunk plus a header (~256 KiB),
 * so each is read whole before it is checked and yielded.
 */
export class VerifyingFsBlockstore extends FsBlockstore {
  override async *get(key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    const parts: Uint8Array[] = []
    for await (const part of super.get(key, options)) parts.push(part)
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    const { code, digest } = key.multihash
    let ok: boolean
    if (code === SHA2_256) ok = createHash('sha256').update(bytes).digest().equals(digest)
    else if (code === IDENTITY) ok = Buffer.from(bytes).equals(digest)
    else throw new VerificationError(`block ${key}: unsupported hash 0x${code.toString(16)}`)
    if (!ok) throw new VerificationError(`block ${key} on disk does not match its CID`)
    yield bytes
  }
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

export async function startIpfsNode(options: IpfsNodeOptions): Promise<IpfsNode> {
  const listen = [...(options.listen ?? ['/ip4/127.0.0.1/tcp/0'])]
  listen.forEach(assertLoopback)
  const blocksDir = join(options.dir, 'blocks')
  const dataDir = join(options.dir, 'datastore')
  await mkdir(blocksDir, { recursive: true })
  await mkdir(dataDir, { recursive: true })

  const blockstore =
    options.verifyReads === false
      ? new FsBlockstore(blocksDir)
      : new VerifyingFsBlockstore(blocksDir)
  const datastore = new ClosableFsDatastore(dataDir)

  const helia = withBitswap(
    withLibp2pLight(createHeliaLight({ blockstore, datastore }), {
      addresses: { listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // No peerDiscovery, no dht, no relay, no autonat, no upnp: nothing dials on its own.
      peerDiscovery: [],
      services: { identify: identify() },
      connectionGater: {
        // Belt and braces: never dial anything outside loopback, whatever a peer announces.
        denyDialMultiaddr: (ma) => !LOOPBACK_TCP.test(ma.toString()),
      },
    }),
  ) as IpfsHelia
  await helia.start()

  return {
    helia,
    addresses: () => helia.libp2p.getMultiaddrs().map((ma) => ma.toString()),
    async dial(address, dialOptions) {
      assertLoopback(address)
      await helia.libp2p.dial(multiaddr(address), { signal: dialOptions?.signal })
    },
    async stop() {
      await helia.stop()
      datastore.seal()
    },
  }
}
