// Messages between the page and the verifier's web worker (lib/verify.worker.ts).

import type { VerifiedReceipt } from '@wholesum/receipt-verifier'

export type VerifierRequest =
  | {
      readonly id: number
      readonly op: 'verify'
      readonly receipt: Uint8Array
      readonly imageId: string
    }
  | { readonly id: number; readonly op: 'image-id'; readonly program: Uint8Array }

export type VerifierReply =
  | {
      readonly id: number
      readonly ok: true
      readonly verified: VerifiedReceipt
      readonly ms: number
    }
  | { readonly id: number; readonly ok: true; readonly imageId: string; readonly ms: number }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly crashed: boolean }
