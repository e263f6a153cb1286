// The Swarm chunk tree of a `/bytes` upload: chunk addresses (BMT) and the shape of the tree.
//
// A chunk is an 8-byte little-endian span followed by at most 4096 bytes of payload; its address is
// keccak256(span ‖ BMT root of the payload zero-padded to 4096 bytes). A leaf's span is its payload
// length; an intermediate chunk's payload is up to 128 child references (32 bytes each) and its span
// is the number of data bytes below it. Bee hoists a lone rightmost reference to the level above
// instead of wrapping it, so a node's children are all full subtrees of one capacity except the
// last, and a child whose span is at most 4096 is a leaf.
//
// The hashing is bee-js's own (cafe-utility's MerkleTree and Chunk, as bee-js uses for
// `hashDirectory`); this module only arranges what is hashed. It was checked against Bee's test
// vectors (pkg/file/testing/vector.go) and against a real Bee's `/bytes` references.

import { MerkleTree } from '@ethersphere/bee-js'

export const CHUNK_SIZE = 4096
export const SPAN_SIZE = 8
export const REFERENCE_SIZE = 32
export const BRANCHES = CHUNK_SIZE / REFERENCE_SIZE
/** Bee writes the erasure-coding level into the top byte of an intermediate span. */
const REDUNDANCY_SPAN_LIMIT = 1n << 56n

export interface ParsedChunk {
  readonly span: bigint
  readonly payload: Uint8Array
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/**
 * The address (hex) of a chunk with this span and payload. For a leaf the span is the payload
 * length; for an intermediate chunk it is the size of the data below it.
 */
export async function chunkAddress(span: bigint, payload: Uint8Array): Promise<string> {
  if (payload.byteLength > CHUNK_SIZE) throw new RangeError('chunk payload over 4096 bytes')
  // At most 4096 bytes stay in one chunk: finalize() returns it without building a level above.
  // Its span is then set to the one the parent promised, and hash() gives the BMT address.
  const tree = new MerkleTree(MerkleTree.NOOP)
  await tree.append(payload)
  const chunk = await tree.finalize()
  chunk.span = span
  return hexOf(chunk.hash())
}

/** Splits a chunk as served by `GET /chunks/{address}` into span and payload; undefined if malformed. */
export function parseChunk(data: Uint8Array): ParsedChunk | undefined {
  if (data.byteLength < SPAN_SIZE || data.byteLength > SPAN_SIZE + CHUNK_SIZE) return undefined
  const span = new DataView(data.buffer, data.byteOffset, SPAN_SIZE).getBigUint64(0, true)
  return { span, payload: data.subarray(SPAN_SIZE) }
}

/** True when the span carries an erasure-coding level (Bee's redundancy), which we do not read. */
export function hasRedundancyLevel(span: bigint): boolean {
  return span >= REDUNDANCY_SPAN_LIMIT
}

export interface ChildPlan {
  readonly reference: string
  readonly span: bigint
}

/**
 * The children of an intermediate chunk (span > 4096): each full subtree has capacity C, the
 * smallest 4096·128^j with span ≤ 128·C, and the last child holds the rest. Payload bytes past the
 * references are ignored (they are covered by the chunk's address anyway); a payload too short for
 * the references the span implies is zero-extended, exactly as the BMT hash treats it.
 */
export function childrenOf(span: bigint, payload: Uint8Array): ChildPlan[] {
  let capacity = BigInt(CHUNK_SIZE)
  while (span > capacity * BigInt(BRANCHES)) capacity *= BigInt(BRANCHES)
  const count = Number((span + capacity - 1n) / capacity)
  const refs = new Uint8Array(count * REFERENCE_SIZE)
  refs.set(payload.subarray(0, Math.min(payload.byteLength, refs.byteLength)))
  const children: ChildPlan[] = []
  for (let i = 0; i < count; i++) {
    const childSpan = i < count - 1 ? capacity : span - capacity * BigInt(count - 1)
    const reference = hexOf(refs.subarray(i * REFERENCE_SIZE, (i + 1) * REFERENCE_SIZE))
    children.push({ reference, span: childSpan })
  }
  return children
}
