// What the API server may use of the daemon: small interfaces, so routes read as the API and
// tests can hand in a daemon without network roles.

import type {
  NetworkState,
  NodeInfo,
  Settings,
  StorageState,
  SweepResult,
} from '@wholesum/api-client'
import type { ProverPlugin, StoragePlugin } from '@wholesum/plugin-api'
import type { ClientService } from '../net/client-service.ts'
import type { PluginHost } from '../plugins/index.ts'
import type { JobStore } from '../store/index.ts'
import type { EventHub } from '../daemon/event-hub.ts'
import type { UploadStore } from '../daemon/uploads.ts'
import type { JobLimits } from '../jobs/limits.ts'
import type { ApiTokens } from '../daemon/token.ts'
import type { UiTickets } from './ui-tickets.ts'

export interface ApiContext {
  /** The install's token, which every route but a ticket's redemption requires. */
  readonly tokens: ApiTokens
  /** One-time tickets that let a browser page obtain the token. */
  readonly tickets: UiTickets
  /** The built renderer served at `/` (browser mode); absent or missing: `/` says how to build it. */
  readonly uiRoot?: string
  info(): Promise<NodeInfo>
  readonly store: JobStore
  readonly events: EventHub
  readonly uploads: UploadStore
  readonly storage: StoragePlugin
  readonly limits: JobLimits
  /** Present when the node has the client role: only then can jobs be submitted. */
  readonly client?: ClientService
  prover(): Promise<ProverPlugin>
  readonly host: PluginHost
  network(): NetworkState
  /** The node's storage and its housekeeping; absent where the daemon runs none. */
  readonly housekeeping?: {
    state(): StorageState
    sweep(): Promise<SweepResult>
  }
  readSettings(): Promise<Settings>
  writeSettings(settings: Settings): Promise<void>
  /** Origins other than the API's own that may call it. */
  readonly allowedOrigins: readonly string[]
  /** Most events queued for one WebSocket client before it is dropped as too slow. */
  readonly streamQueueLimit?: number
}
