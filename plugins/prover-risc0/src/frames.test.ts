import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from './frames.ts'

test('a frame split at every byte boundary decodes to the same message', () => {
  const message = { id: 7, op: 'verify', receipt: '/tmp/r.bin', text: 'ünïcode' }
  const frame = encodeFrame(message)
  for (let cut = 0; cut <= frame.length; cut++) {
    const decoder = new FrameDecoder()
    const frames = [...decoder.push(frame.subarray(0, cut)), ...decoder.push(frame.subarray(cut))]
    assert.deepEqual(frames, [message])
    assert.equal(decoder.pendingBytes, 0)
  }
})

test('several frames in one chunk come out in order', () => {
  const chunk = Buffer.concat([
    encodeFrame({ id: 1 }),
    encodeFrame({ id: 2 }),
    encodeFrame({ id: 3 }).subarray(0, 5),
  ])
  const decoder = new FrameDecoder()
  assert.deepEqual(decoder.push(chunk), [{ id: 1 }, { id: 2 }])
  assert.equal(decoder.pendingBytes, 5)
})

test('an oversized length prefix is refused before any body is buffered', () => {
  const header = Buffer.alloc(4)
  header.writeUInt32BE(MAX_FRAME_BYTES + 1)
  assert.throws(() => new FrameDecoder().push(header), RangeError)
})

test('a body that is not JSON is refused', () => {
  const body = Buffer.from('not json')
  const header = Buffer.alloc(4)
  header.writeUInt32BE(body.length)
  assert.throws(() => new FrameDecoder().push(Buffer.concat([header, body])), SyntaxError)
})

test('encoding refuses a message over the frame limit', () => {
  assert.throws(() => encodeFrame({ blob: 'x'.repeat(MAX_FRAME_BYTES) }), RangeError)
})
