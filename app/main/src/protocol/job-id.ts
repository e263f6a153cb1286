// Job IDs: the SHA-256 of who asks, a nonce, the program and the input, so none can be forged.

import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { MessageError } from './errors.ts'
import type { MessageOf, NeedBody } from './messages.ts'
import { cid, hex32, peerId } from './schema.ts'

/** First element of the hashed array: names the scheme and its version. */
export const JOB_ID_DOMAIN = 'wholesum/job-id/v1'

export interface JobIdInputs {
  /** The client's peer ID, canonical base58btc (the `from` of its need). */
  clientPeerId: string
  /** 32 random bytes, 64 lowercase hex characters, fresh per job. */
  nonce: string
  /** The program's image ID, 64 lowercase hex characters. */
  imageId: string
  /** The input's CID, canonical text form. */
  inputCid: string
}

/**
 * The bytes that are hashed: the dag-cbor encoding of the array
 * [JOB_ID_DOMAIN, clientPeerId, nonce, imageId, inputCid], all text strings. That is 0x85 and
 * then each string as a CBOR text string (major type 3, shortest length header, UTF-8 bytes).
 * Throws MessageError ('bad-schema') when an input is not in its canonical form.
 */
export function jobIdPreimage(inputs: JobIdInputs): Uint8Array {
  peerId(inputs.clientPeerId, 'clientPeerId')
  hex32(inputs.nonce, 'nonce')
  hex32(inputs.imageId, 'imageId')
  cid(inputs.inputCid, 'inputCid')
  return dagCbor.encode([
    JOB_ID_DOMAIN,
    inputs.clientPeerId,
    inputs.nonce,
    inputs.imageId,
    inputs.inputCid,
  ])
}

/** sha256(jobIdPreimage(inputs)) as 64 lowercase hex characters. */
export function deriveJobId(inputs: JobIdInputs): string {
  return createHash('sha256').update(jobIdPreimage(inputs)).digest('hex')
}

type SignedNeed = Pick<MessageOf<'need'>, 'from' | 'body'>

/** Whether a need's jobId is the one its sender, nonce, image ID and input CID derive. */
export function jobIdMatches(need: SignedNeed): boolean
export function jobIdMatches(body: NeedBody, from: string): boolean
export function jobIdMatches(need: SignedNeed | NeedBody, from?: string): boolean {
  const body = 'body' in need ? need.body : need
  const client = 'body' in need ? need.from : from
  if (client === undefined) return false
  try {
    return (
      deriveJobId({
        clientPeerId: client,
        nonce: body.nonce,
        imageId: body.imageId,
        inputCid: body.inputCid,
      }) === body.jobId
    )
  } catch {
    return false
  }
}

/**
 * Throws MessageError 'bad-job-id' unless the need's jobId is derived from its sender (the
 * envelope's `from`), nonce, image ID and input CID. decodeVerified runs it on every need.
 */
export function checkJobId(need: SignedNeed): void
export function checkJobId(body: NeedBody, from: string): void
export function checkJobId(need: SignedNeed | NeedBody, from?: string): void {
  const matches = 'body' in need ? jobIdMatches(need) : jobIdMatches(need, from ?? '')
  if (!matches)
    throw new MessageError(
      'bad-job-id',
      'need.jobId is not derived from its sender, nonce, imageId and inputCid',
    )
}
