// Frames for the direct protocols: an unsigned varint length, then that many bytes (it-length-prefixed).

import * as lp from 'it-length-prefixed'
import { MessageError } from './errors.ts'
import { DIRECT_TYPES, MAX_MESSAGE_BYTES, type ProtocolId } from './messages.ts'

/**
 * Largest payload one frame of a direct protocol may carry: the cap of the largest message type
 * that may travel on it (request or response). Pass it as `maxDataLength` to the stream's
 * length-prefixed reader so an oversized frame is refused before it is buffered.
 */
export function maxFrameBytes(protocol: ProtocolId): number {
  const { request, responses } = DIRECT_TYPES[protocol]
  return Math.max(MAX_MESSAGE_BYTES[request], ...responses.map((t) => MAX_MESSAGE_BYTES[t]))
}

/** One frame around `payload`. */
export function encodeFrame(payload: Uint8Array, maxBytes: number): Uint8Array {
  if (payload.byteLength > maxBytes)
    throw new MessageError(
      'too-large',
      `frame payload ${payload.byteLength} bytes, over ${maxBytes}`,
    )
  return lp.encode.single(payload).subarray()
}

/** The payload of `frame`, which must be exactly one complete frame of at most `maxBytes`. */
export function decodeFrame(frame: Uint8Array, maxBytes: number): Uint8Array {
  let payloads: Uint8Array[]
  try {
    payloads = [...lp.decode([frame], { maxDataLength: maxBytes })].map((p) => p.subarray())
  } catch (err) {
    const name = (err as Error).name
    if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError')
      throw new MessageError('too-large', `frame over ${maxBytes} bytes`, { cause: err })
    throw new MessageError('malformed', `bad frame: ${(err as Error).message}`, { cause: err })
  }
  const payload = payloads[0]
  if (payloads.length !== 1 || payload === undefined)
    throw new MessageError('malformed', `expected one frame, got ${payloads.length}`)
  if (lp.encode.single(payload).byteLength !== frame.byteLength)
    throw new MessageError('malformed', 'bytes after the frame')
  return payload
}
