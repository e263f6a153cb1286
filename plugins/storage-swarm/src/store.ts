// StoragePlugin over a Bee node's HTTP API (bee-js): streaming chunk-tree uploads stamped with a
// postage batch, verified streaming downloads, pins. Identifiers are CIDs (see reference.ts).

import { Bee, type BeeRequestOptions } from '@ethersphere/bee-js'
import {
  AbortError,
  InvalidInputError,
  NotFoundError,
  ResourceLimitError,
  UnavailableError,
  isWholesumError,
  type CidString,
  type StorageCallOptions,
  type StoragePlugin,
  type StorageStat,
} from '@wholesum/plugin-api'
import { beeStatus, translateBeeError } from './bee-errors.ts'
import { abortable, Deadline } from './deadline.ts'
import { fetchVerifiedChunk, verifiedRead, type ChunkSource } from './download.ts'
import { PostageBatches } from './postage.ts'
import { parseSwarmId, referenceToCid } from './reference.ts'
import type { SwarmSettings } from './settings.ts'
import { uploadTree } from './upload.ts'

/** Segment uploads (512 KiB each) in flight per put: bounds memory to about 2 MiB per put. */
export const UPLOAD_CONCURRENCY = 4
/** Input pieces handed to the tree at once when put gets a Uint8Array. */
const SLICE_BYTES = 256 * 1024

export interface SwarmStoreOptions extends SwarmSettings {
  /** How long to wait for a bought batch to become usable (ms); default 240 000 (bee-js's). */
  readonly batchUsableTimeoutMs?: number
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

async function* slices(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += SLICE_BYTES) {
    yield bytes.subarray(at, Math.min(at + SLICE_BYTES, bytes.byteLength))
  }
}

export class SwarmStore implements StoragePlugin {
  readonly bee: Bee
  readonly settings: SwarmSettings
  readonly batches: PostageBatches

  constructor(options: SwarmStoreOptions) {
    this.settings = options
    this.bee = new Bee(options.beeUrl)
    this.batches = new PostageBatches({
      bee: this.bee,
      url: options.beeUrl,
      timeoutMs: options.timeoutMs,
      ...(options.postageBatchId !== undefined ? { postageBatchId: options.postageBatchId } : {}),
      ...(options.autoBuyBatch !== undefined ? { autoBuyBatch: options.autoBuyBatch } : {}),
      ...(options.batchUsableTimeoutMs !== undefined
        ? { usableTimeoutMs: options.batchUsableTimeoutMs }
        : {}),
    })
  }

  get url(): string {
    return this.settings.beeUrl
  }

  private deadline(options: StorageCallOptions): Deadline {
    return new Deadline(options.timeoutMs ?? this.settings.timeoutMs, options.signal)
  }

  private request(deadline: Deadline): BeeRequestOptions {
    return { signal: deadline.signal }
  }

  /** Reads chunks and the joined bytes through bee-js, under one deadline. */
  private source(deadline: Deadline): ChunkSource {
    const request = this.request(deadline)
    return {
      getChunk: async (reference) => {
        const data = await this.bee.downloadChunk(reference, undefined, request)
        deadline.touch()
        return data
      },
      getBytes: async (reference) => {
        // axios hands back Node's response stream (bee-js types it as a web ReadableStream); both
        // are async iterables of byte chunks.
        const stream = await this.bee.downloadReadableData(reference, undefined, request)
        deadline.touch()
        return stream as unknown as AsyncIterable<Uint8Array>
      },
    }
  }

  async put(
    data: Uint8Array | AsyncIterable<Uint8Array>,
    options: StorageCallOptions & { pin?: boolean } = {},
  ): Promise<CidString> {
    let source: AsyncIterable<Uint8Array>
    if (data instanceof Uint8Array) source = slices(data)
    else if (isAsyncIterable(data)) source = data as AsyncIterable<Uint8Array>
    else {
      throw new InvalidInputError(
        'INVALID_INPUT',
        'put expects a Uint8Array or an AsyncIterable<Uint8Array>',
      )
    }
    const max = this.settings.maxObjectBytes
    if (data instanceof Uint8Array && data.byteLength > max) {
      throw new ResourceLimitError(
        `put: object of ${data.byteLength} bytes is over maxObjectBytes (${max} bytes); raise the ` +
          'storage-swarm setting `maxObjectBytes` to store larger objects',
      )
    }
    if (options.signal?.aborted) throw new AbortError('put: aborted')

    const deadline = this.deadline(options)
    const what = 'put'
    try {
      const batchId = await abortable(this.batches.batchId(), deadline.signal)
      const request = this.request(deadline)
      // One tag for the whole object, and deferred: Bee stores the chunks first and syncs them to
      // the network afterwards (POST /bytes's default; for POST /chunks a tag is what asks for it).
      const tag = await this.bee.createTag(request)
      const sink = {
        putSegment: async (bytes: Uint8Array): Promise<string> => {
          const upload = { tag: tag.uid, deferred: true }
          const result = await this.bee.uploadData(batchId, bytes, upload, request)
          return result.reference.toHex()
        },
        putChunk: async (chunk: Uint8Array): Promise<string> => {
          const result = await this.bee.uploadChunk(batchId, chunk, { tag: tag.uid }, request)
          return result.reference.toHex()
        },
      }
      const { reference } = await uploadTree(source, sink, {
        maxBytes: max,
        concurrency: UPLOAD_CONCURRENCY,
        ...(data instanceof Uint8Array ? { total: data.byteLength } : {}),
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
        deadline,
        what,
      })
      // Never pin what the caller dropped.
      deadline.check(what)
      if (options.pin === true) await this.bee.pin(reference, request)
      return referenceToCid(reference)
    } catch (err) {
      const status = beeStatus(err)
      // The batch filled up, expired or vanished: choose again on the next put.
      if (status === 402 || status === 404 || status === 422) this.batches.forget()
      if (status === 422 || status === 404) {
        throw new UnavailableError(
          `${what}: the Bee node at ${this.url} refused the postage batch (${status}): ` +
            `${(err as Error).message}; check GET /stamps, or set \`postageBatchId\` / \`autoBuyBatch\``,
          { cause: err },
        )
      }
      throw translateBeeError(err, { url: this.url, what, deadline })
    } finally {
      deadline.dispose()
    }
  }

  get(cid: CidString, options: StorageCallOptions = {}): AsyncIterable<Uint8Array> {
    // Parse before the first step so a bad identifier is reported even if nobody iterates.
    const reference = parseSwarmId(cid)
    const store = this
    return {
      async *[Symbol.asyncIterator]() {
        const deadline = store.deadline(options)
        const what = `get ${cid}`
        try {
          const source = store.source(deadline)
          const root = await fetchVerifiedChunk(source, reference, what)
          const total = Number(root.span)
          if (total > store.settings.maxObjectBytes) {
            throw new ResourceLimitError(
              `${what}: object of ${total} bytes is over maxObjectBytes (${store.settings.maxObjectBytes} bytes)`,
            )
          }
          let bytes = 0
          const pieces = verifiedRead(reference, root, source, {
            what,
            onActivity: () => deadline.touch(),
          })
          for await (const piece of pieces) {
            // Verified pieces may already be buffered: stop at once when the caller aborts.
            deadline.check(what)
            bytes += piece.byteLength
            options.onProgress?.({ bytes, total })
            yield piece
            deadline.touch()
          }
          if (total === 0) options.onProgress?.({ bytes: 0, total })
        } catch (err) {
          throw store.translateRead(err, what, deadline)
        } finally {
          deadline.dispose()
        }
      },
    }
  }

  /** Read errors: 404 means Bee could not find the content (locally or in the network). */
  private translateRead(err: unknown, what: string, deadline: Deadline): Error {
    const translated = translateBeeError(err, { url: this.url, what, deadline })
    if (
      translated instanceof UnavailableError &&
      beeStatus(err) === undefined &&
      !isWholesumError(err)
    ) {
      // A stream that broke off after the answer began is not "nothing listening".
      const code = (err as { code?: unknown } | null)?.code
      if (code === 'ECONNRESET' || (err as Error)?.message === 'aborted') {
        return new UnavailableError(`${what}: the Bee node at ${this.url} broke off the download`, {
          cause: err,
        })
      }
    }
    return translated
  }

  /**
   * True when the node hands over the root chunk and it hashes to the reference: the content is
   * on this node or retrievable through it. False on 404; TimeoutError when the node keeps looking.
   */
  async has(cid: CidString, options: StorageCallOptions = {}): Promise<boolean> {
    const reference = parseSwarmId(cid)
    const deadline = this.deadline(options)
    const what = `has ${cid}`
    try {
      await fetchVerifiedChunk(this.source(deadline), reference, what)
      return true
    } catch (err) {
      const translated = this.translateRead(err, what, deadline)
      if (translated instanceof NotFoundError) return false
      throw translated
    } finally {
      deadline.dispose()
    }
  }

  /** POST /pins/{ref}: Bee fetches whatever is missing and keeps every chunk of the tree. */
  async pin(cid: CidString, options: StorageCallOptions = {}): Promise<void> {
    const reference = parseSwarmId(cid)
    const deadline = this.deadline(options)
    try {
      await this.bee.pin(reference, this.request(deadline))
    } catch (err) {
      throw translateBeeError(err, { url: this.url, what: `pin ${cid}`, deadline })
    } finally {
      deadline.dispose()
    }
  }

  /** DELETE /pins/{ref}; NotFoundError when it was not pinned. */
  async unpin(cid: CidString, options: StorageCallOptions = {}): Promise<void> {
    const reference = parseSwarmId(cid)
    const deadline = this.deadline(options)
    try {
      await this.bee.unpin(reference, this.request(deadline))
    } catch (err) {
      const translated = translateBeeError(err, { url: this.url, what: `unpin ${cid}`, deadline })
      if (translated instanceof NotFoundError) {
        throw new NotFoundError(`unpin ${cid}: not pinned on the Bee node at ${this.url}`, {
          cause: err,
        })
      }
      throw translated
    } finally {
      deadline.dispose()
    }
  }

  /**
   * `size` is the span of the verified root chunk; `pinned` is Bee's pin; `local` equals `pinned`:
   * pinned chunks are the only ones Bee promises to keep on this node (bee-js has no call for
   * Bee's `HEAD /chunks/{address}` local check).
   */
  async stat(cid: CidString, options: StorageCallOptions = {}): Promise<StorageStat> {
    const reference = parseSwarmId(cid)
    const deadline = this.deadline(options)
    const what = `stat ${cid}`
    try {
      const root = await fetchVerifiedChunk(this.source(deadline), reference, what)
      let pinned = true
      try {
        await this.bee.getPin(reference, this.request(deadline))
      } catch (err) {
        if (beeStatus(err) !== 404) throw err
        pinned = false
      }
      return { cid: referenceToCid(reference), size: Number(root.span), pinned, local: pinned }
    } catch (err) {
      throw this.translateRead(err, what, deadline)
    } finally {
      deadline.dispose()
    }
  }
}
