// Test support: a SwarmStore on a fresh real Bee (`bee dev`), reached through a tampering proxy.

import { SwarmStore } from '../store.ts'
import { parseSettings } from '../settings.ts'
import { startBeeDev, type BeeDevNode } from './bee-dev.ts'
import { startTamperingProxy, type TamperingProxy } from './tampering-proxy.ts'

export interface SwarmUnderTest {
  readonly node: BeeDevNode
  readonly proxy: TamperingProxy
  readonly store: SwarmStore
  readonly batchId: string | undefined
  close(): Promise<void>
}

export interface OpenOptions {
  /** Buy a batch on the node first and configure it (default true). */
  readonly buyBatch?: boolean
  /** Extra settings for the store (beeUrl is the proxy's). */
  readonly settings?: Readonly<Record<string, unknown>>
}

export async function openSwarm(options: OpenOptions = {}): Promise<SwarmUnderTest> {
  const node = await startBeeDev()
  let proxy: TamperingProxy | undefined
  try {
    // Depth 20: bee dev stamps with one bucket, so this holds 2^20 chunks (4 GiB) of test data.
    const batchId = options.buyBatch === false ? undefined : await node.buyBatch(20)
    proxy = await startTamperingProxy(node.url)
    const settings = parseSettings({
      beeUrl: proxy.url,
      timeoutMs: 10_000,
      ...(batchId !== undefined ? { postageBatchId: batchId } : {}),
      ...options.settings,
    })
    const store = new SwarmStore(settings)
    const open = proxy
    return {
      node,
      proxy: open,
      store,
      batchId,
      async close() {
        await open.stop()
        await node.stop()
      },
    }
  } catch (err) {
    await proxy?.stop()
    await node.stop()
    throw err
  }
}
