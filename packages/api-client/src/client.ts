// A small typed client of the daemon's local API over fetch and WebSocket: what the CLI and the
// renderer use. It knows the paths, the token and the error shape; nothing of the core.

import {
  API_PREFIX,
  WS_PROTOCOL,
  WS_TOKEN_PREFIX,
  TERMINAL_STATUSES,
  type EarningList,
  type EarningsQuery,
  type ErrorBody,
  type EventPage,
  type JobDetail,
  type JobEvent,
  type JobList,
  type JobListQuery,
  type NetworkState,
  type NodeInfo,
  type OutputName,
  type PluginList,
  type Settings,
  type SettingsWritten,
  type StorageState,
  type StreamFrame,
  type SweepResult,
  type TokenGrant,
  type UiTicket,
  type SubmitJob,
  type EstimateJob,
  type JobEstimate,
  type JobSummary,
  type Upload,
  type UploadKind,
  type VerifyRequest,
  type VerifyResult,
} from './schemas.ts'

/** A request the daemon refused, or that never reached it; `code` is stable, `status` is HTTP's. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly status: number
  readonly code: string
  readonly field: string | undefined
  constructor(status: number, code: string, message: string, field?: string) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
}

export interface ApiClientOptions {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  readonly token: string
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch
}

export interface WatchOptions {
  /** Resume after this event ID (exclusive); 0 = from the start. */
  readonly after?: number
  readonly signal?: AbortSignal
}

type Body = RequestInit['body'] | undefined

export class ApiClient {
  readonly baseUrl: string
  private readonly token: string
  private readonly fetchImpl: typeof fetch

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '')
    this.token = options.token
    // Unbound, a browser's fetch throws "Illegal invocation" when called as a method.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init))
  }

  info(signal?: AbortSignal): Promise<NodeInfo> {
    return this.json('GET', '/info', undefined, signal)
  }

  /** Streams bytes to the daemon; the returned ID names them in a job, a verify or an install. */
  upload(kind: UploadKind, bytes: Body, signal?: AbortSignal): Promise<Upload> {
    return this.json('PUT', `/uploads?kind=${kind}`, bytes, signal, 'application/octet-stream')
  }

  submit(job: SubmitJob, signal?: AbortSignal): Promise<JobSummary> {
    return this.json('POST', '/jobs', JSON.stringify(job), signal)
  }

  /**
   * Executes a program on the node without submitting it: cycles, segments, and cost and time
   * against the offers seen lately. Uploads it names are kept, to be submitted after.
   */
  estimate(job: EstimateJob, signal?: AbortSignal): Promise<JobEstimate> {
    return this.json('POST', '/jobs/estimate', JSON.stringify(job), signal)
  }

  jobs(query: JobListQuery = {}, signal?: AbortSignal): Promise<JobList> {
    return this.json('GET', `/jobs${queryString(query)}`, undefined, signal)
  }

  job(jobId: string, signal?: AbortSignal): Promise<JobDetail> {
    return this.json('GET', `/jobs/${encodeURIComponent(jobId)}`, undefined, signal)
  }

  events(jobId: string, after = 0, signal?: AbortSignal): Promise<EventPage> {
    return this.json(
      'GET',
      `/jobs/${encodeURIComponent(jobId)}/events?after=${after}`,
      undefined,
      signal,
    )
  }

  cancel(jobId: string, signal?: AbortSignal): Promise<JobSummary> {
    return this.json('POST', `/jobs/${encodeURIComponent(jobId)}/cancel`, undefined, signal)
  }

  /** One output of a finished job, as bytes. */
  async output(jobId: string, name: OutputName, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.send(
      'GET',
      `/jobs/${encodeURIComponent(jobId)}/outputs/${name}`,
      undefined,
      signal,
    )
    return new Uint8Array(await response.arrayBuffer())
  }

  /** The earnings ledger: each party's row per job, newest first, and the totals per role. */
  earnings(query: EarningsQuery = {}, signal?: AbortSignal): Promise<EarningList> {
    return this.json('GET', `/earnings${queryString(query)}`, undefined, signal)
  }

  verify(request: VerifyRequest, signal?: AbortSignal): Promise<VerifyResult> {
    return this.json('POST', '/verify', JSON.stringify(request), signal)
  }

  plugins(signal?: AbortSignal): Promise<PluginList> {
    return this.json('GET', '/plugins', undefined, signal)
  }

  installPlugin(upload: string, signal?: AbortSignal): Promise<PluginList> {
    return this.json('POST', '/plugins', JSON.stringify({ upload }), signal)
  }

  setPluginEnabled(name: string, enabled: boolean, signal?: AbortSignal): Promise<PluginList> {
    return this.json(
      'POST',
      `/plugins/${encodeURIComponent(name)}/${enabled ? 'enable' : 'disable'}`,
      undefined,
      signal,
    )
  }

  uninstallPlugin(name: string, signal?: AbortSignal): Promise<PluginList> {
    return this.json('DELETE', `/plugins/${encodeURIComponent(name)}`, undefined, signal)
  }

  network(signal?: AbortSignal): Promise<NetworkState> {
    return this.json('GET', '/network', undefined, signal)
  }

  storage(signal?: AbortSignal): Promise<StorageState> {
    return this.json('GET', '/storage', undefined, signal)
  }

  /** Runs storage housekeeping now: releases what retention lets go of, then collects. */
  sweepStorage(signal?: AbortSignal): Promise<SweepResult> {
    return this.json('POST', '/storage/sweep', undefined, signal)
  }

  settings(signal?: AbortSignal): Promise<Settings> {
    return this.json('GET', '/settings', undefined, signal)
  }

  writeSettings(settings: Settings, signal?: AbortSignal): Promise<SettingsWritten> {
    return this.json('PUT', '/settings', JSON.stringify(settings), signal)
  }

  /** A one-time URL that opens the browser UI with this node (what `wholesum ui` prints). */
  uiTicket(signal?: AbortSignal): Promise<UiTicket> {
    return this.json('POST', '/ui/tickets', undefined, signal)
  }

  /** Replaces the install token; this client (and every other) must use the new one. */
  rotateToken(signal?: AbortSignal): Promise<TokenGrant> {
    return this.json('POST', '/token/rotate', undefined, signal)
  }

  /** Trades a UI ticket for the token: the one call made without a token. */
  static async redeemTicket(
    baseUrl: string,
    ticket: string,
    fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ): Promise<string> {
    const response = await fetchImpl(`${baseUrl.replace(/\/$/, '')}${API_PREFIX}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ticket }),
    })
    if (!response.ok) throw await apiErrorOf(response)
    return ((await response.json()) as TokenGrant).token
  }

  /**
   * A job's events, in order, from `after` on, then live until the job ends. On a dropped
   * connection it reconnects after the last event it yielded, so nothing is missed or repeated.
   */
  async *watch(
    jobId: string,
    options: WatchOptions = {},
  ): AsyncGenerator<JobEvent, JobSummary['status']> {
    let after = options.after ?? 0
    let failures = 0
    for (;;) {
      options.signal?.throwIfAborted()
      const frames = this.stream(jobId, after, options.signal)
      try {
        for await (const frame of frames) {
          failures = 0
          if (frame.type === 'end') return frame.status
          after = frame.event.id
          yield frame.event
        }
      } catch (err) {
        if (err instanceof ApiError || options.signal?.aborted === true) throw err
        failures += 1
        if (failures > 5) throw err
        await new Promise((r) => setTimeout(r, 200 * 2 ** failures))
        continue
      }
      // Closed without an end frame: ask again where the job is.
      const job = await this.job(jobId, options.signal)
      if (TERMINAL_STATUSES.includes(job.status)) {
        const rest = await this.events(jobId, after, options.signal)
        for (const event of rest.events) yield event
        return job.status
      }
    }
  }

  /** One WebSocket connection's frames; throws ApiError when the upgrade is refused. */
  async *stream(jobId: string, after: number, signal?: AbortSignal): AsyncGenerator<StreamFrame> {
    const url = `${this.baseUrl.replace(/^http/, 'ws')}${API_PREFIX}/jobs/${encodeURIComponent(jobId)}/stream?after=${after}`
    const socket = new WebSocket(url, [WS_PROTOCOL, WS_TOKEN_PREFIX + this.token])
    const queue: StreamFrame[] = []
    let wake: (() => void) | undefined
    let closed: { code: number; reason: string } | undefined
    let opened = false
    socket.onopen = () => {
      opened = true
    }
    socket.onmessage = (message) => {
      queue.push(JSON.parse(String(message.data)) as StreamFrame)
      wake?.()
    }
    socket.onclose = (event) => {
      closed = { code: event.code, reason: event.reason }
      wake?.()
    }
    socket.onerror = () => wake?.()
    const onAbort = () => socket.close(1000, 'aborted')
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!
        if (closed !== undefined) {
          if (!opened) {
            // The upgrade was refused; ask over HTTP to learn why (same checks, a readable body).
            await this.job(jobId, signal)
            throw new Error(`event stream of job ${jobId} refused (${closed.code})`)
          }
          if (closed.code >= 4000)
            throw new ApiError(closed.code - 3600, 'STREAM_CLOSED', closed.reason)
          return
        }
        await new Promise<void>((r) => (wake = r))
        wake = undefined
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)
        socket.close(1000)
    }
  }

  private async json<T>(
    method: string,
    path: string,
    body: Body,
    signal?: AbortSignal,
    type = 'application/json',
  ): Promise<T> {
    const response = await this.send(method, path, body, signal, type)
    return (await response.json()) as T
  }

  private async send(
    method: string,
    path: string,
    body: Body,
    signal?: AbortSignal,
    type = 'application/json',
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` }
    if (body !== undefined && body !== null) headers['content-type'] = type
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body: body ?? null }
    if (signal !== undefined) init.signal = signal
    // A stream body needs half duplex in fetch.
    if (body !== undefined && body !== null && typeof body === 'object' && 'getReader' in body)
      init.duplex = 'half'
    const response = await this.fetchImpl(`${this.baseUrl}${API_PREFIX}${path}`, init)
    if (!response.ok) throw await apiErrorOf(response)
    return response
  }
}

/** `?k=v&…` of the parameters given, or nothing. */
function queryString(query: object): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v))
  return params.size > 0 ? `?${params}` : ''
}

/** The API's error body as an ApiError; any other body keeps the HTTP status. */
async function apiErrorOf(response: Response): Promise<ApiError> {
  let error: ErrorBody['error'] = {
    code: `HTTP_${response.status}`,
    message: response.statusText,
  }
  try {
    error = ((await response.json()) as ErrorBody).error ?? error
  } catch {
    // not our error shape
  }
  return new ApiError(response.status, error.code, error.message, error.field)
}
