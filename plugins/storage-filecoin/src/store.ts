// FilecoinStore: the StoragePlugin interface on Lighthouse (IPFS pinning plus Filecoin deals).
//
// What is checked where:
// - put: the bytes are spooled to a temporary file while their CID is computed with Kubo's
//   settings (cid.ts); the SDK then streams that file to Lighthouse, and the CID Lighthouse
//   answers must equal ours, else VerificationError. So a returned CID always names our bytes.
// - get: the gateway's bytes are spooled while their CID is recomputed as they arrive; nothing is
//   yielded until the recomputed root equals the requested CID (VerificationError otherwise).
//   A plain `/ipfs/<cid>` response has no block structure, so no byte can be trusted before the
//   root is known: the hashing happens as blocks stream, the release happens at the end.
// - has / stat: Lighthouse's file info (public metadata, not a proof that the bytes exist).

import { tmpdir } from 'node:os'
import {
  AbortError,
  InvalidInputError,
  NotFoundError,
  ResourceLimitError,
  UnavailableError,
  VerificationError,
  type CidString,
  type Logger,
  type StorageCallOptions,
  type StoragePlugin,
  type StorageStat,
  type WholesumError,
} from '@wholesum/plugin-api'
import type { CID } from 'multiformats/cid'
import { cidOfStream, KUBO_CHUNK_SIZE, parseCid, verifiableVersion } from './cid.ts'
import { Deadline } from './deadline.ts'
import { failureForStatus, KEY_HELP, redact, translateFailure } from './failures.ts'
import {
  LIGHTHOUSE_API_URL,
  LIGHTHOUSE_GATEWAY_URL,
  LIGHTHOUSE_UPLOAD_URL,
  LighthouseClient,
  type FileInfo,
  type FilecoinDeal,
  type UploadAnswer,
  type UploadRecord,
  type UploadsPage,
} from './lighthouse-client.ts'
import { Spool } from './spool.ts'

export const DEFAULT_TIMEOUT_MS = 30_000
/** 1 GiB: far above a segment blob; Lighthouse itself takes up to 24 GB in one request. */
export const DEFAULT_MAX_OBJECT_BYTES = 1024 * 1024 * 1024

export interface FilecoinStoreOptions {
  /** The Lighthouse API key; needed by put, pin and unpin only. Never logged or put in errors. */
  readonly apiKey?: string
  readonly apiUrl?: string
  readonly uploadUrl?: string
  readonly gatewayUrl?: string
  /** Idle deadline of every network call (ms): the longest wait for the next sign of progress. */
  readonly timeoutMs?: number
  /** Largest object put or get accepts (bytes). */
  readonly maxObjectBytes?: number
  /** Where objects are spooled while they are hashed (default: the OS temporary folder). */
  readonly spoolDir?: string
  readonly logger?: Logger
  /** Ends every call of this store (the plugin's lifetime signal). */
  readonly signal?: AbortSignal
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} }

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

/** Hands a buffer over in chunk-sized views (no copies). */
async function* slices(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += KUBO_CHUNK_SIZE) {
    yield bytes.subarray(at, Math.min(at + KUBO_CHUNK_SIZE, bytes.byteLength))
  }
}

function sameCid(candidate: unknown, wanted: CID): boolean {
  try {
    return typeof candidate === 'string' && parseCid(candidate).equals(wanted)
  } catch {
    return false
  }
}

export class FilecoinStore implements StoragePlugin {
  readonly client: LighthouseClient
  readonly timeoutMs: number
  readonly maxObjectBytes: number
  readonly spoolDir: string
  // A private field: util.inspect and JSON.stringify of the store never show it.
  readonly #apiKey: string | undefined
  readonly #logger: Logger
  readonly #signal: AbortSignal | undefined

  constructor(options: FilecoinStoreOptions = {}) {
    this.client = new LighthouseClient({
      apiUrl: options.apiUrl ?? LIGHTHOUSE_API_URL,
      uploadUrl: options.uploadUrl ?? LIGHTHOUSE_UPLOAD_URL,
      gatewayUrl: options.gatewayUrl ?? LIGHTHOUSE_GATEWAY_URL,
    })
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES
    this.spoolDir = options.spoolDir ?? tmpdir()
    this.#apiKey = options.apiKey === '' ? undefined : options.apiKey
    this.#logger = options.logger ?? silent
    this.#signal = options.signal
  }

  get hasApiKey(): boolean {
    return this.#apiKey !== undefined
  }

  #requireKey(what: string): string {
    if (this.#apiKey === undefined) {
      throw new UnavailableError(`${what}: no Lighthouse API key; ${KEY_HELP}`)
    }
    return this.#apiKey
  }

  #deadline(options: StorageCallOptions): Deadline {
    return new Deadline(options.timeoutMs ?? this.timeoutMs, options.signal, this.#signal)
  }

  #failure(err: unknown, what: string, service: string, deadline: Deadline): WholesumError {
    return deadline.failure(what) ?? translateFailure(err, what, service, this.#apiKey)
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
    const apiKey = this.#requireKey('put')
    const spool = await Spool.create(this.spoolDir, 'wholesum-filecoin-put-')
    try {
      const cid = (await cidOfStream(this.#spoolInput(source, spool, options), 0)).cid.toString()
      // The SDK sends the file's base name as the upload's Name: make it the CID.
      await spool.finish(cid)
      const answer = await this.#upload(spool, apiKey, options)
      if (answer?.Hash !== cid) {
        const said = redact(JSON.stringify(answer?.Hash ?? null), apiKey)
        throw new VerificationError(
          `put: Lighthouse answered CID ${said} for bytes whose CID is ${cid} ` +
            '(Kubo defaults: CIDv0, 256 KiB chunks, balanced 174)',
        )
      }
      options.onProgress?.({ bytes: spool.size, total: spool.size })
      // Lighthouse pins every upload, so `pin: true` needs nothing more.
      this.#logger.debug('stored on Lighthouse', { cid, bytes: spool.size })
      return cid
    } finally {
      await spool.dispose()
    }
  }

  /** Copies the caller's bytes to the spool on their way to the hasher; enforces the size limit. */
  async *#spoolInput(
    source: AsyncIterable<Uint8Array>,
    spool: Spool,
    options: StorageCallOptions,
  ): AsyncGenerator<Uint8Array> {
    let bytes = 0
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array)) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `put: stream yielded ${typeof chunk}, not a Uint8Array`,
        )
      }
      bytes += chunk.byteLength
      if (bytes > this.maxObjectBytes) {
        throw new ResourceLimitError(
          `put: object exceeds maxObjectBytes (${this.maxObjectBytes} bytes); nothing was uploaded`,
        )
      }
      if (options.signal?.aborted || this.#signal?.aborted) throw new AbortError('put: aborted')
      await spool.write(chunk)
      yield chunk
    }
  }

  async #upload(spool: Spool, apiKey: string, options: StorageCallOptions): Promise<UploadAnswer> {
    const size = spool.size
    const deadline = this.#deadline(options)
    // The SDK keeps reporting progress after its request failed: report nothing once we are done.
    let done = false
    try {
      const upload = this.client.upload(spool.path, apiKey, (percent) => {
        if (done) return
        deadline.touch()
        const bytes = Math.min(size, Math.round((percent / 100) * size))
        options.onProgress?.({ bytes, total: size })
      })
      return await deadline.race(upload, 'put')
    } catch (err) {
      throw this.#failure(err, 'put', this.client.endpoints.uploadUrl, deadline)
    } finally {
      done = true
      deadline.dispose()
    }
  }

  get(cid: CidString, options: StorageCallOptions = {}): AsyncIterable<Uint8Array> {
    // Parse before the first step so that a bad CID is reported even if nobody iterates.
    const parsed = parseCid(cid)
    const version = verifiableVersion(parsed)
    return { [Symbol.asyncIterator]: () => this.#download(parsed, version, options) }
  }

  async *#download(
    cid: CID,
    version: 0 | 1,
    options: StorageCallOptions,
  ): AsyncGenerator<Uint8Array> {
    const what = `get ${cid.toString()}`
    const service = this.client.endpoints.gatewayUrl
    const spool = await Spool.create(this.spoolDir, 'wholesum-filecoin-get-')
    try {
      const deadline = this.#deadline(options)
      let computed: CID
      try {
        const response = await this.client.download(cid.toString(), deadline.signal)
        if (!response.ok) {
          await response.body?.cancel().catch(() => undefined)
          throw failureForStatus(response.status, what, service)
        }
        const declared = Number(response.headers.get('content-length') ?? Number.NaN)
        if (declared > this.maxObjectBytes) {
          await response.body?.cancel().catch(() => undefined)
          throw new ResourceLimitError(
            `${what}: gateway announces ${declared} bytes, over maxObjectBytes (${this.maxObjectBytes})`,
          )
        }
        const total = Number.isFinite(declared) ? declared : undefined
        const body = response.body ?? (async function* () {})()
        computed = (
          await cidOfStream(this.#spoolDownload(body, spool, deadline, total, options), version)
        ).cid
      } catch (err) {
        throw this.#failure(err, what, service, deadline)
      } finally {
        deadline.dispose()
      }
      await spool.finish()
      if (!computed.equals(cid)) {
        throw new VerificationError(
          `${what}: the gateway's ${spool.size} bytes have CID ${computed.toString()}; nothing was returned`,
        )
      }
      const signals = [options.signal, this.#signal].filter((s) => s !== undefined)
      yield* spool.read(signals.length === 0 ? undefined : AbortSignal.any(signals))
    } finally {
      await spool.dispose()
    }
  }

  /** Copies the gateway's bytes to the spool on their way to the hasher; pushes the deadline. */
  async *#spoolDownload(
    body: AsyncIterable<Uint8Array>,
    spool: Spool,
    deadline: Deadline,
    total: number | undefined,
    options: StorageCallOptions,
  ): AsyncGenerator<Uint8Array> {
    let bytes = 0
    for await (const chunk of body) {
      deadline.touch()
      bytes += chunk.byteLength
      if (bytes > this.maxObjectBytes) {
        throw new ResourceLimitError(
          `get: object exceeds maxObjectBytes (${this.maxObjectBytes} bytes)`,
        )
      }
      await spool.write(chunk)
      options.onProgress?.(total === undefined ? { bytes } : { bytes, total })
      yield chunk
    }
  }

  /** Lighthouse's file info for `cid`, or undefined when Lighthouse does not know it (404). */
  async #fileInfo(
    cid: CID,
    what: string,
    options: StorageCallOptions,
  ): Promise<FileInfo | undefined> {
    const deadline = this.#deadline(options)
    try {
      const info = await deadline.race(this.client.fileInfo(cid.toString()), what)
      return info != null && typeof info.cid === 'string' ? info : undefined
    } catch (err) {
      const failure = this.#failure(err, what, this.client.endpoints.apiUrl, deadline)
      if (failure instanceof NotFoundError) return undefined
      throw failure
    } finally {
      deadline.dispose()
    }
  }

  /** True when Lighthouse has a file with this CID (its file info answers). */
  async has(cid: CidString, options: StorageCallOptions = {}): Promise<boolean> {
    const parsed = parseCid(cid)
    return (await this.#fileInfo(parsed, `has ${cid}`, options)) !== undefined
  }

  /**
   * `size` is Lighthouse's `fileSizeInBytes`; `pinned` is true for any file Lighthouse lists (it
   * pins every upload); `local` is always false (this plugin keeps no copy).
   */
  async stat(cid: CidString, options: StorageCallOptions = {}): Promise<StorageStat> {
    const parsed = parseCid(cid)
    const what = `stat ${cid}`
    const info = await this.#fileInfo(parsed, what, options)
    if (info === undefined) throw new NotFoundError(`${what}: Lighthouse has no file with this CID`)
    const size = Number(info.fileSizeInBytes)
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new UnavailableError(`${what}: Lighthouse reported an unusable size`)
    }
    return { cid: parsed.toString(), size, pinned: true, local: false }
  }

  /** Asks Lighthouse to pin a CID to this account (its pin API; it fetches from IPFS if needed). */
  async pin(cid: CidString, options: StorageCallOptions = {}): Promise<void> {
    const parsed = parseCid(cid)
    const what = `pin ${cid}`
    const apiKey = this.#requireKey(what)
    const deadline = this.#deadline(options)
    try {
      const response = await this.client.pin(apiKey, parsed.toString(), deadline.signal)
      await response.body?.cancel().catch(() => undefined)
      if (!response.ok) throw failureForStatus(response.status, what, this.client.endpoints.apiUrl)
    } catch (err) {
      throw this.#failure(err, what, this.client.endpoints.apiUrl, deadline)
    } finally {
      deadline.dispose()
    }
  }

  /**
   * Removes every upload of this CID from the account (the SDK's getUploads, then deleteFile by
   * id): Lighthouse's counterpart of unpinning. Filecoin deals already made run to their end.
   */
  async unpin(cid: CidString, options: StorageCallOptions = {}): Promise<void> {
    const parsed = parseCid(cid)
    const what = `unpin ${cid}`
    const apiKey = this.#requireKey(what)
    const deadline = this.#deadline(options)
    try {
      const ids: string[] = []
      let lastKey: string | null = null
      let seen = 0
      for (;;) {
        const page: UploadsPage = await deadline.race(this.client.uploads(apiKey, lastKey), what)
        deadline.touch()
        const list: readonly UploadRecord[] = Array.isArray(page?.fileList) ? page.fileList : []
        for (const record of list) if (sameCid(record.cid, parsed)) ids.push(record.id)
        seen += list.length
        const last: string | null = list.at(-1)?.id ?? null
        if (list.length === 0 || seen >= Number(page.totalFiles) || last === lastKey) break
        lastKey = last
      }
      if (ids.length === 0) {
        throw new NotFoundError(`${what}: not among this account's Lighthouse uploads`)
      }
      for (const id of ids) {
        await deadline.race(this.client.deleteFile(apiKey, id), what)
        deadline.touch()
      }
      this.#logger.info('removed from Lighthouse', { cid: parsed.toString(), uploads: ids.length })
    } catch (err) {
      throw this.#failure(err, what, this.client.endpoints.apiUrl, deadline)
    } finally {
      deadline.dispose()
    }
  }

  /** The Filecoin deals Lighthouse reports for a CID (an empty list until deals are made). */
  async dealStatus(
    cid: CidString,
    options: StorageCallOptions = {},
  ): Promise<readonly FilecoinDeal[]> {
    const parsed = parseCid(cid)
    const what = `dealStatus ${cid}`
    const deadline = this.#deadline(options)
    try {
      const deals = await deadline.race(this.client.dealStatus(parsed.toString()), what)
      return Array.isArray(deals) ? deals : []
    } catch (err) {
      throw this.#failure(err, what, this.client.endpoints.apiUrl, deadline)
    } finally {
      deadline.dispose()
    }
  }
}
