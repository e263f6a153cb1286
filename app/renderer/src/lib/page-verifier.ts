// The page's own receipt verifier: risc0's verifier compiled to WebAssembly, in a web worker, so
// that a receipt is checked without trusting the node that served it.

import type { VerifiedReceipt } from '@wholesum/receipt-verifier'
import type { VerifierReply, VerifierRequest } from './verify-protocol.ts'

type Pending = { resolve: (reply: VerifierReply) => void }
type Op =
  { op: 'verify'; receipt: Uint8Array; imageId: string } | { op: 'image-id'; program: Uint8Array }

export class PageVerifier {
  #worker: Worker | undefined
  #next = 1
  readonly #pending = new Map<number, Pending>()

  /** Verifies a receipt (risc0's bincode) against an image ID; rejects with the verifier's reason. */
  async verify(
    receipt: Uint8Array,
    imageId: string,
  ): Promise<{ verified: VerifiedReceipt; ms: number }> {
    const reply = await this.#ask({ op: 'verify', receipt, imageId })
    if (!('verified' in reply)) throw new Error('the verifier answered another question')
    return { verified: reply.verified, ms: reply.ms }
  }

  /** A program binary's image ID, computed in the page. */
  async imageId(program: Uint8Array): Promise<string> {
    const reply = await this.#ask({ op: 'image-id', program })
    if (!('imageId' in reply)) throw new Error('the verifier answered another question')
    return reply.imageId
  }

  /** Stops the worker; what was waiting fails with `reason`. The next call starts a new one. */
  dispose(reason = 'the verifier was closed'): void {
    this.#worker?.terminate()
    this.#worker = undefined
    for (const [id, pending] of this.#pending) {
      pending.resolve({ id, ok: false, error: reason, crashed: false })
    }
    this.#pending.clear()
  }

  async #ask(op: Op): Promise<Exclude<VerifierReply, { ok: false }>> {
    const worker = this.#spawn()
    const id = this.#next++
    const reply = await new Promise<VerifierReply>((resolve) => {
      this.#pending.set(id, { resolve })
      worker.postMessage({ id, ...op } satisfies VerifierRequest)
    })
    if (!reply.ok) throw new Error(reply.error)
    return reply
  }

  #spawn(): Worker {
    if (this.#worker !== undefined) return this.#worker
    const worker = new Worker(new URL('./verify.worker.ts', import.meta.url), { type: 'module' })
    worker.onmessage = (event: MessageEvent<VerifierReply>) => {
      this.#pending.get(event.data.id)?.resolve(event.data)
      this.#pending.delete(event.data.id)
    }
    worker.onerror = (event) => {
      event.preventDefault()
      this.dispose(`the verifier's worker failed: ${event.message || 'it could not start'}`)
    }
    this.#worker = worker
    return worker
  }
}

/** One per page: the module compiles once and stays warm. */
export const pageVerifier = new PageVerifier()

/** What the page concluded about one job's receipt. */
export type PageVerdict =
  | {
      readonly ok: true
      readonly verified: VerifiedReceipt
      readonly ms: number
      /** Where the image ID came from: the node's word, or a program file hashed in the page. */
      readonly imageFrom: string
    }
  | { readonly ok: false; readonly reason: string }

interface Outputs {
  output(jobId: string, name: 'receipt' | 'journal'): Promise<Uint8Array>
}

/**
 * Fetches a job's receipt and journal as bytes, verifies the receipt here against the image ID
 * (computed from `program` when one is given), and checks that the node's journal output is the
 * journal the receipt proves.
 */
export async function verifyJobInPage(
  api: Outputs,
  jobId: string,
  nodeImageId: string,
  program?: File,
  verifier: PageVerifier = pageVerifier,
): Promise<PageVerdict> {
  try {
    const receipt = await api.output(jobId, 'receipt')
    let imageId = nodeImageId
    let imageFrom = 'the image ID the node reports'
    if (program !== undefined) {
      imageId = await verifier.imageId(new Uint8Array(await program.arrayBuffer()))
      imageFrom = `the image ID computed here from ${program.name}`
    }
    const { verified, ms } = await verifier.verify(receipt, imageId)
    const journal = await api.output(jobId, 'journal')
    const journalHex = Array.from(journal, (b) => b.toString(16).padStart(2, '0')).join('')
    if (journalHex !== verified.journalHex) {
      return {
        ok: false,
        reason: "the receipt verifies, but the node's journal output is not the journal it proves",
      }
    }
    return { ok: true, verified, ms, imageFrom }
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) }
  }
}
