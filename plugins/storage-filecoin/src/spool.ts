// A temporary file that holds one object while it is hashed, so bytes leave only once checked.
//
// put: the SDK uploads from a file path (it streams the file; its buffer upload would hold the
// whole object in memory), and the CID must be known before the upload to check Lighthouse's answer.
// get: a plain gateway response carries no block structure, so the root CID can only be recomputed
// at the end; the bytes wait here until it matches and are never handed out before.

import { mkdtemp, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { AbortError } from '@wholesum/plugin-api'

const READ_CHUNK = 262_144

export class Spool {
  readonly dir: string
  #path: string
  #handle: FileHandle | undefined
  #size = 0

  private constructor(dir: string, handle: FileHandle) {
    this.dir = dir
    this.#path = join(dir, 'object')
    this.#handle = handle
  }

  /** A fresh private folder under `parent` with one empty file in it. */
  static async create(parent: string, prefix: string): Promise<Spool> {
    const dir = await mkdtemp(join(parent, prefix))
    try {
      return new Spool(dir, await open(join(dir, 'object'), 'wx', 0o600))
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  get path(): string {
    return this.#path
  }

  get size(): number {
    return this.#size
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#handle === undefined) throw new Error('spool is closed')
    let written = 0
    while (written < chunk.byteLength) {
      const { bytesWritten } = await this.#handle.write(chunk, written)
      written += bytesWritten
    }
    this.#size += chunk.byteLength
  }

  /** Closes the file; with `name`, renames it (the SDK sends the file's base name as its Name). */
  async finish(name?: string): Promise<void> {
    await this.#handle?.close()
    this.#handle = undefined
    if (name !== undefined) {
      const target = join(this.dir, name)
      await rename(this.#path, target)
      this.#path = target
    }
  }

  /** The file's bytes in 256 KiB pieces; the caller's signal ends the read with AbortError. */
  async *read(signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const handle = await open(this.#path, 'r')
    try {
      for (;;) {
        if (signal?.aborted) throw new AbortError('read aborted')
        const buffer = new Uint8Array(READ_CHUNK)
        const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null)
        if (bytesRead === 0) return
        yield buffer.subarray(0, bytesRead)
      }
    } finally {
      await handle.close()
    }
  }

  /** Removes the folder and everything in it; safe to call twice. */
  async dispose(): Promise<void> {
    await this.#handle?.close().catch(() => undefined)
    this.#handle = undefined
    await rm(this.dir, { recursive: true, force: true })
  }
}
