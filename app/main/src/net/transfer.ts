// Files in and out of a storage plugin, streamed: nothing is buffered whole, and a download lands
// under its final name only once it is complete and within its size bound.

import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import {
  isWholesumError,
  ResourceLimitError,
  type CidString,
  type StoragePlugin,
} from '@wholesum/plugin-api'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'

export async function putFile(
  storage: StoragePlugin,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<CidString> {
  return await storage.put(createReadStream(path, { highWaterMark: 1 << 20 }), {
    pin: true,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  })
}

export async function fetchToFile(
  storage: StoragePlugin,
  cid: CidString,
  file: string,
  options: { maxBytes: number; signal?: AbortSignal; timeoutMs?: number },
): Promise<number> {
  // Unique: two deliveries of the same CID for the same item may be fetched at once.
  const partial = `${file}.${randomBytes(6).toString('hex')}.partial`
  let bytes = 0
  const source = storage.get(cid, {
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  })
  async function* bounded(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      bytes += chunk.byteLength
      if (bytes > options.maxBytes) {
        throw new ResourceLimitError(`${cid} is larger than the ${options.maxBytes}-byte limit`)
      }
      yield chunk
    }
  }
  try {
    await pipeline(bounded(), createWriteStream(partial))
    await rename(partial, file)
    return bytes
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
}

/** The one peer known to hold an object: its peer ID and any addresses learnt for it. */
export interface Holder {
  readonly peerId: string
  readonly addrs?: readonly string[]
}

/**
 * `fetchToFile` for an object one known peer holds (a segment blob at the client, a receipt at its
 * prover). If bitswap gets nothing within the idle timeout (seen after a restart: the old
 * connection's bitswap state went stale), the connection to that peer is dropped and dialled
 * afresh, and the fetch is tried once more. Other errors (too large, aborted) are final.
 */
export async function fetchFromHolder(
  storage: StoragePlugin,
  libp2p: Libp2p,
  holder: Holder,
  cid: CidString,
  file: string,
  options: {
    maxBytes: number
    signal?: AbortSignal
    timeoutMs?: number
    onRetry?: (error: Error) => void
  },
): Promise<number> {
  const fetch = (): Promise<number> => fetchToFile(storage, cid, file, options)
  try {
    return await fetch()
  } catch (err) {
    if (options.signal?.aborted === true || !(isWholesumError(err) && err.code === 'TIMEOUT')) {
      throw err
    }
    options.onRetry?.(err)
    const peer = peerIdFromString(holder.peerId)
    await libp2p.hangUp(peer).catch(() => {})
    const addrs = (holder.addrs ?? []).map((a) =>
      multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${holder.peerId}`),
    )
    const dialOptions = options.signal !== undefined ? { signal: options.signal } : {}
    await libp2p.dial(addrs.length > 0 ? addrs : peer, dialOptions).catch(() => {})
    return await fetch()
  }
}

/** Receipts are a few hundred KiB to a few MiB; nothing a prover delivers may be larger. */
const MAX_RECEIPT_BYTES = 64 * 1024 * 1024
/** A receipt transfer silent this long is retried once over a fresh connection, then fails. */
const RECEIPT_FETCH_IDLE_MS = 20_000

/**
 * A receipt a prover announced, fetched from that prover. A failure names the receipt: the
 * caller rejects the delivery with it.
 */
export async function fetchDeliveredReceipt(
  storage: StoragePlugin,
  libp2p: Libp2p,
  prover: string,
  receiptCid: CidString,
  file: string,
  onRetry?: (error: Error) => void,
): Promise<void> {
  await fetchFromHolder(storage, libp2p, { peerId: prover }, receiptCid, file, {
    maxBytes: MAX_RECEIPT_BYTES,
    timeoutMs: RECEIPT_FETCH_IDLE_MS,
    ...(onRetry !== undefined ? { onRetry } : {}),
  }).catch((err: Error) => {
    throw new Error(`receipt ${receiptCid} could not be fetched: ${err.message}`)
  })
}
