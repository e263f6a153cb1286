// The worker thread that runs risc0's verifier (WebAssembly): verifying a large composite receipt
// takes seconds of synchronous work, which must never happen on the daemon's event loop.

import { createHash } from 'node:crypto'
import { parentPort, workerData } from 'node:worker_threads'
import {
  ReceiptRejectedError,
  ReceiptVerifier,
  VerifierCrashedError,
} from '@wholesum/receipt-verifier'
import type { AnswerMessage, CheckMessage, WorkerSetup } from './protocol.ts'

type VerifierSource = Parameters<typeof ReceiptVerifier.load>[0]

const port = parentPort
if (port === null) throw new Error('verify-worker.ts runs only as a worker thread')

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

function check(verifier: ReceiptVerifier, { id, receipt, imageId }: CheckMessage): AnswerMessage {
  const receiptDigest = sha256(receipt)
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  try {
    const verified = verifier.verify(receipt, imageId)
    return {
      id,
      outcome: 'valid',
      receiptDigest,
      journalDigest: sha256(Buffer.from(verified.journalHex, 'hex')),
      claimDigest: verified.claimDigest,
      kind: verified.kind,
      segments: verified.segments,
      verifyMs: elapsed(),
    }
  } catch (err) {
    if (err instanceof ReceiptRejectedError) {
      return { id, outcome: 'invalid', receiptDigest, reason: err.message, verifyMs: elapsed() }
    }
    if (err instanceof VerifierCrashedError) return { id, outcome: 'crashed', message: err.message }
    return { id, outcome: 'failed', message: err instanceof Error ? err.message : String(err) }
  }
}

// Listen at once so no request waits on an unattached port; each one waits for the module.
const ready = ReceiptVerifier.load((workerData as WorkerSetup).module as VerifierSource)
port.on('message', (message: CheckMessage) => {
  ready.then(
    (verifier) => port.postMessage(check(verifier, message)),
    (err: unknown) =>
      port.postMessage({
        id: message.id,
        outcome: 'failed',
        message: `the verifier module did not load: ${err instanceof Error ? err.message : String(err)}`,
      } satisfies AnswerMessage),
  )
})
