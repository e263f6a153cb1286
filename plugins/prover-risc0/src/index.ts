// Plugin entry: a risc0 worker as a child process, or one container per request, as the prover.

import { definePlugin } from '@wholesum/plugin-api'
import { connectEngine } from './container/engine.ts'
import { ContainerRunner } from './container/runner.ts'
import { locateWorker } from './locate.ts'
import { Risc0Prover } from './prover.ts'
import { readSettings } from './settings.ts'
import { WorkerClient, type WorkerRequester } from './worker-client.ts'

export { Risc0Prover } from './prover.ts'
export { WorkerClient, errorFromWorker, type WorkerRequester } from './worker-client.ts'
export { FrameDecoder, encodeFrame, MAX_FRAME_BYTES } from './frames.ts'
export { locateWorker, defaultWorkerPath } from './locate.ts'
export { connectEngine, candidateSockets, type Engine } from './container/engine.ts'
export { ContainerRunner, MountPlan } from './container/runner.ts'
export { readSettings, DEFAULT_IMAGE, type ProverSettings } from './settings.ts'

export default definePlugin(async (context) => {
  const settings = readSettings(context.settings)
  let worker: WorkerRequester
  let close: () => Promise<void>
  if (settings.mode === 'container') {
    const engine = await connectEngine(settings.container.socket)
    context.logger.info('proving in containers', {
      engine: engine.product,
      version: engine.version,
      socket: engine.socketPath,
      image: settings.container.image,
    })
    worker = new ContainerRunner({
      engine,
      image: settings.container.image,
      limits: settings.container.limits,
      timeoutMs: settings.container.timeoutMs,
      logger: context.logger,
    })
    close = async () => {}
  } else {
    const binary = await locateWorker(settings.workerPath)
    const client = new WorkerClient({ binary, logger: context.logger })
    worker = client
    close = () => client.close()
  }
  const prover = new Risc0Prover(worker, {
    ...(settings.proveTimeoutMs !== undefined ? { proveTimeoutMs: settings.proveTimeoutMs } : {}),
    ...(settings.executeTimeoutMs !== undefined
      ? { executeTimeoutMs: settings.executeTimeoutMs }
      : {}),
  })
  context.signal.addEventListener('abort', () => void close(), { once: true })
  return {
    prover,
    deactivate: close,
  }
})
