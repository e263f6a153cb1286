// Parses CIDs and recomputes the CID of a byte stream with the DAG settings Kubo's `ipfs add` uses.
//
// Lighthouse's upload node speaks Kubo's `/api/v0/add`, so the CID it returns for our bytes is the
// root of a UnixFS DAG built with Kubo's defaults. Rebuilding that DAG from the bytes (hashing only,
// nothing stored) is how this plugin checks both what Lighthouse returned on put and what a gateway
// served on get. The settings are the ones storage-ipfs uses (checked there against Debian's
// `ipfs_cid`); they are restated here because a plugin may not import another plugin.

import { InvalidInputError } from '@wholesum/plugin-api'
import { importByteStream, type ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'

/** Kubo's `ipfs add` defaults: 256 KiB fixed chunks, balanced layout, at most 174 links a node. */
export const KUBO_CHUNK_SIZE = 262_144
export const KUBO_MAX_CHILDREN = 174

const DAG_PB = 0x70
const RAW = 0x55
const SHA2_256 = 0x12

/**
 * The importer settings that reproduce Kubo: `ipfs add` (CIDv0, leaves are dag-pb UnixFS nodes)
 * or `ipfs add --cid-version=1`, which in Kubo implies `--raw-leaves` (Lighthouse's own SDK
 * uploads with cid-version 1 unless told otherwise, so a CIDv1 from Lighthouse is of this kind).
 */
export function kuboImportOptions(cidVersion: 0 | 1): ImporterOptions {
  return {
    cidVersion,
    rawLeaves: cidVersion === 1,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: KUBO_CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: KUBO_MAX_CHILDREN }),
  }
}

/** A CID string, parsed; anything else is InvalidInputError (the value is echoed, it is no secret). */
export function parseCid(cid: unknown): CID {
  if (typeof cid !== 'string' || cid.length === 0) {
    throw new InvalidInputError('INVALID_INPUT', `not a CID: ${JSON.stringify(cid)}`)
  }
  try {
    return CID.parse(cid)
  } catch (err) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `not a CID: ${JSON.stringify(cid)} (${(err as Error).message})`,
      { cause: err },
    )
  }
}

/**
 * Which Kubo settings a CID can be checked against, or InvalidInputError for a CID this plugin
 * cannot recompute (another hash function, a codec that is not a UnixFS file). A CIDv1 is assumed
 * to come from `--cid-version=1` (raw leaves); a CIDv1 made by converting a CIDv0 is not verifiable
 * this way and would be reported as a mismatch (documented in docs/storage.md).
 */
export function verifiableVersion(cid: CID): 0 | 1 {
  if (cid.version === 0) return 0
  if ((cid.code === DAG_PB || cid.code === RAW) && cid.multihash.code === SHA2_256) return 1
  throw new InvalidInputError(
    'INVALID_INPUT',
    `cannot verify ${cid.toString()}: only sha2-256 UnixFS CIDs (dag-pb or raw) can be recomputed`,
  )
}

/**
 * The CID of `source` under Kubo's settings, and Kubo's `Size` (the cumulative size of the DAG).
 * Blocks are hashed and dropped: the importer needs somewhere to put them, and keeping a 64 MiB
 * object's blocks in memory only to throw them away would cost 64 MiB.
 */
export async function cidOfStream(
  source: AsyncIterable<Uint8Array>,
  cidVersion: 0 | 1,
): Promise<{ cid: CID; dagSize: bigint }> {
  const hashOnly = { put: (cid: CID): CID => cid }
  const result = await importByteStream(source, hashOnly, kuboImportOptions(cidVersion))
  return { cid: result.cid, dagSize: result.size }
}
