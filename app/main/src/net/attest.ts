// The client's side of verification: ask a job's verifiers, each over its own stream and all at
// once, to attest to the final receipt; keep every signed answer exactly as it came.

import * as dagCbor from '@ipld/dag-cbor'
import type { MessageOf, VerifyBody } from '../protocol/messages.ts'
import { PROTOCOLS } from '../protocol/messages.ts'
import type { Wire } from './wire.ts'

export interface AttestationReply {
  readonly verifier: string
  /** The verifier's signed attestation. */
  readonly attestation?: MessageOf<'attestation'>
  /** Its bytes exactly as signed: anyone can check the signature and re-verify the receipt. */
  readonly envelope?: Uint8Array
  /** Why there is no attestation: declined, unreachable, timed out. */
  readonly error?: string
}

export async function requestAttestations(
  wire: Pick<Wire, 'request'>,
  verifiers: readonly { readonly peer: string; readonly addrs?: readonly string[] }[],
  body: VerifyBody,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<AttestationReply[]> {
  return await Promise.all(
    verifiers.map(async ({ peer, addrs }): Promise<AttestationReply> => {
      try {
        const reply = await wire.request(peer, PROTOCOLS.verify, 'verify', body, {
          timeoutMs: options.timeoutMs,
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          ...(addrs !== undefined ? { addrs } : {}),
        })
        if (reply.type === 'decline')
          return { verifier: peer, error: `declined: ${reply.body.reason}` }
        if (reply.type !== 'attestation')
          return { verifier: peer, error: `answered with a ${reply.type}` }
        const about = reply.body
        if (
          about.jobId !== body.jobId ||
          about.receiptCid !== body.receiptCid ||
          about.imageId !== body.imageId
        )
          return { verifier: peer, error: 'attested to another job or receipt than asked' }
        if (
          body.settlement !== undefined &&
          about.verdict === 'valid' &&
          about.settlementSignature === undefined
        )
          return {
            verifier: peer,
            attestation: reply,
            envelope: dagCbor.encode(reply),
            error: 'did not sign the settlement',
          }
        // The codec admits only canonical dag-cbor, so re-encoding gives back the signed bytes.
        return { verifier: peer, attestation: reply, envelope: dagCbor.encode(reply) }
      } catch (err) {
        return { verifier: peer, error: (err as Error).message }
      }
    }),
  )
}
