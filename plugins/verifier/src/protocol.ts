// The messages between the receipt checker and its worker thread: one request in, one answer out,
// matched by id.

/** What the worker needs to start: the verifier module, compiled once by the checker. */
export interface WorkerSetup {
  /** A compiled WebAssembly.Module (typed loosely: this project's libs do not declare WebAssembly). */
  readonly module: object
}

export interface CheckMessage {
  readonly id: number
  /** A copy the checker made and transferred: the caller's buffer stays the caller's. */
  readonly receipt: Uint8Array
  readonly imageId: string
}

export type AnswerMessage =
  | {
      readonly id: number
      readonly outcome: 'valid'
      readonly receiptDigest: string
      readonly journalDigest: string
      readonly claimDigest: string
      readonly kind: 'composite' | 'succinct' | 'groth16'
      readonly segments: number
      readonly verifyMs: number
    }
  | {
      readonly id: number
      readonly outcome: 'invalid'
      readonly receiptDigest: string
      readonly reason: string
      readonly verifyMs: number
    }
  /** The verifier trapped (its instance is dropped; the next request gets a fresh one). */
  | { readonly id: number; readonly outcome: 'crashed'; readonly message: string }
  /** Anything else that went wrong inside the worker. */
  | { readonly id: number; readonly outcome: 'failed'; readonly message: string }
