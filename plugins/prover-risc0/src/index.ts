// Plugin entry: starts the risc0 worker lazily and exposes it as the `prover` capability.

import { definePlugin } from '@wholesum/plugin-api'
import { locateWorker } from './locate.ts'
import { Risc0Prover } from './prover.ts'
import { WorkerClient } from './worker-client.ts'

export { Risc0Prover } from './prover.ts'
export { WorkerClient, errorFromWorker } from './worker-client.ts'
export { FrameDecoder, encodeFrame, MAX_FRAME_BYTES } from './frames.ts'
export { locateWorker, defaultWorkerPath } from './locate.ts'

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined
}

export default definePlugin(async (context) => {
  const binary = await locateWorker(context.settings['workerPath'])
  const worker = new WorkerClient({ binary, logger: context.logger })
  const proveTimeoutMs = optionalNumber(context.settings['proveTimeoutMs'])
  const executeTimeoutMs = optionalNumber(context.settings['executeTimeoutMs'])
  const prover = new Risc0Prover(worker, {
    ...(proveTimeoutMs !== undefined ? { proveTimeoutMs } : {}),
    ...(executeTimeoutMs !== undefined ? { executeTimeoutMs } : {}),
  })
  context.signal.addEventListener('abort', () => void worker.close(), { once: true })
  return {
    prover,
    // The same risc0 verifier serves independent re-verification of others' receipts.
    verifier: { verifyReceipt: ({ receipt, imageId }) => prover.verify({ receipt, imageId }) },
    deactivate: () => worker.close(),
  }
})
