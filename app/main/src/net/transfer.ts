// Files in and out of a storage plugin, streamed: nothing is buffered whole, and a download lands
// under its final name only once it is complete and within its size bound.

import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { ResourceLimitError, type CidString, type StoragePlugin } from '@wholesum/plugin-api'

export async function putFile(
  storage: StoragePlugin,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<CidString> {
  return await storage.put(createReadStream(path, { highWaterMark: 1 << 20 }), {
    pin: true,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  })
}

export async function fetchToFile(
  storage: StoragePlugin,
  cid: CidString,
  file: string,
  options: { maxBytes: number; signal?: AbortSignal; timeoutMs?: number },
): Promise<number> {
  const partial = `${file}.partial`
  let bytes = 0
  const source = storage.get(cid, {
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  })
  async function* bounded(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      bytes += chunk.byteLength
      if (bytes > options.maxBytes) {
        throw new ResourceLimitError(`${cid} is larger than the ${options.maxBytes}-byte limit`)
      }
      yield chunk
    }
  }
  try {
    await pipeline(bounded(), createWriteStream(partial))
    await rename(partial, file)
    return bytes
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
}
