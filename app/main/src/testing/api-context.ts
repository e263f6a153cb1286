// An ApiContext without network roles, on a real job store and upload folder: what the API's
// tests and its benchmark serve. Jobs cannot be submitted (no client role); the rest is real.

import type { ProverPlugin } from '@wholesum/plugin-api'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { UiTickets } from '../api/ui-tickets.ts'
import { DEFAULT_JOB_LIMITS } from '../jobs/limits.ts'
import type { ApiContext } from '../api/context.ts'
import { EventHub } from '../daemon/event-hub.ts'
import { UploadStore, type UploadLimits } from '../daemon/uploads.ts'
import type { PluginHost } from '../plugins/index.ts'
import { Housekeeper } from '../housekeeping/housekeeper.ts'
import { createLogger } from '../log/logger.ts'
import { JobStore } from '../store/index.ts'
import { MemoryStorage } from './memory-storage.ts'

export interface TestApiContext extends ApiContext {
  readonly store: JobStore
  readonly events: EventHub
  readonly uploads: UploadStore
  readonly storage: MemoryStorage
}

export function testApiContext(
  dir: string,
  options: {
    token: string
    uploadLimit?: number
    allowedOrigins?: readonly string[]
    uiRoot?: string
    clock?: () => number
    prover?: () => Promise<ProverPlugin>
  },
): TestApiContext {
  const limit = options.uploadLimit ?? 1 << 20
  const limits: UploadLimits = {
    program: limit,
    input: limit,
    receipt: limit,
    journal: limit,
    plugin: limit,
  }
  const store = JobStore.open(join(dir, 'jobs.sqlite'))
  const storage = new MemoryStorage()
  // Retention 0: a finished job's pins go at the first sweep (the tests sweep by hand).
  const housekeeper = new Housekeeper({
    store,
    storage,
    policy: { workMs: 0, outputsMs: 0 },
    logger: createLogger({ level: 'silent' }),
    files: () => [],
  })
  let token = options.token
  return {
    tokens: {
      current: () => token,
      rotate: async () => (token = randomBytes(32).toString('hex')),
    },
    tickets: new UiTickets(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.uiRoot !== undefined ? { uiRoot: options.uiRoot } : {}),
    store,
    events: new EventHub(),
    uploads: new UploadStore(join(dir, 'uploads'), limits),
    storage,
    housekeeping: {
      state: () => housekeeper.state(undefined), // the memory store cannot say its size
      sweep: () => housekeeper.sweepForApi(),
    },
    limits: DEFAULT_JOB_LIMITS,
    prover: options.prover ?? (() => Promise.reject(new Error('no prover plugin in this context'))),
    host: { list: () => [] } as unknown as PluginHost,
    allowedOrigins: options.allowedOrigins ?? [],
    info: async () => ({
      version: 'test',
      peerId: '12D3KooWtest',
      roles: ['bootstrap'],
      addresses: [],
      startedAt: 0,
      home: dir,
      capabilities: null,
      limits: { maxProgramBytes: limit, maxInputBytes: limit, minPo2: 14, maxPo2: 22 },
    }),
    network: () => ({ peerId: '12D3KooWtest', addresses: [], connections: [], topics: [] }),
    readSettings: async () => ({}),
    writeSettings: async () => {},
  }
}
