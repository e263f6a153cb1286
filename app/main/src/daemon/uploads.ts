// Files streamed to the daemon ahead of a job, a verify or a plugin install: written to disk
// within a per-kind size limit, named by a random ID, swept when unused for an hour.

import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidInputError, NotFoundError } from '@wholesum/plugin-api'
import type { Upload, UploadKind } from '@wholesum/api-client'

export type UploadLimits = Readonly<Record<UploadKind, number>>

/** Thrown when an upload passes its kind's limit; nothing of it is kept. */
export class UploadTooLargeError extends InvalidInputError {
  constructor(kind: UploadKind, limit: number) {
    super('INPUT_TOO_LARGE', `a ${kind} upload may have at most ${limit} bytes`)
  }
}

export const UPLOAD_TTL_MS = 3_600_000

export class UploadStore {
  readonly dir: string
  private readonly limits: UploadLimits

  constructor(dir: string, limits: UploadLimits) {
    this.dir = dir
    this.limits = limits
  }

  limit(kind: UploadKind): number {
    return this.limits[kind]
  }

  /** Streams `body` to disk; rejects (keeping nothing) past the limit or on a broken stream. */
  async receive(kind: UploadKind, body: Readable, signal?: AbortSignal): Promise<Upload> {
    await mkdir(this.dir, { recursive: true })
    const id = randomBytes(16).toString('hex')
    const file = join(this.dir, id)
    const limit = this.limits[kind]
    const hash = createHash('sha256')
    let bytes = 0
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length
        if (bytes > limit) done(new UploadTooLargeError(kind, limit))
        else {
          hash.update(chunk)
          done(null, chunk)
        }
      },
    })
    try {
      await pipeline(
        body,
        meter,
        createWriteStream(file, { mode: 0o600 }),
        signal ? { signal } : {},
      )
    } catch (err) {
      await rm(file, { force: true })
      throw err
    }
    const upload: Upload = { id, kind, bytes, sha256: hash.digest('hex') }
    await writeFile(`${file}.json`, JSON.stringify(upload))
    return upload
  }

  /** The file of an upload of this kind, or NotFoundError. */
  async path(id: string, kind?: UploadKind): Promise<string> {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new NotFoundError(`no upload ${id}`)
    let upload: Upload
    try {
      upload = JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as Upload
    } catch {
      throw new NotFoundError(`no upload ${id} (uploads are kept for an hour)`)
    }
    if (kind !== undefined && upload.kind !== kind) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `upload ${id} is a ${upload.kind}, not a ${kind}`,
      )
    }
    return join(this.dir, id)
  }

  async remove(id: string): Promise<void> {
    if (!/^[0-9a-f]{32}$/.test(id)) return
    await rm(join(this.dir, id), { force: true })
    await rm(join(this.dir, `${id}.json`), { force: true })
  }

  /** Removes uploads older than the TTL; returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch {
      return 0
    }
    let removed = 0
    for (const name of names) {
      if (!/^[0-9a-f]{32}$/.test(name)) continue
      const info = await stat(join(this.dir, name)).catch(() => undefined)
      if (info !== undefined && now - info.mtimeMs > UPLOAD_TTL_MS) {
        await this.remove(name)
        removed += 1
      }
    }
    return removed
  }
}
