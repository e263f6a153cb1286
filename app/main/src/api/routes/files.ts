// A file a request names: an earlier upload, or a CID fetched from the node's storage.

import { randomBytes } from 'node:crypto'
import { mkdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import type { FileRef, UploadKind } from '@wholesum/api-client'
import { ResourceLimitError } from '@wholesum/plugin-api'
import { fetchToFile } from '../../net/transfer.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'

export interface ResolvedFile {
  readonly path: string
  /** Removes what the request made or consumed (an upload is used once). */
  release(): Promise<void>
}

export async function resolveFile(
  ctx: ApiContext,
  ref: FileRef,
  kind: UploadKind,
  signal?: AbortSignal,
  options: { keepUpload?: boolean } = {},
): Promise<ResolvedFile> {
  if ('upload' in ref) {
    const path = await ctx.uploads.path(ref.upload, kind)
    // An estimate leaves its uploads for the submission that follows; touched, so that the
    // hour before an unused upload is swept counts from this use, not from the upload.
    if (options.keepUpload === true) {
      const now = new Date()
      await utimes(path, now, now).catch(() => {})
      return { path, release: async () => {} }
    }
    return { path, release: () => ctx.uploads.remove(ref.upload) }
  }
  await mkdir(ctx.uploads.dir, { recursive: true })
  const id = randomBytes(16).toString('hex')
  const path = join(ctx.uploads.dir, id)
  try {
    await fetchToFile(ctx.storage, ref.cid, path, {
      maxBytes: ctx.uploads.limit(kind),
      timeoutMs: 30_000,
      ...(signal !== undefined ? { signal } : {}),
    })
  } catch (err) {
    if (err instanceof ResourceLimitError) throw new HttpError(413, 'INPUT_TOO_LARGE', err.message)
    throw new HttpError(
      422,
      'FETCH_FAILED',
      `${kind} ${ref.cid} could not be fetched: ${(err as Error).message}`,
      `body/${kind}/cid`,
    )
  }
  return { path, release: () => ctx.uploads.remove(id) }
}
