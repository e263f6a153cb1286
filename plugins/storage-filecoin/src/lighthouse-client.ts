// The Lighthouse SDK (and the two endpoints it lacks) pointed at this store's own base URLs.
//
// How the SDK is pointed at a URL: @lighthouse-web3/sdk 0.4.7 has no URL parameter and reads no
// environment variable; every call builds its URL from the exported, mutable object
// `lighthouseConfig` (dist/lighthouse.config.js: `lighthouseAPI`, `lighthouseNode`, …). Each call
// below sets those two fields, starts the SDK call, and restores them before returning. This
// is exact, not a race: in 0.4.7 `upload`, `getFileInfo`, `dealStatus`, `getUploads` and
// `deleteFile` read the config while building the URL, before their first `await`, and JavaScript
// runs nothing else in between. So each call reaches the URLs of the store that made it; other
// stores and other SDK users in the process keep seeing the defaults. A test runs two stores
// against two servers at once and checks the defaults are back after every call. If a future SDK
// read the config after an await, that test would fail rather than send traffic elsewhere unseen.

import {
  dealStatus as sdkDealStatus,
  deleteFile as sdkDeleteFile,
  getFileInfo as sdkGetFileInfo,
  getUploads as sdkGetUploads,
  upload as sdkUpload,
} from '@lighthouse-web3/sdk'
import { lighthouseConfig } from '@lighthouse-web3/sdk/dist/lighthouse.config.js'

/** The real service's URLs (the SDK 0.4.7 defaults; a test checks they still match). */
export const LIGHTHOUSE_API_URL = 'https://api.lighthouse.storage'
export const LIGHTHOUSE_UPLOAD_URL = 'https://upload.lighthouse.storage'
export const LIGHTHOUSE_GATEWAY_URL = 'https://gateway.lighthouse.storage'

export interface LighthouseEndpoints {
  /** `lighthouseAPI`: file info, deal status, uploads list, delete, pin. */
  readonly apiUrl: string
  /** `lighthouseNode`: Kubo-style `/api/v0/add`. */
  readonly uploadUrl: string
  /** An IPFS path gateway: `GET /ipfs/<cid>`. */
  readonly gatewayUrl: string
}

/** Kubo's `add` answer: `Size` is the cumulative size of the DAG, as a string. */
export interface UploadAnswer {
  readonly Name: string
  readonly Hash: string
  readonly Size: string
}

export interface FileInfo {
  readonly fileSizeInBytes: string
  readonly cid: string
  readonly encryption: boolean
  readonly fileName: string
  readonly mimeType: string | null
  readonly txHash?: string
}

/** One Filecoin deal as `deal_status` lists it (fields as documented by Lighthouse). */
export interface FilecoinDeal {
  readonly chainDealID?: number
  readonly dealId?: number
  readonly dealStatus?: string
  readonly dealUUID?: string
  readonly miner?: string
  readonly storageProvider?: string
  readonly pieceCID?: string
  readonly payloadCid?: string
  readonly pieceSize?: number
  readonly carFileSize?: number
  readonly startEpoch?: number
  readonly endEpoch?: number
  readonly publishCid?: string
  readonly providerCollateral?: string
  readonly aggregateIn?: string
  readonly content?: number
  readonly lastUpdate?: number
}

export interface UploadRecord {
  readonly id: string
  readonly cid: string
  readonly fileName?: string
  readonly fileSizeInBytes?: string
}

export interface UploadsPage {
  readonly fileList: readonly UploadRecord[]
  readonly totalFiles: number
}

/** The two SDK config fields this plugin sets; the SDK types the whole object as `any`. */
const sdkConfig = lighthouseConfig as { lighthouseAPI: string; lighthouseNode: string }

export class LighthouseClient {
  readonly endpoints: LighthouseEndpoints

  constructor(endpoints: LighthouseEndpoints) {
    this.endpoints = endpoints
  }

  /** Runs one SDK call with the SDK's config pointing at our URLs while the call starts. */
  #scoped<T>(start: () => Promise<T>): Promise<T> {
    const saved = { api: sdkConfig.lighthouseAPI, node: sdkConfig.lighthouseNode }
    sdkConfig.lighthouseAPI = this.endpoints.apiUrl
    sdkConfig.lighthouseNode = this.endpoints.uploadUrl
    try {
      return start()
    } finally {
      sdkConfig.lighthouseAPI = saved.api
      sdkConfig.lighthouseNode = saved.node
    }
  }

  /** SDK `upload(path)`: streams the file as multipart to `/api/v0/add`; progress in percent. */
  async upload(
    path: string,
    apiKey: string,
    onPercent: (percent: number) => void,
  ): Promise<UploadAnswer> {
    const answer = await this.#scoped(() =>
      sdkUpload(path, apiKey, { cidVersion: 0, onProgress: (p) => onPercent(p.progress) }),
    )
    return answer.data
  }

  /** SDK `getFileInfo`: public, no key. */
  async fileInfo(cid: string): Promise<FileInfo | null> {
    const answer = await this.#scoped(() => sdkGetFileInfo(cid))
    return answer.data as FileInfo | null
  }

  /** SDK `dealStatus`: public, no key. */
  async dealStatus(cid: string): Promise<readonly FilecoinDeal[] | null> {
    const answer = await this.#scoped(() => sdkDealStatus(cid))
    return answer.data as readonly FilecoinDeal[] | null
  }

  /** SDK `getUploads`: this account's uploads, 2000 a page, `lastKey` = id of the last one seen. */
  async uploads(apiKey: string, lastKey: string | null): Promise<UploadsPage> {
    const answer = await this.#scoped(() => sdkGetUploads(apiKey, lastKey))
    return answer.data
  }

  /** SDK `deleteFile`: removes one upload (by its id, not its CID) from the account. */
  async deleteFile(apiKey: string, id: string): Promise<void> {
    await this.#scoped(() => sdkDeleteFile(apiKey, id))
  }

  /**
   * Lighthouse's documented pin API (`POST /api/lighthouse/pin`, JSON `{ cid, fileName }`,
   * Bearer key). SDK 0.4.7 has no function for it, so it is called directly.
   */
  pin(apiKey: string, cid: string, signal: AbortSignal): Promise<Response> {
    return fetch(`${this.endpoints.apiUrl}/api/lighthouse/pin`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ cid, fileName: cid }),
      signal,
    })
  }

  /** The gateway's `GET /ipfs/<cid>` (the SDK has no download function). */
  download(cid: string, signal: AbortSignal): Promise<Response> {
    return fetch(`${this.endpoints.gatewayUrl}/ipfs/${cid}`, { signal })
  }
}
