// The chunk tree: BMT addresses and tree shape, against Bee's own test vectors.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MerkleTree } from '@ethersphere/bee-js'
import { CHUNK_SIZE, childrenOf, chunkAddress, parseChunk } from './chunk-tree.ts'
import { SEGMENT_BYTES, buildUpperTree } from './upload.ts'
import { BEE_VECTORS, vectorBytes } from './testing/bee-vectors.ts'

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

test("bee-js's MerkleTree gives Bee's vector references (the hashing every other check relies on)", async () => {
  for (const [length, expected] of BEE_VECTORS) {
    const root = await MerkleTree.root(vectorBytes(length))
    assert.equal(hexOf(root.hash()), expected, `length ${length}`)
  }
})

test('chunkAddress of a leaf is the reference of its bytes', async () => {
  for (const [length, expected] of BEE_VECTORS.filter(([n]) => n <= CHUNK_SIZE)) {
    assert.equal(await chunkAddress(BigInt(length), vectorBytes(length)), expected)
  }
})

test('segments of 512 KiB hashed alone, plus the upper tree built here, give the whole reference', async () => {
  for (const [length, expected] of BEE_VECTORS) {
    const segments = []
    for (let at = 0; at < Math.max(length, 1); at += SEGMENT_BYTES) {
      const bytes = vectorBytes(Math.min(SEGMENT_BYTES, length - at), at)
      segments.push({
        reference: hexOf((await MerkleTree.root(bytes)).hash()),
        span: BigInt(bytes.length),
      })
    }
    const stored = new Map<string, Uint8Array>()
    const root = await buildUpperTree(segments, {
      async putChunk(chunk) {
        const parsed = parseChunk(chunk)!
        const address = await chunkAddress(parsed.span, parsed.payload)
        stored.set(address, chunk)
        return address
      },
    })
    assert.equal(root.reference, expected, `length ${length}`)
    assert.equal(root.span, BigInt(length))
  }
})

test("the reader's tree shape matches the writer's, up to three levels above the segments", async () => {
  // 128·128 + 1 segments: two full levels of 128, and a lone last segment carried up to the root.
  const count = 128 * 128 + 1
  const segments = Array.from({ length: count }, (_, i) => ({
    reference: i.toString(16).padStart(64, '0'),
    span: BigInt(i === count - 1 ? 100 : SEGMENT_BYTES),
  }))
  const stored = new Map<string, Uint8Array>()
  const root = await buildUpperTree(segments, {
    async putChunk(chunk) {
      const parsed = parseChunk(chunk)!
      const address = await chunkAddress(parsed.span, parsed.payload)
      stored.set(address, parsed.payload)
      return address
    },
  })
  // Walk down with the reader's rule and collect what it takes for the segments.
  const found: Array<{ reference: string; span: bigint }> = []
  const walk = (reference: string, span: bigint): void => {
    const payload = stored.get(reference)
    if (payload === undefined || span <= BigInt(SEGMENT_BYTES)) {
      found.push({ reference, span })
      return
    }
    for (const child of childrenOf(span, payload)) walk(child.reference, child.span)
  }
  walk(root.reference, root.span)
  assert.deepEqual(found, segments)
  assert.equal(childrenOf(root.span, stored.get(root.reference)!).length, 2)
})

test('childrenOf ignores zero padding after the references and zero-extends a short payload', () => {
  const refs = Buffer.alloc(64, 7)
  const padded = new Uint8Array(4096)
  padded.set(refs)
  const span = BigInt(4096 + 10)
  assert.deepEqual(childrenOf(span, padded), childrenOf(span, refs))
  assert.deepEqual(
    childrenOf(span, refs.subarray(0, 40)).map((c) => c.reference),
    ['07'.repeat(32), '07'.repeat(8) + '00'.repeat(24)],
  )
})

test('parseChunk refuses fewer than 8 or more than 4104 bytes', () => {
  assert.equal(parseChunk(new Uint8Array(7)), undefined)
  assert.equal(parseChunk(new Uint8Array(4105)), undefined)
  assert.equal(parseChunk(new Uint8Array(8))?.span, 0n)
})
