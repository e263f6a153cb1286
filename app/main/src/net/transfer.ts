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
import type { Wire } from './wire.ts'

/** What a transfer needs of the network: to reconnect to the holder when bitswap went quiet. */
export type Redial = Pick<Wire, 'redial'>

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
  peers: Redial,
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
    const dialOptions = options.signal !== undefined ? { signal: options.signal } : {}
    await peers.redial(holder.peerId, holder.addrs, dialOptions).catch(() => {})
    return await fetch()
  }
}

/** Receipts are a few hundred KiB to a few MiB; nothing a prover delivers may be larger. */
const MAX_RECEIPT_BYTES = 64 * 1024 * 1024
/** A receipt transfer silent this long is retried once over a fresh connection, then fails. */
const RECEIPT_FETCH_IDLE_MS = 20_000

/**
 * A receipt fetched from the peer known to hold it: a delivery from its prover, or a join's input
 * from the client that verified it. A failure names the receipt.
 */
export async function fetchReceipt(
  storage: StoragePlugin,
  peers: Redial,
  holder: Holder,
  receiptCid: CidString,
  file: string,
  options: { signal?: AbortSignal; onRetry?: (error: Error) => void } = {},
): Promise<void> {
  await fetchFromHolder(storage, peers, holder, receiptCid, file, {
    maxBytes: MAX_RECEIPT_BYTES,
    timeoutMs: RECEIPT_FETCH_IDLE_MS,
    ...options,
  }).catch((err: Error) => {
    throw new Error(`receipt ${receiptCid} could not be fetched: ${err.message}`)
  })
}

export type CheckOutcome = { ok: true } | { ok: false; reason: string }

/**
 * A delivered receipt, fetched from its prover and handed to `check` (a verification that throws
 * when the receipt is not what it must be). Either failure is the delivery's: it becomes the
 * reason of a rejection, never an exception.
 */
export async function checkDeliveredReceipt(
  storage: StoragePlugin,
  peers: Redial,
  prover: string,
  receiptCid: CidString,
  file: string,
  check: (file: string) => Promise<unknown>,
  options: { onRetry?: (error: Error) => void } = {},
): Promise<CheckOutcome> {
  try {
    await fetchReceipt(storage, peers, { peerId: prover }, receiptCid, file, options)
    await check(file)
    return { ok: true }
  } catch (err) {
    return { ok: false, reason: (err as Error).message }
  }
}
