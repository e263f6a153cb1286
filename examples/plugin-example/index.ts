// Example plugin: an in-memory content-addressed store keyed by `sha256-<hex>` (example only, not IPFS).
//
// Keys are NOT CIDs and nothing leaves the process: the data is gone when the plugin is
// deactivated. It exists to show a plugin's shape: a manifest, one default export, one kind.

import {
  AbortError,
  InvalidInputError,
  NotFoundError,
  definePlugin,
  type CidString,
  type StorageCallOptions,
  type StoragePlugin,
  type StorageStat,
} from '@wholesum/plugin-api'

const KEY_PATTERN = /^sha256-[0-9a-f]{64}$/
const CHUNK_BYTES = 64 * 1024
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024

interface Entry {
  readonly bytes: Uint8Array
  pinned: boolean
}

export interface MemoryStorage extends StoragePlugin {
  /** Drops everything; called on deactivate. */
  clear(): void
}

/** A store holding at most `maxBytes` in total; `timeoutMs` is ignored, nothing here waits. */
export function createMemoryStorage(options: { maxBytes: number }): MemoryStorage {
  const entries = new Map<string, Entry>()
  let used = 0

  const need = (key: CidString): Entry => {
    if (!KEY_PATTERN.test(key)) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `"${key}" is not a key of this store (sha256-<64 hex>)`,
      )
    }
    const entry = entries.get(key)
    if (entry === undefined) throw new NotFoundError(`${key} is not stored here`)
    return entry
  }

  return {
    async put(data, opts = {}) {
      checkSignal(opts)
      const bytes = await collect(data, opts, options.maxBytes - used)
      const key = await keyOf(bytes)
      const existing = entries.get(key)
      if (existing !== undefined) {
        if (opts.pin === true) existing.pinned = true
        return key
      }
      entries.set(key, { bytes, pinned: opts.pin === true })
      used += bytes.byteLength
      return key
    },

    async *get(key, opts = {}) {
      const { bytes } = need(key)
      // Check the bytes against their key before yielding any, as the interface asks.
      if ((await keyOf(bytes)) !== key) throw new Error(`stored bytes for ${key} are corrupt`)
      for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
        checkSignal(opts)
        const chunk = bytes.slice(offset, offset + CHUNK_BYTES)
        opts.onProgress?.({ bytes: offset + chunk.byteLength, total: bytes.byteLength })
        yield chunk
      }
    },

    async has(key) {
      return KEY_PATTERN.test(key) && entries.has(key)
    },

    async pin(key) {
      need(key).pinned = true
    },

    async unpin(key) {
      need(key).pinned = false
    },

    async stat(key): Promise<StorageStat> {
      const entry = need(key)
      return { cid: key, size: entry.bytes.byteLength, pinned: entry.pinned, local: true }
    },

    clear() {
      entries.clear()
      used = 0
    },
  }
}

export default definePlugin((ctx) => {
  const configured = ctx.settings.maxBytes
  const maxBytes = typeof configured === 'number' && configured > 0 ? configured : DEFAULT_MAX_BYTES
  const storage = createMemoryStorage({ maxBytes })
  ctx.logger.info('in-memory example storage ready (not IPFS; data is lost on deactivate)', {
    maxBytes,
  })
  return {
    storage,
    deactivate() {
      storage.clear()
    },
  }
})

/** `sha256-` + the hex SHA-256 of `bytes`, using Web Crypto (global in Node, no import needed). */
async function keyOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>),
  )
  return 'sha256-' + Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

async function collect(
  data: Uint8Array | AsyncIterable<Uint8Array>,
  opts: StorageCallOptions,
  room: number,
): Promise<Uint8Array> {
  const tooLarge = (n: number) =>
    new InvalidInputError(
      'INPUT_TOO_LARGE',
      `${n} bytes do not fit; ${Math.max(room, 0)} bytes left`,
    )
  if (data instanceof Uint8Array) {
    if (data.byteLength > room) throw tooLarge(data.byteLength)
    opts.onProgress?.({ bytes: data.byteLength, total: data.byteLength })
    return data.slice() // our own copy: the caller may reuse its buffer
  }
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of data) {
    checkSignal(opts)
    total += chunk.byteLength
    if (total > room) throw tooLarge(total)
    chunks.push(chunk.slice())
    opts.onProgress?.({ bytes: total })
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

function checkSignal(opts: StorageCallOptions): void {
  if (opts.signal?.aborted === true) throw new AbortError()
}
