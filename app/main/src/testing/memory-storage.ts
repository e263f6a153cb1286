// A StoragePlugin held in memory, for fast tests of what sits above storage (the API, views).
// Content is addressed as the real store addresses it: a CIDv1 of the bytes' sha-256.

import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { NotFoundError, type StoragePlugin } from '@wholesum/plugin-api'

export class MemoryStorage implements StoragePlugin {
  readonly blobs = new Map<string, Uint8Array>()
  readonly pins = new Set<string>()

  async put(
    data: Uint8Array | AsyncIterable<Uint8Array>,
    options?: { pin?: boolean },
  ): Promise<string> {
    let bytes: Uint8Array
    if (data instanceof Uint8Array) bytes = data
    else {
      const chunks: Uint8Array[] = []
      for await (const chunk of data) chunks.push(chunk)
      bytes = Buffer.concat(chunks)
    }
    const cid = CID.createV1(raw.code, await sha256.digest(bytes)).toString()
    this.blobs.set(cid, new Uint8Array(bytes))
    if (options?.pin !== false) this.pins.add(cid)
    return cid
  }

  async *get(cid: string): AsyncIterable<Uint8Array> {
    const bytes = this.blobs.get(cid)
    if (bytes === undefined) throw new NotFoundError(`no block ${cid}`)
    yield bytes
  }

  async has(cid: string): Promise<boolean> {
    return this.blobs.has(cid)
  }

  async pin(cid: string): Promise<void> {
    if (!this.blobs.has(cid)) throw new NotFoundError(`no block ${cid}`)
    this.pins.add(cid)
  }

  async unpin(cid: string): Promise<void> {
    this.pins.delete(cid)
  }

  async stat(cid: string) {
    const bytes = this.blobs.get(cid)
    if (bytes === undefined) throw new NotFoundError(`no block ${cid}`)
    return { cid, size: bytes.length, pinned: this.pins.has(cid), local: true }
  }
}
