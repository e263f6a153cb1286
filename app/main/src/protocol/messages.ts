// The wire vocabulary: message types, their bodies, size limits, gossip topics and protocol IDs.

/** The envelope's `v`. Bumped only for changes an older node cannot read (docs/protocol.md). */
export const PROTOCOL_VERSION = 1

/** Gossipsub topics. Every message published on them is a signed envelope. */
export const TOPICS = {
  /** Clients announce jobs: `need`. */
  need: '/wholesum/need/1',
  /**
   * The prefix of each job's own topic (`pipelineTopic`), where its client publishes `bitfield`:
   * only that job's provers follow it, so a prover hears the jobs it works on, not all of them.
   */
  pipeline: '/wholesum/pipeline/1',
  /** Verifiers advertise themselves: `verifier-ad`. Clients pick a job's verifiers from them. */
  verifiers: '/wholesum/verifiers/1',
} as const

/** Direct protocols: one length-prefixed request and one length-prefixed response per stream. */
export const PROTOCOLS = {
  offer: '/wholesum/offer/1.0.0',
  claim: '/wholesum/claim/1.0.0',
  proof: '/wholesum/proof/1.0.0',
  status: '/wholesum/status/1.0.0',
  /** Client → verifier: re-check a final receipt and attest to it (and sign the settlement). */
  verify: '/wholesum/verify/1.0.0',
  /** Prover or verifier → client: the acceptances and settlement leaf it is owed. */
  payout: '/wholesum/payout/1.0.0',
} as const
export type ProtocolId = (typeof PROTOCOLS)[keyof typeof PROTOCOLS]

// ---------------------------------------------------------------------------------------------
// Bodies

/** A pipeline stage whose work items are picked from a bit field. */
export type Stage = 'prove' | 'join'
export const STAGES: readonly Stage[] = ['prove', 'join']

/** The steps of a job as a status reply names them (docs/architecture.md, a job's way through the system). */
export type JobStage = 'execute' | 'prove' | 'join' | 'snark' | 'verify' | 'settle'
export const JOB_STAGES: readonly JobStage[] = [
  'execute',
  'prove',
  'join',
  'snark',
  'verify',
  'settle',
]

export type JobState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'expired'
export const JOB_STATES: readonly JobState[] = [
  'pending',
  'running',
  'done',
  'failed',
  'cancelled',
  'expired',
]

export type Accelerator = 'cpu' | 'cuda' | 'metal'
export const ACCELERATORS: readonly Accelerator[] = ['cpu', 'cuda', 'metal']

/**
 * Field formats (checked by schema.ts):
 * - `Hex32`: 64 lowercase hex characters (a SHA-256 digest, an image ID, a 32-byte nonce).
 * - `PeerIdString`: a libp2p peer ID in its canonical base58btc text form, Ed25519 only.
 * - `CidString`: a CID in its canonical text form (CIDv0 base58btc `Qm…`, CIDv1 base32 `b…`).
 * - `Wei`: an unsigned decimal integer below 2^256, no leading zeros, as a string.
 * - `EpochMs`: milliseconds since 1970-01-01 UTC, a safe non-negative integer.
 * - `EvmAddress`: `0x` and 40 lowercase hex characters (an EVM account or contract).
 * - `EvmSignature`: `0x` and 130 lowercase hex characters (an ECDSA signature r, s, v).
 */
export type Hex32 = string
export type PeerIdString = string
export type CidString = string
export type Wei = string
export type EpochMs = number
export type EvmAddress = string
export type EvmSignature = string

/**
 * A node's EVM account, bound to its peer ID by both keys: the account's EIP-712 signature of
 * PeerBinding(peerId, account, issuedAt), and the peer key's Ed25519 signature of the same digest
 * (docs/payments.md, "Keys"). The peer ID is the envelope's sender.
 */
export interface PayeeBody {
  account: EvmAddress
  /** Unix seconds. */
  issuedAt: number
  accountSignature: EvmSignature
  /** `0x` and 128 hex characters. */
  peerSignature: string
}

/** A job paid through the escrow: where, by whom, and who judges it. */
export interface NeedEscrow {
  chainId: number
  contract: EvmAddress
  /** The client's account; the escrow keys the job by keccak256(abi.encode(client, jobId)). */
  client: EvmAddress
  /** What each dealt prover posts as collateral before it claims, wei. */
  collateral: Wei
  /** The job's verifiers, ascending, as opened on chain: none of them gets a deal. */
  verifiers: EvmAddress[]
}

export interface Requirements {
  /** Least memory a prover must have, MiB. */
  minMemoryMiB: number
  proverKind: 'risc0'
  /** Whether the job needs lift and join (the recursion circuit). */
  recursion: boolean
}

/** Gossip, client → all: a job looking for provers. */
export interface NeedBody {
  jobId: Hex32
  /** 32 random bytes chosen by the client; an input of the job ID (job-id.ts). */
  nonce: Hex32
  imageId: Hex32
  inputCid: CidString
  programCid: CidString
  /** Number of segments, 1..MAX_ITEMS. */
  segments: number
  /** Segment size as a power of two of cycles, MIN_PO2..MAX_PO2. */
  po2: number
  rewardPerSegment: Wei
  deadline: EpochMs
  requirements: Requirements
  /** Multiaddrs where the client can be dialled, at most MAX_CLIENT_ADDRS. */
  clientAddrs: string[]
  /** Present when the job pays through the escrow: provers check it on chain before offering. */
  escrow?: NeedEscrow
}

export interface Hardware {
  cpus: number
  memoryMiB: number
  accelerator: Accelerator
}

export interface Benchmark {
  /** A receipt the prover made earlier, as evidence of capability. */
  receiptCid?: CidString
  /** Proving speed, cycles per second. */
  hz: number
}

/** Direct request prover → client on PROTOCOLS.offer. */
export interface OfferBody {
  jobId: Hex32
  pricePerSegment: Wei
  /** Segments the prover will work on at once. */
  capacity: number
  hardware: Hardware
  benchmark: Benchmark
  recursion: boolean
  /** Where the prover is paid: required by a job with `escrow`. */
  payee?: PayeeBody
}

/** Direct response client → prover on PROTOCOLS.offer: the offer is accepted. */
export interface DealBody {
  jobId: Hex32
  prover: PeerIdString
  pricePerSegment: Wei
  /** A storage object listing the segment CIDs. */
  manifestCid: CidString
  expires: EpochMs
}

/** Direct response on any direct protocol: refused, with a short human-readable reason. */
export interface DeclineBody {
  jobId: Hex32
  reason: string
}

/**
 * Gossip, client → the job's provers, on the job's topic: the job is cancelled. Provers stop its
 * work in flight, drop their claims and leave the topic. Only the job's client may send it.
 */
export interface CancelBody {
  jobId: Hex32
  reason: string
}

/** Gossip, client → all: which items of a stage are still open. */
export interface BitfieldBody {
  jobId: Hex32
  stage: Stage
  /** The stage's round: in `join`, the level of the join tree; in `prove`, 0. */
  round: number
  /** Number of items (bits), 1..MAX_ITEMS. */
  total: number
  /** ceil(total / 8) bytes; bit i (byte i >> 3, mask 1 << (i & 7)) set = item i still open. */
  bits: Uint8Array
  /** The client asks provers to work on open items even if someone claimed them. */
  endgame: boolean
}

/** Direct request prover → client on PROTOCOLS.claim: "I am starting this item". */
export interface ClaimBody {
  jobId: Hex32
  stage: Stage
  index: number
  round: number
}

/** Direct response client → prover on PROTOCOLS.claim. */
export interface ClaimAckBody {
  jobId: Hex32
  index: number
  granted: boolean
  /** How long the claim holds, ms. */
  ttlMs: number
  /** A granted join: the receipts to join, left then right (absent otherwise). */
  inputs?: [CidString, CidString]
}

/** Direct request prover → client on PROTOCOLS.proof: the item's receipt is stored. */
export interface ProofBody {
  jobId: Hex32
  stage: Stage
  index: number
  round: number
  receiptCid: CidString
  proveMs: number
}

/** Direct response client → prover on PROTOCOLS.proof. */
export interface ProofAckBody {
  jobId: Hex32
  index: number
  accepted: boolean
  reason?: string
}

/** Direct request, anyone → client on PROTOCOLS.status. */
export interface StatusBody {
  jobId: Hex32
}

/** Direct response client → asker on PROTOCOLS.status. */
export interface StatusReplyBody {
  jobId: Hex32
  stage: JobStage
  done: number
  total: number
  state: JobState
}

/** Gossip, verifier → all, on TOPICS.verifiers: a verifier's standing offer. */
export interface VerifierAdBody {
  /** What it asks per job, wei. */
  fee: Wei
  /** Verifications it runs at once. */
  capacity: number
  /** Multiaddrs where it can be dialled, at most MAX_CLIENT_ADDRS. */
  addrs: string[]
  /** Its account, for jobs paid through the escrow. */
  payee?: PayeeBody
}

/** The settlement a verifier is asked to sign with its attestation. */
export interface SettlementTerms {
  chainId: number
  contract: EvmAddress
  /** keccak256(abi.encode(client, jobId)), as 64 hex characters. */
  jobKey: Hex32
  /** The Merkle root over (payee, amount) leaves. */
  root: Hex32
  total: Wei
}

/** Direct request client → verifier on PROTOCOLS.verify. */
export interface VerifyBody {
  jobId: Hex32
  imageId: Hex32
  receiptCid: CidString
  /** SHA-256 of the journal the client expects the receipt to commit to. */
  journalDigest: Hex32
  /** When the job pays through the escrow: the settlement to sign if the receipt is valid. */
  settlement?: SettlementTerms
}

export type Verdict = 'valid' | 'invalid'
export const VERDICTS: readonly Verdict[] = ['valid', 'invalid']

/**
 * Direct response verifier → client on PROTOCOLS.verify: signed by the verifier's peer key (the
 * envelope), so anyone holding the receipt can re-check it and show a wrong verdict wrong.
 */
export interface AttestationBody {
  jobId: Hex32
  imageId: Hex32
  receiptCid: CidString
  /** SHA-256 of the receipt's bytes as the verifier fetched them. */
  receiptDigest: Hex32
  /** SHA-256 of the journal the receipt commits to (a receipt that decoded and verified). */
  journalDigest?: Hex32
  verdict: Verdict
  /** Why the receipt is invalid. */
  reason?: string
  verifiedAt: EpochMs
  /** EIP-712 Settlement(jobKey, root, total, receiptDigest, journalDigest), when asked and valid. */
  settlementSignature?: EvmSignature
}

/** Direct request prover or verifier → client on PROTOCOLS.payout. */
export interface PayoutRequestBody {
  jobId: Hex32
  /** The first segment whose acceptance is wanted (acceptances come in segment order). */
  from: number
}

export interface SignedAcceptanceBody {
  segment: number
  amount: Wei
  signature: EvmSignature
}

/** The asker's leaf of the settlement root, once the job is settled. */
export interface SettlementLeafBody {
  root: Hex32
  amount: Wei
  /** Sibling hashes, leaf to root (OpenZeppelin's StandardMerkleTree). */
  proof: Hex32[]
}

/** Direct response client → asker on PROTOCOLS.payout. */
export interface PayoutBody {
  jobId: Hex32
  /** The client's EIP-712 acceptances of the asker's segments from `from` on, at most MAX_ACCEPTANCES. */
  acceptances: SignedAcceptanceBody[]
  /** More acceptances follow the last one: ask again from after it. */
  more: boolean
  settlement?: SettlementLeafBody
}

/** Every message type and its body. */
export interface Bodies {
  need: NeedBody
  offer: OfferBody
  deal: DealBody
  decline: DeclineBody
  bitfield: BitfieldBody
  cancel: CancelBody
  claim: ClaimBody
  'claim-ack': ClaimAckBody
  proof: ProofBody
  'proof-ack': ProofAckBody
  status: StatusBody
  'status-reply': StatusReplyBody
  'verifier-ad': VerifierAdBody
  verify: VerifyBody
  attestation: AttestationBody
  'payout-request': PayoutRequestBody
  payout: PayoutBody
}
export type MessageType = keyof Bodies
export const MESSAGE_TYPES: readonly MessageType[] = [
  'need',
  'offer',
  'deal',
  'decline',
  'bitfield',
  'cancel',
  'claim',
  'claim-ack',
  'proof',
  'proof-ack',
  'status',
  'status-reply',
  'verifier-ad',
  'verify',
  'attestation',
  'payout-request',
  'payout',
]

/** The signed envelope every message travels in. */
export interface Envelope<T extends MessageType> {
  v: typeof PROTOCOL_VERSION
  type: T
  /** The sender's peer ID; its Ed25519 key signed `sig`. */
  from: PeerIdString
  /** Per-sender, strictly increasing (seq.ts); see docs/protocol.md, "Replay rules". */
  seq: number
  /** When the sender made the message, ms since epoch. */
  ts: EpochMs
  body: Bodies[T]
  /** Ed25519 signature, 64 bytes, over signingBytes(envelope without sig). */
  sig: Uint8Array
}

/** Any message, discriminated by `type`. */
export type Message = { [T in MessageType]: Envelope<T> }[MessageType]
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>
export type Unsigned<T extends MessageType> = Omit<Envelope<T>, 'sig'>

/** One job's pipeline topic. */
export function pipelineTopic(jobId: string): string {
  return `${TOPICS.pipeline}/${jobId}`
}

/**
 * What a topic carries and, for a job's own topic, which job its messages must be about; undefined
 * for a topic that is not ours. `decline` may answer any direct request.
 */
export function gossipOf(
  topic: string,
): { readonly types: readonly MessageType[]; readonly jobId?: string } | undefined {
  if (topic === TOPICS.need) return { types: ['need'] }
  if (topic === TOPICS.verifiers) return { types: ['verifier-ad'] }
  const prefix = `${TOPICS.pipeline}/`
  const jobId = topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined
  if (jobId !== undefined && /^[0-9a-f]{64}$/.test(jobId))
    return { types: ['bitfield', 'cancel'], jobId }
  return undefined
}
export const DIRECT_TYPES: Readonly<
  Record<ProtocolId, { request: MessageType; responses: readonly MessageType[] }>
> = {
  [PROTOCOLS.offer]: { request: 'offer', responses: ['deal', 'decline'] },
  [PROTOCOLS.claim]: { request: 'claim', responses: ['claim-ack', 'decline'] },
  [PROTOCOLS.proof]: { request: 'proof', responses: ['proof-ack', 'decline'] },
  [PROTOCOLS.status]: { request: 'status', responses: ['status-reply', 'decline'] },
  [PROTOCOLS.verify]: { request: 'verify', responses: ['attestation', 'decline'] },
  [PROTOCOLS.payout]: { request: 'payout-request', responses: ['payout', 'decline'] },
}

// ---------------------------------------------------------------------------------------------
// Limits

/** Most items (segments, or pairs in a join round) a job may have: bits in a bit field. */
export const MAX_ITEMS = 1 << 20
/** Segment po2 range, as the risc0 worker accepts it. */
export const MIN_PO2 = 13
export const MAX_PO2 = 22
export const MAX_CLIENT_ADDRS = 8
export const MAX_ADDR_CHARS = 256
export const MAX_CID_CHARS = 128
export const MAX_PEER_ID_CHARS = 128
export const MAX_REASON_CHARS = 256
/** Rounds, capacities and counters are at most this (uint32). */
export const MAX_U32 = 0xffff_ffff
export const MAX_CAPACITY = 4096
export const MAX_CPUS = 65_536
/** 16 TiB. */
export const MAX_MEMORY_MIB = 1 << 24
export const MAX_HZ = 1e15
/** A claim holds for at most an hour. */
export const MAX_TTL_MS = 3_600_000
/** Reported durations are at most 30 days. */
export const MAX_DURATION_MS = 30 * 24 * 3_600_000
/** 2^256 - 1 has 78 decimal digits. */
export const MAX_WEI_DIGITS = 78
export const ED25519_SIGNATURE_BYTES = 64
/** A job's verifier set, as the escrow allows it. */
export const MAX_VERIFIERS = 16
/** Acceptances in one `payout` reply. */
export const MAX_ACCEPTANCES = 64
/** Sibling hashes in a settlement proof: a tree of up to 2^32 leaves. */
export const MAX_PROOF_HASHES = 32
/** A chain ID, as EIP-155 allows in practice (below 2^53). */
export const MAX_CHAIN_ID = Number.MAX_SAFE_INTEGER

/**
 * Most bytes an encoded envelope of each type may have. Each is at least twice the largest
 * message of its type that the schema allows (checked by a test), except `bitfield`, whose
 * bits alone may take MAX_ITEMS / 8 = 128 KiB.
 */
export const MAX_MESSAGE_BYTES: Readonly<Record<MessageType, number>> = {
  need: 10 * 1024,
  offer: 3 * 1024,
  deal: 2 * 1024,
  decline: 2 * 1024,
  bitfield: 128 * 1024 + 1024,
  cancel: 2 * 1024,
  claim: 1024,
  'claim-ack': 2 * 1024,
  proof: 2 * 1024,
  'proof-ack': 2 * 1024,
  status: 1024,
  'status-reply': 1024,
  'verifier-ad': 6 * 1024,
  verify: 2 * 1024,
  attestation: 3 * 1024,
  'payout-request': 1024,
  payout: 40 * 1024,
}

/** The hard cap on any encoded envelope, checked before a byte is decoded. */
export const MAX_ENVELOPE_BYTES = Math.max(...Object.values(MAX_MESSAGE_BYTES))

/** Default half-width of the clock window: a message's `ts` must be within now ± this. */
export const DEFAULT_CLOCK_WINDOW_MS = 5 * 60_000
