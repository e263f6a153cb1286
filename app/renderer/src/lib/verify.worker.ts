// The web worker that runs risc0's verifier (WebAssembly) off the page's main thread: a composite
// receipt of many segments takes seconds, and the segment map keeps painting meanwhile.

import { ReceiptVerifier, VerifierCrashedError } from '@wholesum/receipt-verifier'
import wasmUrl from '@wholesum/receipt-verifier/verifier.wasm?url'
import type { VerifierReply, VerifierRequest } from './verify-protocol.ts'

let verifier: Promise<ReceiptVerifier> | undefined

async function load(): Promise<ReceiptVerifier> {
  const response = await fetch(wasmUrl)
  if (!response.ok) throw new Error(`the verifier module did not load (HTTP ${response.status})`)
  return ReceiptVerifier.load(await response.arrayBuffer())
}

function answer(request: VerifierRequest, v: ReceiptVerifier): VerifierReply {
  const started = performance.now()
  if (request.op === 'verify') {
    const verified = v.verify(request.receipt, request.imageId)
    return { id: request.id, ok: true, verified, ms: performance.now() - started }
  }
  const imageId = v.imageId(request.program)
  return { id: request.id, ok: true, imageId, ms: performance.now() - started }
}

self.onmessage = async (event: MessageEvent<VerifierRequest>) => {
  const request = event.data
  let reply: VerifierReply
  try {
    verifier ??= load()
    reply = answer(request, await verifier)
  } catch (err) {
    // A module that failed to load is fetched again next time.
    if (!(err instanceof Error && err.name === 'ReceiptRejectedError')) verifier = undefined
    reply = {
      id: request.id,
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      crashed: err instanceof VerifierCrashedError,
    }
  }
  self.postMessage(reply)
}
