// Plugin entry: Swarm storage through a Bee node's HTTP API (bee-js), configured from settings.

import { definePlugin } from '@wholesum/plugin-api'
import { noBeeHint } from './bee-errors.ts'
import { parseSettings } from './settings.ts'
import { SwarmStore } from './store.ts'

export { SwarmStore, UPLOAD_CONCURRENCY, type SwarmStoreOptions } from './store.ts'
export {
  parseSettings,
  DEFAULT_BEE_URL,
  DEFAULT_MAX_OBJECT_BYTES,
  DEFAULT_TIMEOUT_MS,
  type SwarmSettings,
  type AutoBuyBatch,
} from './settings.ts'
export { parseSwarmId, referenceToCid } from './reference.ts'

/** How long activation waits for the node's health answer before it only logs a warning. */
const PROBE_TIMEOUT_MS = 2_000

export default definePlugin((ctx) => {
  const settings = parseSettings(ctx.settings)
  const storage = new SwarmStore(settings)
  // The node may start after the app: activation does not wait for it or fail without it. A call
  // made while nothing answers ends in UnavailableError naming the URL.
  storage.bee
    .getHealth({ timeout: PROBE_TIMEOUT_MS, signal: ctx.signal })
    .then((health) =>
      ctx.logger.info('Swarm store ready', { beeUrl: settings.beeUrl, beeVersion: health.version }),
    )
    .catch((err: unknown) =>
      ctx.logger.warn(`Swarm store: ${noBeeHint(settings.beeUrl)}`, {
        error: err instanceof Error ? err.message : String(err),
      }),
    )
  return { storage }
})
