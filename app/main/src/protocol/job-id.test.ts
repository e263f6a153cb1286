// Specification of job IDs: what is hashed, byte for byte, and that a forged ID is caught.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { before, describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MessageError } from './errors.ts'
import { checkJobId, deriveJobId, JOB_ID_DOMAIN, jobIdMatches, jobIdPreimage } from './job-id.ts'
import { fixedKey, IMAGE_ID, INPUT_CID, NONCE, sampleBodies } from './test-support.ts'

let client: string
let other: string

before(async () => {
  client = peerIdFromPrivateKey(await fixedKey(1)).toString()
  other = peerIdFromPrivateKey(await fixedKey(2)).toString()
})

function inputs() {
  return { clientPeerId: client, nonce: NONCE, imageId: IMAGE_ID, inputCid: INPUT_CID }
}

/** A CBOR text string: major type 3 with the shortest length header, then UTF-8. */
function text(s: string): Buffer {
  const utf8 = Buffer.from(s, 'utf8')
  const head = utf8.length < 24 ? [0x60 + utf8.length] : [0x78, utf8.length]
  return Buffer.concat([Buffer.from(head), utf8])
}

describe('job ID', () => {
  it('hashes the CBOR array [domain, client peer ID, nonce, image ID, input CID]', () => {
    const expected = Buffer.concat([
      Buffer.from([0x85]),
      text(JOB_ID_DOMAIN),
      text(client),
      text(NONCE),
      text(IMAGE_ID),
      text(INPUT_CID),
    ])
    assert.equal(JOB_ID_DOMAIN, 'wholesum/job-id/v1')
    assert.deepEqual(Buffer.from(jobIdPreimage(inputs())), expected)
    assert.equal(deriveJobId(inputs()), createHash('sha256').update(expected).digest('hex'))
  })

  it('matches the vector in docs/protocol.md', () => {
    assert.equal(client, '12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5')
    assert.equal(
      deriveJobId(inputs()),
      '165c0c365c0d64562029fae57a3d22506e8f3a1423c722d5be855c30c7be47a8',
    )
  })

  it('changes when any input changes', () => {
    const base = deriveJobId(inputs())
    assert.notEqual(deriveJobId({ ...inputs(), clientPeerId: other }), base)
    assert.notEqual(deriveJobId({ ...inputs(), nonce: '02'.repeat(32) }), base)
    assert.notEqual(deriveJobId({ ...inputs(), imageId: 'ac'.repeat(32) }), base)
    assert.notEqual(
      deriveJobId({
        ...inputs(),
        inputCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
      }),
      base,
    )
  })

  it('refuses inputs not in their canonical form, so one job has one ID', () => {
    for (const bad of [
      { nonce: NONCE.slice(2) },
      { imageId: IMAGE_ID.toUpperCase() },
      { inputCid: 'zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKBQRRVQ9dZxaa' },
      { clientPeerId: 'not-a-peer' },
    ]) {
      assert.throws(
        () => deriveJobId({ ...inputs(), ...bad }),
        (err: unknown) => err instanceof MessageError && err.code === 'bad-schema',
      )
    }
  })

  it('checkJobId passes a genuine need and throws bad-job-id for a forged one', () => {
    const body = sampleBodies(client, other).need
    checkJobId({ from: client, body })
    checkJobId(body, client)
    assert.equal(jobIdMatches({ from: client, body }), true)
    for (const [forged, from] of [
      [{ ...body, jobId: 'cd'.repeat(32) }, client],
      [{ ...body, nonce: '03'.repeat(32) }, client],
      [body, other],
    ] as const) {
      assert.equal(jobIdMatches(forged, from), false)
      assert.throws(
        () => checkJobId(forged, from),
        (err: unknown) => err instanceof MessageError && err.code === 'bad-job-id',
      )
    }
  })
})
