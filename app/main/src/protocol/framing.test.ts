// Specification of direct-protocol frames: one varint-length-prefixed message, size-bounded.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MessageError, type MessageErrorCode } from './errors.ts'
import { decodeFrame, encodeFrame, maxFrameBytes } from './framing.ts'
import { MAX_MESSAGE_BYTES, PROTOCOLS } from './messages.ts'

function refused(code: MessageErrorCode, run: () => unknown): void {
  assert.throws(run, (err: unknown) => err instanceof MessageError && err.code === code)
}

describe('frames', () => {
  it('are an unsigned varint length and the payload', () => {
    assert.deepEqual(encodeFrame(new Uint8Array([7, 8, 9]), 10), new Uint8Array([3, 7, 8, 9]))
    const payload = new Uint8Array(300).fill(1)
    const frame = encodeFrame(payload, 1000)
    assert.deepEqual(frame.subarray(0, 2), new Uint8Array([0xac, 0x02]))
    assert.deepEqual(decodeFrame(frame, 1000), payload)
  })

  it('refuses a payload over the limit, both ways', () => {
    refused('too-large', () => encodeFrame(new Uint8Array(11), 10))
    refused('too-large', () => decodeFrame(encodeFrame(new Uint8Array(11), 20), 10))
  })

  it('refuses a truncated frame, and bytes after the frame', () => {
    const frame = encodeFrame(new Uint8Array(5), 10)
    refused('malformed', () => decodeFrame(frame.subarray(0, 4), 10))
    refused('malformed', () => decodeFrame(new Uint8Array([...frame, 1]), 10))
    refused('malformed', () => decodeFrame(new Uint8Array(0), 10))
  })

  it('are as large as the largest message that may travel on the protocol', () => {
    assert.equal(maxFrameBytes(PROTOCOLS.offer), MAX_MESSAGE_BYTES.offer)
    assert.equal(maxFrameBytes(PROTOCOLS.claim), MAX_MESSAGE_BYTES.decline)
    assert.equal(
      maxFrameBytes(PROTOCOLS.proof),
      Math.max(MAX_MESSAGE_BYTES.proof, MAX_MESSAGE_BYTES['proof-ack']),
    )
    assert.ok(maxFrameBytes(PROTOCOLS.status) < MAX_MESSAGE_BYTES.bitfield)
  })
})
