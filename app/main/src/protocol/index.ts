// The wire protocol, sans-IO: messages, signed envelopes, replay guard, job IDs, bit fields, frames.

export * from './messages.ts'
export { MessageError, type MessageErrorCode } from './errors.ts'
export {
  decodeVerified,
  encodeSigned,
  messageId,
  signingBytes,
  SIGNATURE_DOMAIN_PREFIX,
  type DecodeOptions,
  type EncodeOptions,
} from './codec.ts'
export { validateBody, validateEnvelope, isMessageType } from './schema.ts'
export {
  ReplayGuard,
  type ReplayGuardOptions,
  type ReplayVerdict,
  type SeenMessage,
} from './replay.ts'
export { SeqCounter } from './seq.ts'
export {
  checkJobId,
  deriveJobId,
  jobIdMatches,
  jobIdPreimage,
  JOB_ID_DOMAIN,
  type JobIdInputs,
} from './job-id.ts'
export { Bitfield, bitfieldBytes, bitfieldBytesProblem } from './bitfield.ts'
export { decodeFrame, encodeFrame, maxFrameBytes } from './framing.ts'
