// A streaming multipart/form-data reader for the fake Lighthouse: parts one by one, bodies streamed.
//
// Written for the fake's upload endpoint, which must take a 64 MiB part without holding it in
// memory (undici's `Request.formData()` would buffer it all). It handles what RFC 7578 clients
// send (the SDK's own multipart writer and undici's FormData): CRLF line breaks, a quoted
// boundary or not, headers per part. A part's body must be read (or is skipped) before the next.

const CRLF = Buffer.from('\r\n')
const HEADER_END = Buffer.from('\r\n\r\n')
const MAX_HEADER_BYTES = 16 * 1024

export interface MultipartPart {
  readonly headers: ReadonlyMap<string, string>
  /** The `name` of its Content-Disposition. */
  readonly name: string | undefined
  readonly filename: string | undefined
  readonly body: AsyncIterable<Buffer>
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MultipartError'
  }
}

/** The boundary of a `multipart/form-data; boundary=…` content type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return match?.[1] ?? match?.[2]
}

/** Pulls bytes from a stream and keeps what was read past the last match. */
class Reader {
  #pending: Buffer = Buffer.alloc(0)
  readonly #source: AsyncIterator<Uint8Array>

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]()
  }

  async #more(): Promise<void> {
    const next = await this.#source.next()
    if (next.done === true) throw new MultipartError('body ended inside a multipart message')
    this.#pending = Buffer.concat([this.#pending, next.value])
  }

  /** Bytes up to `marker` (consumed, not returned), at most `limit` of them. */
  async until(marker: Buffer, limit: number): Promise<Buffer> {
    for (;;) {
      const at = this.#pending.indexOf(marker)
      if (at >= 0) {
        const head = this.#pending.subarray(0, at)
        this.#pending = this.#pending.subarray(at + marker.length)
        return head
      }
      if (this.#pending.length > limit) throw new MultipartError('multipart header too long')
      await this.#more()
    }
  }

  async take(count: number): Promise<Buffer> {
    while (this.#pending.length < count) await this.#more()
    const head = this.#pending.subarray(0, count)
    this.#pending = this.#pending.subarray(count)
    return head
  }

  /** Streams the bytes before `marker`, keeping back only what could be the start of it. */
  async *streamUntil(marker: Buffer): AsyncGenerator<Buffer> {
    for (;;) {
      const at = this.#pending.indexOf(marker)
      if (at >= 0) {
        if (at > 0) yield this.#pending.subarray(0, at)
        this.#pending = this.#pending.subarray(at + marker.length)
        return
      }
      const safe = this.#pending.length - (marker.length - 1)
      if (safe > 0) {
        const head = this.#pending.subarray(0, safe)
        this.#pending = this.#pending.subarray(safe)
        yield head
      }
      await this.#more()
    }
  }
}

function parseHeaders(block: Buffer): Map<string, string> {
  const headers = new Map<string, string>()
  for (const line of block.toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new MultipartError(`bad part header line ${JSON.stringify(line)}`)
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return headers
}

function dispositionParam(disposition: string | undefined, key: string): string | undefined {
  if (disposition === undefined) return undefined
  const match = new RegExp(`;\\s*${key}="([^"]*)"`, 'i').exec(disposition)
  return match?.[1]
}

export async function* multipartParts(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
): AsyncGenerator<MultipartPart> {
  const reader = new Reader(source)
  // The first delimiter may open the body without the CRLF that precedes every later one.
  await reader.until(Buffer.from(`--${boundary}`), 64 * 1024)
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  for (;;) {
    const after = await reader.take(2)
    if (after.toString('latin1') === '--') return
    if (!after.equals(CRLF)) throw new MultipartError('bad multipart delimiter')
    const headers = parseHeaders(await reader.until(HEADER_END, MAX_HEADER_BYTES))
    const disposition = headers.get('content-disposition')
    let consumed = false
    const body = (async function* () {
      yield* reader.streamUntil(delimiter)
      consumed = true
    })()
    yield {
      headers,
      name: dispositionParam(disposition, 'name'),
      filename: dispositionParam(disposition, 'filename'),
      body,
    }
    if (!consumed) for await (const _ of body) void _
  }
}
