// The one error class of the wire protocol: every rejected message names why with a stable code.

/**
 * Why a message was refused. Callers branch on `code`, never on the text. The order below is the
 * order in which `decodeVerified` checks (see docs/protocol.md, "Validation order").
 */
export type MessageErrorCode =
  | 'too-large' // over the hard cap, the expected types' caps, or its own type's cap
  | 'malformed' // not one canonical dag-cbor map
  | 'bad-version' // `v` missing or not PROTOCOL_VERSION
  | 'wrong-type' // a valid type, but not one the caller expects on this topic or stream
  | 'wrong-topic' // about another job than the job topic it came on
  | 'wrong-author' // on a job's topic, signed by someone other than the job's client
  | 'bad-schema' // a field missing, unknown, of the wrong type, out of range or too long
  | 'unsupported-key' // a peer ID whose key is not Ed25519 (RSA, secp256k1, ECDSA)
  | 'bad-job-id' // a need whose jobId is not the hash of its sender, nonce, image and input
  | 'unsigned' // no `sig`
  | 'bad-signature' // `sig` does not verify under the sender's key
  | 'wrong-sender' // signed by someone other than the transport-level peer
  | 'stale' // `ts` older than the clock window
  | 'future' // `ts` further ahead than the clock window
  | 'replay' // a sequence number already used by this sender, or below its window
  | 'duplicate' // exactly this message was already delivered

export class MessageError extends Error {
  readonly code: MessageErrorCode
  constructor(code: MessageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'MessageError'
  }
}
