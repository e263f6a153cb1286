// Plugin entry: the embedded IPFS store, a Helia node on loopback with its blocks in dataDir.

import { definePlugin } from '@wholesum/plugin-api'
import { startIpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'

export { startIpfsNode, type IpfsNode, type IpfsNodeOptions, type IpfsHelia } from './node.ts'
export {
  IpfsStore,
  parseCid,
  KUBO_CHUNK_SIZE,
  KUBO_MAX_CHILDREN,
  DEFAULT_TIMEOUT_MS,
} from './store.ts'

export default definePlugin(async (ctx) => {
  const timeout = ctx.settings.timeoutMs
  const listen = ctx.settings.listen
  const node = await startIpfsNode({
    dir: ctx.dataDir,
    ...(Array.isArray(listen) && listen.every((a) => typeof a === 'string') ? { listen } : {}),
  })
  const storage = new IpfsStore(
    node.helia,
    typeof timeout === 'number' && timeout > 0 ? { timeoutMs: timeout } : {},
  )
  ctx.logger.info('embedded IPFS store ready', {
    peerId: node.helia.libp2p.peerId.toString(),
    addresses: node.addresses(),
  })
  return {
    storage,
    deactivate: () => node.stop(),
  }
})
