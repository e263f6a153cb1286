// Plugin entry: the embedded IPFS store, a Helia node on loopback with its blocks in dataDir.
//
// Settings (all optional):
// - timeoutMs (ms, default 30000): idle timeout of get / pin / stat, reset on every block.
// - listen (multiaddrs, default ['/ip4/127.0.0.1/tcp/0']): loopback only.
// - quotaBytes (bytes, default none): limit on the block files; a write that would pass it runs
//   gc first, then fails with ResourceLimitError.
// - gcIntervalMs (ms, default none): also run gc on this period (at least 1000).

import { definePlugin, InvalidInputError } from '@wholesum/plugin-api'
import { startIpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'

export {
  startIpfsNode,
  blockSpaceOf,
  type BaseServices,
  type IpfsNode,
  type IpfsNodeOptions,
  type IpfsHelia,
} from './node.ts'
export { BlockSpace, type GcResult, type Guard, type SpaceUsage } from './blockspace.ts'
export {
  IpfsStore,
  parseCid,
  KUBO_CHUNK_SIZE,
  KUBO_MAX_CHILDREN,
  DEFAULT_TIMEOUT_MS,
  type IpfsStoreOptions,
} from './store.ts'

/** A setting that must be a whole number of at least `min`, or absent. */
function wholeNumber(
  settings: Readonly<Record<string, unknown>>,
  name: string,
  min: number,
): number | undefined {
  const value = settings[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `storage-ipfs setting ${name} must be a whole number >= ${min}, not ${JSON.stringify(value)}`,
    )
  }
  return value
}

export default definePlugin(async (ctx) => {
  const timeout = ctx.settings.timeoutMs
  const listen = ctx.settings.listen
  const quotaBytes = wholeNumber(ctx.settings, 'quotaBytes', 0)
  const gcIntervalMs = wholeNumber(ctx.settings, 'gcIntervalMs', 1_000)
  const node = await startIpfsNode({
    dir: ctx.dataDir,
    ...(Array.isArray(listen) && listen.every((a) => typeof a === 'string') ? { listen } : {}),
    ...(quotaBytes !== undefined ? { quotaBytes } : {}),
  })
  const storage = new IpfsStore(
    node,
    typeof timeout === 'number' && timeout > 0 ? { timeoutMs: timeout } : {},
  )

  let timer: ReturnType<typeof setInterval> | undefined
  if (gcIntervalMs !== undefined) {
    timer = setInterval(() => {
      node.gc().then(
        (freed) => {
          if (freed.blocks > 0) ctx.logger.info('garbage collected', { ...freed })
        },
        (err: unknown) => ctx.logger.warn('garbage collection failed', { error: String(err) }),
      )
    }, gcIntervalMs)
    timer.unref()
  }

  ctx.logger.info('embedded IPFS store ready', {
    peerId: node.helia.libp2p.peerId.toString(),
    addresses: node.addresses(),
    ...node.usage(),
    gcIntervalMs,
  })
  return {
    storage,
    deactivate: async () => {
      clearInterval(timer)
      await node.stop()
    },
  }
})
