// Plugin entry: Filecoin storage through Lighthouse (@lighthouse-web3/sdk), configured from settings.

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { definePlugin } from '@wholesum/plugin-api'
import { readSettings } from './settings.ts'
import { FilecoinStore } from './store.ts'

export {
  FilecoinStore,
  DEFAULT_MAX_OBJECT_BYTES,
  DEFAULT_TIMEOUT_MS,
  type FilecoinStoreOptions,
} from './store.ts'
export {
  LIGHTHOUSE_API_URL,
  LIGHTHOUSE_GATEWAY_URL,
  LIGHTHOUSE_UPLOAD_URL,
  type FilecoinDeal,
  type LighthouseEndpoints,
} from './lighthouse-client.ts'
export { readSettings, type FilecoinSettings } from './settings.ts'
export { KUBO_CHUNK_SIZE, KUBO_MAX_CHILDREN } from './cid.ts'

export default definePlugin(async (ctx) => {
  const settings = readSettings(ctx.settings, process.env)
  // Objects are spooled under the plugin's own data folder while they are hashed.
  const spoolDir = join(ctx.dataDir, 'spool')
  await mkdir(spoolDir, { recursive: true })
  const storage = new FilecoinStore({
    ...settings,
    spoolDir,
    logger: ctx.logger,
    signal: ctx.signal,
  })
  ctx.logger.info('Lighthouse (Filecoin) store ready', {
    apiUrl: settings.apiUrl,
    uploadUrl: settings.uploadUrl,
    gatewayUrl: settings.gatewayUrl,
    apiKey: settings.apiKeySource === 'none' ? 'missing' : `set (from ${settings.apiKeySource})`,
    timeoutMs: settings.timeoutMs,
    maxObjectBytes: settings.maxObjectBytes,
  })
  if (settings.apiKey === undefined) {
    ctx.logger.warn(
      'no Lighthouse API key: put, pin and unpin will fail with UnavailableError; get, has, stat and dealStatus work without one',
    )
  }
  return { storage }
})
