// Length-prefixed JSON frames (u32 big-endian length + UTF-8 JSON), as the Rust worker speaks them.

/** Frames larger than this are a protocol violation: requests carry paths, never blobs. */
export const MAX_FRAME_BYTES = 1 << 20

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8')
  if (body.length > MAX_FRAME_BYTES) {
    throw new RangeError(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`)
  }
  const header = Buffer.alloc(4)
  header.writeUInt32BE(body.length, 0)
  return Buffer.concat([header, body])
}

/**
 * Sans-IO decoder: feed it chunks as they arrive, take whole frames out. Throws on an oversized
 * length or invalid JSON, after which the stream cannot be trusted and the caller should drop it.
 */
export class FrameDecoder {
  #buffered: Buffer = Buffer.alloc(0)

  push(chunk: Uint8Array): unknown[] {
    this.#buffered =
      this.#buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffered, chunk])
    const frames: unknown[] = []
    while (this.#buffered.length >= 4) {
      const length = this.#buffered.readUInt32BE(0)
      if (length > MAX_FRAME_BYTES) {
        throw new RangeError(`incoming frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`)
      }
      if (this.#buffered.length < 4 + length) break
      const body = this.#buffered.subarray(4, 4 + length)
      frames.push(JSON.parse(body.toString('utf8')))
      this.#buffered = this.#buffered.subarray(4 + length)
    }
    return frames
  }

  get pendingBytes(): number {
    return this.#buffered.length
  }
}
