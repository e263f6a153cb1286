// A FAKE of Lighthouse's HTTP API for tests: three local servers on 127.0.0.1, never the service.
//
// THIS IS NOT LIGHTHOUSE. Lighthouse's real service cannot be reached from here (and tests must
// never leave 127.0.0.0/8), so this fake implements exactly the endpoints that
// @lighthouse-web3/sdk 0.4.7 and this plugin call, with the request and answer shapes that
// Lighthouse documents (docs.lighthouse.storage, the SDK's sources):
//
//   upload server ("lighthouseNode")
//     POST /api/v0/add?cid-version=0|1[&wrap-with-directory=false]   Bearer key, multipart `file`
//          → {"Name","Hash","Size"}  (Kubo's add answer; Size = cumulative DAG size, a string)
//   API server ("lighthouseAPI")
//     GET    /api/lighthouse/file_info?cid=        (no key, as the SDK sends none)
//          → {fileSizeInBytes, cid, encryption, fileName, mimeType, txHash}
//     GET    /api/lighthouse/deal_status?cid=      (no key) → [deal, …] ([] until deals exist)
//     POST   /api/lighthouse/pin  {cid, fileName}  Bearer key
//     GET    /api/user/files_uploaded?lastKey=     Bearer key → {fileList, totalFiles}, 2000 a page
//     DELETE /api/user/delete_file?id=             Bearer key → {message}
//   gateway
//     GET|HEAD /ipfs/<cid>                         the file's bytes, streamed
//
// CIDs are computed as Kubo computes them (UnixFS, fixed 262144-byte chunks, balanced layout of
// 174 links; cid-version 0 → dag-pb leaves, 1 → raw leaves), on purpose without the plugin's own
// code, and checked against Debian's `ipfs_cid` in fake-lighthouse.test.ts.
//
// What is the fake's own choice, because Lighthouse does not document it: the status and text of
// errors (401 {"error"} for a missing or unknown key, 404 {"error"} for an unknown CID or id, 400
// for a malformed request), `deal_status` of a stored CID with no deals ([]), deal values (made
// up; tests add them with `addDeal`), pinning only content the fake already holds (the real
// service would fetch it from IPFS), and only one file part per upload.
//
// Test controls: `corrupt(cid)` flips a byte of what the gateway serves, `tamperUploads` stores
// a flipped byte (so Lighthouse answers a wrong CID), `stall(service)` stops answering.

import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { importByteStream } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import { boundaryOf, multipartParts } from './multipart.ts'

export type FakeService = 'api' | 'upload' | 'gateway'

export interface FakeDeal {
  pieceCID: string
  payloadCid: string
  pieceSize: number
  carFileSize: number
  dealId: number
  chainDealID: number
  miner: string
  storageProvider: string
  content: number
  dealStatus: string
  startEpoch: number
  endEpoch: number
  publishCid: string
  dealUUID: string
  providerCollateral: string
  lastUpdate: number
}

export interface FakeRequest {
  readonly service: FakeService
  readonly method: string
  /** Path and query as received (the Authorization header is never recorded). */
  readonly url: string
  /** Whether a Bearer key the fake accepts came with it. */
  readonly authorized: boolean
}

export interface FakeLighthouseOptions {
  /** The API keys the fake accepts, each one an account. */
  readonly apiKeys?: readonly string[]
  /** Uploads listed per `files_uploaded` page (Lighthouse: 2000). */
  readonly pageSize?: number
}

export interface FakeLighthouse {
  readonly apiUrl: string
  readonly uploadUrl: string
  readonly gatewayUrl: string
  /** Every request, in order. */
  readonly requests: FakeRequest[]
  /** When true, uploads are stored with one byte flipped (Lighthouse answers a wrong CID). */
  tamperUploads: boolean
  /** Flips one byte of the content the gateway serves for `cid` (an empty file gains a byte). */
  corrupt(cid: string): void
  /**
   * Stops answering on a service: requests are held open until `unstall` or `close`. For the
   * gateway, `afterBytes` sends the headers and that many bytes first, then stalls.
   */
  stall(service: FakeService, options?: { afterBytes?: number }): void
  unstall(): void
  /** Adds a Filecoin deal for a stored CID (values made up, shaped as Lighthouse documents). */
  addDeal(cid: string, deal?: Partial<FakeDeal>): FakeDeal
  /** Whether the fake holds content for this CID. */
  holds(cid: string): boolean
  close(): Promise<void>
}

const CHUNK = 262_144

interface Content {
  bytes: Buffer
  dagSize: bigint
  deals: FakeDeal[]
}

interface UploadRecord {
  id: string
  account: string
  cid: string
  fileName: string
  mimeType: string | null
  fileSizeInBytes: string
  createdAt: number
  lastUpdate: number
}

/** A CID in one canonical form (v1, base32), so v0 and v1 spellings of one DAG meet. */
function keyOf(cid: string): string | undefined {
  try {
    return CID.parse(cid).toV1().toString()
  } catch {
    return undefined
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const pieces: Buffer[] = []
  let size = 0
  for await (const piece of req as AsyncIterable<Buffer>) {
    size += piece.length
    if (size > 64 * 1024) throw new Error('body too large')
    pieces.push(piece)
  }
  return JSON.parse(Buffer.concat(pieces).toString('utf8'))
}

export async function startFakeLighthouse(
  options: FakeLighthouseOptions = {},
): Promise<FakeLighthouse> {
  const keys = new Set(options.apiKeys ?? [])
  const pageSize = options.pageSize ?? 2000
  const contents = new Map<string, Content>()
  const records: UploadRecord[] = []
  const requests: FakeRequest[] = []
  const stalled = new Map<FakeService, { afterBytes?: number }>()
  const held = new Set<ServerResponse>()
  let dealCounter = 0

  /** The account (its key) of a request, or undefined when the key is missing or unknown. */
  function account(req: IncomingMessage): string | undefined {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    return match?.[1] !== undefined && keys.has(match[1]) ? match[1] : undefined
  }

  function hold(res: ServerResponse): void {
    held.add(res)
    res.on('close', () => held.delete(res))
  }

  function record(acct: string, cid: string, fileName: string, size: number): void {
    const now = Date.now()
    records.push({
      id: randomUUID(),
      account: acct,
      cid,
      fileName,
      mimeType: null,
      fileSizeInBytes: String(size),
      createdAt: now,
      lastUpdate: now,
    })
  }

  async function add(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const acct = account(req)
    if (acct === undefined) return json(res, 401, { error: 'Authentication failed' })
    const version = url.searchParams.get('cid-version') ?? '0'
    if (version !== '0' && version !== '1') return json(res, 400, { error: 'bad cid-version' })
    if (url.searchParams.get('wrap-with-directory') === 'true') {
      return json(res, 400, { error: 'this fake does not wrap with a directory' })
    }
    const boundary = boundaryOf(req.headers['content-type'])
    if (boundary === undefined) return json(res, 400, { error: 'expected multipart/form-data' })

    const answers: Array<{ Name: string; Hash: string; Size: string }> = []
    for await (const part of multipartParts(req as AsyncIterable<Uint8Array>, boundary)) {
      if (part.filename === undefined) {
        for await (const _ of part.body) void _
        continue
      }
      if (answers.length > 0) return json(res, 400, { error: 'this fake takes one file a request' })
      const kept: Buffer[] = []
      async function* keep(): AsyncGenerator<Uint8Array> {
        for await (const piece of part.body) {
          kept.push(piece)
          yield piece
        }
      }
      let bytes: Buffer
      let cid: CID
      let dagSize: bigint
      if (fake.tamperUploads) {
        // Consume the upload, flip a byte, and hash what is then stored.
        for await (const _ of keep()) void _
        bytes = Buffer.concat(kept)
        if (bytes.length === 0) bytes = Buffer.from([0])
        else bytes[0] = bytes[0]! ^ 0xff
        ;({ cid, size: dagSize } = await kuboImport(pieces(bytes), version === '1' ? 1 : 0))
      } else {
        ;({ cid, size: dagSize } = await kuboImport(keep(), version === '1' ? 1 : 0))
        bytes = Buffer.concat(kept)
      }
      const hash = cid.toString()
      const key = keyOf(hash)!
      const existing = contents.get(key)
      if (existing === undefined) contents.set(key, { bytes, dagSize, deals: [] })
      record(acct, hash, part.filename, bytes.length)
      answers.push({ Name: part.filename, Hash: hash, Size: String(dagSize) })
    }
    const answer = answers[0]
    if (answer === undefined) return json(res, 400, { error: 'no file in the request' })
    // Kubo streams one JSON object per line; for one file that is a single line.
    const text = `${JSON.stringify(answer)}\n`
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    res.end(text)
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname}`
    if (route === 'GET /api/lighthouse/file_info') {
      const cid = url.searchParams.get('cid') ?? ''
      const key = keyOf(cid)
      const found = key === undefined ? undefined : records.find((r) => keyOf(r.cid) === key)
      if (found === undefined) return json(res, 404, { error: 'file not found' })
      return json(res, 200, {
        fileSizeInBytes: found.fileSizeInBytes,
        cid: found.cid,
        encryption: false,
        fileName: found.fileName,
        mimeType: found.mimeType,
        txHash: '',
      })
    }
    if (route === 'GET /api/lighthouse/deal_status') {
      const key = keyOf(url.searchParams.get('cid') ?? '')
      const content = key === undefined ? undefined : contents.get(key)
      if (content === undefined) return json(res, 404, { error: 'file not found' })
      return json(res, 200, content.deals)
    }
    const acct = account(req)
    if (route === 'POST /api/lighthouse/pin') {
      if (acct === undefined) return json(res, 401, { error: 'Authentication failed' })
      const body = (await readJson(req).catch(() => undefined)) as
        { cid?: unknown; fileName?: unknown } | undefined
      const cid = typeof body?.cid === 'string' ? body.cid : ''
      const key = keyOf(cid)
      if (key === undefined) return json(res, 400, { error: 'invalid cid' })
      const content = contents.get(key)
      if (content === undefined) {
        return json(res, 404, { error: 'this fake pins only content it already holds' })
      }
      if (!records.some((r) => r.account === acct && keyOf(r.cid) === key)) {
        const name = typeof body?.fileName === 'string' ? body.fileName : cid
        record(acct, cid, name, content.bytes.length)
      }
      return json(res, 200, { cid, fileName: body?.fileName ?? null })
    }
    if (route === 'GET /api/user/files_uploaded') {
      if (acct === undefined) return json(res, 401, { error: 'Authentication failed' })
      const mine = records.filter((r) => r.account === acct)
      const lastKey = url.searchParams.get('lastKey')
      const start =
        lastKey === null || lastKey === 'null' ? 0 : mine.findIndex((r) => r.id === lastKey) + 1
      const fileList = mine.slice(start, start + pageSize).map(({ account: _, ...rest }) => ({
        publicKey: '',
        txHash: '',
        status: 'queued',
        encryption: false,
        ...rest,
      }))
      return json(res, 200, { fileList, totalFiles: mine.length })
    }
    if (route === 'DELETE /api/user/delete_file') {
      if (acct === undefined) return json(res, 401, { error: 'Authentication failed' })
      const at = records.findIndex((r) => r.account === acct && r.id === url.searchParams.get('id'))
      if (at < 0) return json(res, 404, { error: 'file not found' })
      const [gone] = records.splice(at, 1)
      const key = keyOf(gone!.cid)!
      // Content no upload refers to any more is dropped (a real node would garbage-collect it).
      if (!records.some((r) => keyOf(r.cid) === key)) contents.delete(key)
      return json(res, 200, { message: 'File deleted successfully.' })
    }
    return json(res, 404, { error: `no route ${route}` })
  }

  async function gateway(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = /^\/ipfs\/([^/]+)$/.exec(url.pathname)
    if ((req.method !== 'GET' && req.method !== 'HEAD') || match === null) {
      return json(res, 404, { error: 'not found' })
    }
    const key = keyOf(match[1]!)
    if (key === undefined) return json(res, 400, { error: 'invalid cid' })
    const content = contents.get(key)
    if (content === undefined) return json(res, 404, { error: 'not found' })
    const stall = stalled.get('gateway')
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': content.bytes.length,
      etag: `"${match[1]}"`,
      'x-ipfs-path': `/ipfs/${match[1]}`,
      'cache-control': 'public, max-age=29030400, immutable',
    })
    if (req.method === 'HEAD') return void res.end()
    const limit = stall?.afterBytes ?? Number.POSITIVE_INFINITY
    for (let at = 0; at < content.bytes.length; at += CHUNK) {
      const piece = content.bytes.subarray(at, Math.min(at + CHUNK, content.bytes.length, limit))
      if (piece.length === 0) break
      if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve))
      if (res.destroyed) return
    }
    if (content.bytes.length > limit) return hold(res)
    res.end()
  }

  function serve(service: FakeService, handler: typeof api): Server {
    return createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      requests.push({
        service,
        method: req.method ?? '',
        url: req.url ?? '',
        authorized: account(req) !== undefined,
      })
      const stall = stalled.get(service)
      if (stall !== undefined && !(service === 'gateway' && stall.afterBytes !== undefined)) {
        // Hold the request: read nothing more, answer nothing.
        req.pause()
        return hold(res)
      }
      handler(req, res, url).catch((err: unknown) => {
        if (!res.headersSent) json(res, 400, { error: (err as Error).message })
        else res.destroy()
      })
    })
  }

  const servers = {
    api: serve('api', api),
    upload: serve('upload', async (req, res, url) => {
      if (req.method === 'POST' && url.pathname === '/api/v0/add') return add(req, res, url)
      return json(res, 404, { error: 'not found' })
    }),
    gateway: serve('gateway', gateway),
  }
  const urls: Record<FakeService, string> = { api: '', upload: '', gateway: '' }
  for (const [name, server] of Object.entries(servers) as Array<[FakeService, Server]>) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  const fake: FakeLighthouse = {
    apiUrl: urls.api,
    uploadUrl: urls.upload,
    gatewayUrl: urls.gateway,
    requests,
    tamperUploads: false,
    corrupt(cid) {
      const key = keyOf(cid)
      const content = key === undefined ? undefined : contents.get(key)
      if (content === undefined) throw new Error(`fake lighthouse holds no ${cid}`)
      if (content.bytes.length === 0) content.bytes = Buffer.from([0])
      else {
        const copy = Buffer.from(content.bytes)
        const at = copy.length - 1
        copy[at] = copy[at]! ^ 0xff
        content.bytes = copy
      }
    },
    stall(service, stallOptions = {}) {
      stalled.set(service, stallOptions)
    },
    unstall() {
      stalled.clear()
    },
    addDeal(cid, deal = {}) {
      const key = keyOf(cid)
      const content = key === undefined ? undefined : contents.get(key)
      if (content === undefined) throw new Error(`fake lighthouse holds no ${cid}`)
      dealCounter += 1
      const made: FakeDeal = {
        pieceCID: 'baga6ea4seaqfake000000000000000000000000000000000000000000000',
        payloadCid: 'bafybeifake00000000000000000000000000000000000000000000000000',
        pieceSize: 34_359_738_368,
        carFileSize: 17_179_869_184,
        dealId: 74_600_000 + dealCounter,
        chainDealID: 74_600_000 + dealCounter,
        miner: 'f01771403',
        storageProvider: 'f01771403',
        content: content.bytes.length,
        dealStatus: 'Sealing: Proving',
        startEpoch: 3_714_464,
        endEpoch: 4_232_864,
        publishCid: 'bafy2bzacefake000000000000000000000000000000000000000000000000',
        dealUUID: randomUUID(),
        providerCollateral: '7.568 mFIL',
        lastUpdate: Date.now(),
        ...deal,
      }
      content.deals.push(made)
      return made
    },
    holds(cid) {
      const key = keyOf(cid)
      return key !== undefined && contents.has(key)
    },
    async close() {
      for (const res of held) res.destroy()
      await Promise.all(
        Object.values(servers).map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve())
              server.closeAllConnections()
            }),
        ),
      )
    },
  }
  return fake
}

async function* pieces(bytes: Buffer): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += CHUNK) yield bytes.subarray(at, at + CHUNK)
}

/** Kubo's `ipfs add` (cid-version 0: dag-pb leaves; 1: raw leaves), hashing only. */
async function kuboImport(
  source: AsyncIterable<Uint8Array>,
  cidVersion: 0 | 1,
): Promise<{ cid: CID; size: bigint }> {
  return await importByteStream(
    source,
    { put: (cid: CID) => cid },
    {
      cidVersion,
      rawLeaves: cidVersion === 1,
      chunker: fixedSize({ chunkSize: CHUNK }),
      layout: balanced({ maxChildrenPerNode: 174 }),
    },
  )
}
