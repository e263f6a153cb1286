// Finding a running daemon from Node: its data dir holds the API's address and the token.

import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { join } from 'node:path'
import { ApiClient } from './client.ts'
import type { Upload, UploadKind } from './schemas.ts'

/** Written by the daemon when its API listens; removed when it stops. */
export const API_FILE = 'api.json'
/** The per-install token, mode 0600: whoever can read it may drive the node. */
export const TOKEN_FILE = 'api-token'

export interface ApiEndpoint {
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly peerId: string
}

/** Thrown when no daemon runs on a home; the message says how to start one. */
export class NoDaemonError extends Error {
  override readonly name = 'NoDaemonError'
}

export async function readEndpoint(home: string): Promise<ApiEndpoint> {
  let text: string
  try {
    text = await readFile(join(home, API_FILE), 'utf8')
  } catch {
    throw new NoDaemonError(
      `no daemon is running on ${home} (no ${API_FILE}); start one with \`wholesum node\` (it runs until stopped)`,
    )
  }
  const endpoint = JSON.parse(text) as ApiEndpoint
  try {
    process.kill(endpoint.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
      throw new NoDaemonError(
        `the daemon of ${home} (pid ${endpoint.pid}) is not running; start one with \`wholesum node\` (it runs until stopped)`,
      )
    }
  }
  return endpoint
}

/** A client of the daemon that runs on `home`. */
export async function connect(home: string): Promise<ApiClient> {
  const endpoint = await readEndpoint(home)
  const token = (await readFile(join(home, TOKEN_FILE), 'utf8')).trim()
  return new ApiClient({ baseUrl: endpoint.url, token })
}

/** Streams a file on disk to the daemon as an upload of `kind`. */
export function uploadFile(
  api: ApiClient,
  kind: UploadKind,
  path: string,
  signal?: AbortSignal,
): Promise<Upload> {
  return api.upload(
    kind,
    Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
    signal,
  )
}
