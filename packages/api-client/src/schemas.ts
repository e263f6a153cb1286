// The local API's request and response shapes as JSON Schemas (TypeBox): the daemon validates
// against them and generates its OpenAPI document from them; clients take their static types.

import { Type, type Static } from 'typebox'

/** Every path of this version starts here. */
export const API_PREFIX = '/v1'

/** Subprotocol a WebSocket client offers (with the token one); the daemon answers with it. */
export const WS_PROTOCOL = 'wholesum.v1'
/** A browser cannot set headers on a WebSocket upgrade: the token travels as a subprotocol. */
export const WS_TOKEN_PREFIX = 'wholesum-token.'

/** A string schema of fixed values, typed as their union. */
function literals<const T extends readonly string[]>(values: T) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] })
}

const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$', description: '32 bytes, lowercase hex' })
const Cid = Type.String({ minLength: 1, maxLength: 128, description: 'an IPFS CID' })
const Wei = Type.String({ pattern: '^(0|[1-9][0-9]{0,77})$', description: 'decimal base units' })
const EpochMs = Type.Integer({ minimum: 0, description: 'ms since 1970-01-01 UTC' })

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      /** Stable, for branching: `UNAUTHORIZED`, `FORBIDDEN`, `INVALID_REQUEST`, `NOT_FOUND`, … */
      code: Type.String(),
      message: Type.String(),
      /** The request field at fault, as a JSON pointer-like path (`body/po2`). */
      field: Type.Optional(Type.String()),
    }),
  },
  { $id: 'Error' },
)
export type ErrorBody = Static<typeof ErrorBody>

export const ROLES = ['client', 'prover', 'verifier', 'bootstrap'] as const
export const Role = literals(ROLES)
export type Role = Static<typeof Role>

export const NodeInfo = Type.Object(
  {
    version: Type.String(),
    peerId: Type.String(),
    roles: Type.Array(Role),
    addresses: Type.Array(Type.String()),
    startedAt: EpochMs,
    home: Type.String(),
    capabilities: Type.Union([
      Type.Null(),
      Type.Object({
        recursion: Type.Boolean(),
        groth16: Type.Boolean(),
        accelerator: Type.String(),
        notes: Type.Array(Type.String()),
      }),
    ]),
    limits: Type.Object({
      maxProgramBytes: Type.Integer(),
      maxInputBytes: Type.Integer(),
      minPo2: Type.Integer(),
      maxPo2: Type.Integer(),
    }),
  },
  { $id: 'NodeInfo' },
)
export type NodeInfo = Static<typeof NodeInfo>

export const UPLOAD_KINDS = ['program', 'input', 'receipt', 'journal', 'plugin'] as const
export const UploadKind = literals(UPLOAD_KINDS)
export type UploadKind = Static<typeof UploadKind>

export const UploadQuery = Type.Object({ kind: UploadKind }, { additionalProperties: false })

export const Upload = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    kind: UploadKind,
    bytes: Type.Integer({ minimum: 0 }),
    sha256: Hex32,
  },
  { $id: 'Upload' },
)
export type Upload = Static<typeof Upload>

/** A file the job needs: an upload made earlier, or a CID the node fetches from storage. */
export const FileRef = Type.Union([
  Type.Object(
    { upload: Type.String({ pattern: '^[0-9a-f]{32}$' }) },
    { additionalProperties: false },
  ),
  Type.Object({ cid: Cid }, { additionalProperties: false }),
])
export type FileRef = Static<typeof FileRef>

export const RECEIPT_KINDS = ['composite', 'succinct'] as const

export const SubmitJob = Type.Object(
  {
    program: FileRef,
    input: FileRef,
    /** Segment size, a power of two of cycles. */
    po2: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, default: 20 })),
    pricePerSegment: Type.Optional(Wei),
    /** How long the job may take, seconds. */
    deadlineS: Type.Optional(Type.Integer({ minimum: 10, maximum: 30 * 24 * 3600 })),
    maxProvers: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
    receipt: Type.Optional(literals(RECEIPT_KINDS)),
    /** Storage plugin for the job's objects; only the embedded IPFS store (`ipfs`) today. */
    storage: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false, $id: 'SubmitJob' },
)
export type SubmitJob = Static<typeof SubmitJob>

/** Execute a program on the node without submitting it: what the job would be, and cost. */
export const EstimateJob = Type.Object(
  {
    program: FileRef,
    input: FileRef,
    po2: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, default: 20 })),
    pricePerSegment: Type.Optional(Wei),
    maxProvers: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
  },
  { additionalProperties: false, $id: 'EstimateJob' },
)
export type EstimateJob = Static<typeof EstimateJob>

export const JobEstimate = Type.Object(
  {
    imageId: Hex32,
    po2: Type.Integer(),
    segments: Type.Integer(),
    totalCycles: Type.Integer(),
    userCycles: Type.Integer(),
    exitCode: Type.Object({ kind: Type.String(), code: Type.Integer() }),
    journalBytes: Type.Integer(),
    executeMs: Type.Integer(),
    pricePerSegment: Wei,
    market: Type.Object({
      offersSeen: Type.Integer({
        description: 'provers whose offers this node saw in the last hour',
      }),
      eligibleProvers: Type.Integer({ description: 'of them, asking at most pricePerSegment' }),
    }),
    maxCost: Wei,
    costLow: Type.Optional(Wei),
    costHigh: Type.Optional(Wei),
    proveSecondsAtLeast: Type.Optional(Type.Number()),
    notes: Type.Array(Type.String()),
  },
  { $id: 'JobEstimate' },
)
export type JobEstimate = Static<typeof JobEstimate>

export const JOB_STATUSES = [
  'executing',
  'proving',
  'joining',
  'assembling',
  'verifying',
  'done',
  'failed',
  'cancelled',
] as const
export const JobStatus = literals(JOB_STATUSES)
export type JobStatus = Static<typeof JobStatus>
export const TERMINAL_STATUSES: readonly JobStatus[] = ['done', 'failed', 'cancelled']

export const JobSummary = Type.Object(
  {
    jobId: Hex32,
    role: Type.Union([Type.Literal('client'), Type.Literal('prover')]),
    status: JobStatus,
    imageId: Hex32,
    po2: Type.Integer(),
    segments: Type.Integer(),
    proved: Type.Integer(),
    rewardPerSegment: Wei,
    createdAt: EpochMs,
    updatedAt: EpochMs,
    deadline: EpochMs,
    error: Type.Optional(Type.String()),
  },
  { $id: 'JobSummary' },
)
export type JobSummary = Static<typeof JobSummary>

export const JobListQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ description: 'comma-separated statuses' })),
    role: Type.Optional(Type.Union([Type.Literal('client'), Type.Literal('prover')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    /** The `next` of the previous page. */
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
export type JobListQuery = Static<typeof JobListQuery>

export const JobList = Type.Object(
  { jobs: Type.Array(JobSummary), next: Type.Optional(Type.String()) },
  { $id: 'JobList' },
)
export type JobList = Static<typeof JobList>

export const SegmentState = Type.Object({
  index: Type.Integer(),
  status: Type.Union([Type.Literal('open'), Type.Literal('claimed'), Type.Literal('proved')]),
  claimedBy: Type.Optional(Type.String()),
  provedBy: Type.Optional(Type.String()),
  receiptCid: Type.Optional(Type.String()),
  attempts: Type.Integer(),
  rejects: Type.Integer(),
})
export type SegmentState = Static<typeof SegmentState>

export const DealState = Type.Object({
  prover: Type.String(),
  pricePerSegment: Wei,
  status: Type.String(),
  accepted: Type.Integer(),
  strikes: Type.Integer(),
})

/** What a verifier said about the job's final receipt (the signed message itself stays on the node). */
export const Attestation = Type.Object({
  /** The verifier's peer ID. */
  verifier: Type.String(),
  /** Its EVM address, when it gave one. */
  account: Type.Optional(Type.String()),
  verdict: Type.Union([Type.Literal('valid'), Type.Literal('invalid')]),
  /** SHA-256 of the receipt's bytes, lowercase hex. */
  receiptDigest: Type.String(),
  journalDigest: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  /** Whether the verdict agreed with the client's own check; absent when it made none. */
  agrees: Type.Optional(Type.Boolean()),
  receivedAt: EpochMs,
})
export type Attestation = Static<typeof Attestation>

export const JobDetail = Type.Object(
  {
    ...JobSummary.properties,
    programCid: Type.String(),
    inputCid: Type.String(),
    manifestCid: Type.Optional(Type.String()),
    outputs: Type.Object({
      receipt: Type.Optional(Type.String()),
      journal: Type.Optional(Type.String()),
      stdout: Type.Optional(Type.String()),
      stderr: Type.Optional(Type.String()),
      events: Type.Optional(Type.String()),
    }),
    segmentStates: Type.Array(SegmentState),
    deals: Type.Array(DealState),
    /** Sum over proved segments of the dealt price of the prover that proved each. */
    cost: Wei,
    timings: Type.Object({ elapsedMs: Type.Integer() }),
    /** The verifiers' verdicts on the final receipt, in the order they came. */
    attestations: Type.Array(Attestation),
  },
  { $id: 'JobDetail' },
)
export type JobDetail = Static<typeof JobDetail>

export const JobEvent = Type.Object(
  {
    /** Grows with every event of this node; resume a stream after the last one seen. */
    id: Type.Integer({ minimum: 1 }),
    jobId: Hex32,
    at: EpochMs,
    type: Type.String(),
    data: Type.Unknown(),
  },
  { $id: 'JobEvent' },
)
export type JobEvent = Static<typeof JobEvent>

export const EventsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
  },
  { additionalProperties: false },
)
export const EventPage = Type.Object({ events: Type.Array(JobEvent) }, { $id: 'EventPage' })
export type EventPage = Static<typeof EventPage>

/** What the event WebSocket sends, one JSON text frame each. */
export type StreamFrame =
  | { readonly type: 'event'; readonly event: JobEvent }
  /** The job reached a final status; the server closes after this frame. */
  | { readonly type: 'end'; readonly status: JobStatus }

export const EARNING_ROLES = ['prover', 'verifier', 'client'] as const
export const EarningRole = literals(EARNING_ROLES)
export type EarningRole = Static<typeof EarningRole>

/**
 * Where one party's money in a job stands. A prover or verifier: `earning`, `pending`, `paid`,
 * `partly-paid`, `slashed`, `refused`, `unpaid`; the client: `locked`, `refunded`.
 */
export const EARNING_STATUSES = [
  'earning',
  'pending',
  'paid',
  'partly-paid',
  'slashed',
  'refused',
  'unpaid',
  'locked',
  'refunded',
] as const
export const EarningStatus = literals(EARNING_STATUSES)
export type EarningStatus = Static<typeof EarningStatus>

const Address = Type.String({
  pattern: '^0x[0-9a-f]{40}$',
  description: 'EVM address, lowercase',
})

/** One party's row of the earnings ledger: what it earned in a job, was paid, lost, and why. */
export const Earning = Type.Object(
  {
    jobId: Type.String({ pattern: '^[0-9a-f]+$' }),
    role: EarningRole,
    account: Address,
    /** The party's peer ID. */
    peer: Type.Optional(Type.String()),
    /** A prover's or verifier's client (its peer ID). */
    counterparty: Type.Optional(Type.String()),
    chainId: Type.Optional(Type.Integer({ minimum: 1 })),
    /** The escrow contract. */
    escrow: Type.Optional(Address),
    /** Segments accepted (a prover's row). */
    segments: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Accepted segments × price, or the verifier fee; for the client, the budget it locked. */
    earnedWei: Wei,
    /** Received so far; for the client, refunded. */
    paidWei: Wei,
    slashedWei: Wei,
    status: EarningStatus,
    /** Why, in words, when not paid. */
    reason: Type.Optional(Type.String()),
    /** Transactions of this row, oldest first: `kind` is `open`, `collateral`, `settle`, `claim`, … */
    txHashes: Type.Array(
      Type.Object({
        kind: Type.String(),
        hash: Type.String({ pattern: '^0x[0-9a-f]{64}$' }),
      }),
    ),
    createdAt: EpochMs,
    updatedAt: EpochMs,
  },
  { $id: 'Earning' },
)
export type Earning = Static<typeof Earning>

/** One role's sums over the rows shown, in wei. */
export const EarningSums = Type.Object({
  entries: Type.Integer({ minimum: 0 }),
  earnedWei: Wei,
  paidWei: Wei,
  slashedWei: Wei,
  /** earned − paid − slashed of the rows still `earning`, `pending` or `partly-paid`. */
  pendingWei: Wei,
})
export type EarningSums = Static<typeof EarningSums>

export const EarningsQuery = Type.Object(
  {
    jobId: Type.Optional(Hex32),
    role: Type.Optional(EarningRole),
    status: Type.Optional(Type.String({ description: 'comma-separated statuses' })),
  },
  { additionalProperties: false },
)
export type EarningsQuery = Static<typeof EarningsQuery>

export const EarningList = Type.Object(
  {
    /** Newest first. */
    entries: Type.Array(Earning),
    totals: Type.Object({ prover: EarningSums, verifier: EarningSums, client: EarningSums }),
  },
  { $id: 'EarningList' },
)
export type EarningList = Static<typeof EarningList>

export const OUTPUT_NAMES = ['receipt', 'journal', 'stdout', 'stderr', 'events'] as const
export type OutputName = (typeof OUTPUT_NAMES)[number]

export const VerifyRequest = Type.Object(
  {
    receipt: FileRef,
    imageId: Hex32,
    journal: Type.Optional(FileRef),
  },
  { additionalProperties: false, $id: 'VerifyRequest' },
)
export type VerifyRequest = Static<typeof VerifyRequest>

export const VerifyResult = Type.Object(
  {
    ok: Type.Boolean(),
    kind: Type.Optional(Type.String()),
    segments: Type.Optional(Type.Integer()),
    journal: Type.Optional(Type.String({ description: 'hex' })),
    exitCode: Type.Optional(Type.Object({ kind: Type.String(), code: Type.Integer() })),
    reason: Type.Optional(Type.String()),
  },
  { $id: 'VerifyResult' },
)
export type VerifyResult = Static<typeof VerifyResult>

export const PluginInfo = Type.Object({
  name: Type.String(),
  version: Type.String(),
  description: Type.Optional(Type.String()),
  kinds: Type.Array(Type.String()),
  /** What the manifest asks for (`fs:data`, `network:loopback`, …); declared, not yet enforced. */
  permissions: Type.Array(Type.String()),
  source: Type.String(),
  status: Type.String(),
  error: Type.Optional(Type.String()),
})
export type PluginInfo = Static<typeof PluginInfo>
export const PluginList = Type.Object({ plugins: Type.Array(PluginInfo) }, { $id: 'PluginList' })
export type PluginList = Static<typeof PluginList>
export const PluginInstall = Type.Object(
  { upload: Type.String({ pattern: '^[0-9a-f]{32}$' }) },
  { additionalProperties: false },
)
export const PluginName = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
})

export const NetworkState = Type.Object(
  {
    peerId: Type.String(),
    addresses: Type.Array(Type.String()),
    connections: Type.Array(
      Type.Object({ peer: Type.String(), address: Type.String(), direction: Type.String() }),
    ),
    /** Topics this node follows (subscribed), and the need topic; peers: subscribers known. */
    topics: Type.Array(
      Type.Object({ topic: Type.String(), subscribed: Type.Boolean(), peers: Type.Integer() }),
    ),
  },
  { $id: 'NetworkState' },
)
export type NetworkState = Static<typeof NetworkState>

/** The node's storage: what its embedded store holds, what jobs pin, how long they keep it. */
export const StorageState = Type.Object(
  {
    /** Bytes and blocks in the embedded store; null for a storage plugin that cannot say. */
    usedBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    blocks: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    quotaBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    /** Pins held for jobs, by class (`work`: program, input, segments, manifest; `output`). */
    held: Type.Object({ work: Type.Integer({ minimum: 0 }), output: Type.Integer({ minimum: 0 }) }),
    retention: Type.Object({
      workHours: Type.Number({ minimum: 0 }),
      /** null: outputs are kept for good. */
      outputsDays: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    }),
    /** When the next held pin falls due (ms since the epoch), if any will. */
    nextReleaseAt: Type.Union([Type.Integer(), Type.Null()]),
  },
  { $id: 'StorageState' },
)
export type StorageState = Static<typeof StorageState>

/** What one housekeeping pass did. */
export const SweepResult = Type.Object(
  {
    jobs: Type.Integer({ minimum: 0 }),
    released: Type.Integer({ minimum: 0 }),
    unpinned: Type.Integer({ minimum: 0 }),
    freedBytes: Type.Integer({ minimum: 0 }),
    freedBlocks: Type.Integer({ minimum: 0 }),
    nextReleaseAt: Type.Union([Type.Integer(), Type.Null()]),
  },
  { $id: 'SweepResult' },
)
export type SweepResult = Static<typeof SweepResult>

/**
 * The settings the API may read and change. Other keys of settings.json (e.g. `clientNode`, the
 * client's test timings) are kept as they are when the API writes the file.
 */
export const Settings = Type.Object(
  {
    /** The roles `wholesum node` runs when no --role is given (default client and prover). */
    roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 3, uniqueItems: true })),
    prover: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    api: Type.Optional(
      Type.Object(
        {
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          /** Origins besides the daemon's own that may call the API (e.g. a dev server). */
          allowedOrigins: Type.Optional(
            Type.Array(Type.String({ maxLength: 200 }), { maxItems: 16 }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    proverNode: Type.Optional(
      Type.Object(
        {
          minPricePerSegment: Type.Optional(Type.Integer({ minimum: 0 })),
          maxConcurrentSegments: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
          maxConcurrentJobs: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
        },
        { additionalProperties: true },
      ),
    ),
    network: Type.Optional(
      Type.Object(
        {
          listen: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 16 })),
          bootstrap: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 64 })),
          mdns: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    storage: Type.Optional(
      Type.Object(
        {
          /** Limit on the embedded IPFS store's block bytes (a write past it collects first). */
          quotaBytes: Type.Optional(Type.Integer({ minimum: 0 })),
          retention: Type.Optional(
            Type.Object(
              {
                /** Hours a finished job's work (program, input, segments, manifest) is kept; default 1. */
                workHours: Type.Optional(Type.Number({ minimum: 0, maximum: 87_600 })),
                /** Days a finished job's outputs are kept; null (the default) keeps them. */
                outputsDays: Type.Optional(
                  Type.Union([Type.Number({ minimum: 0, maximum: 36_500 }), Type.Null()]),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    plugins: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))),
  },
  { additionalProperties: false, $id: 'Settings' },
)
export type Settings = Static<typeof Settings>

export const SettingsWritten = Type.Object(
  {
    settings: Settings,
    /** Settings are read at start: a change takes effect when the daemon restarts. */
    restartRequired: Type.Boolean(),
  },
  { $id: 'SettingsWritten' },
)
export type SettingsWritten = Static<typeof SettingsWritten>

/** A one-time ticket for the browser UI: open `url`, whose fragment carries the ticket. */
export const UiTicket = Type.Object(
  {
    ticket: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    url: Type.String(),
    expiresAt: EpochMs,
  },
  { $id: 'UiTicket' },
)
export type UiTicket = Static<typeof UiTicket>

export const UiSessionRequest = Type.Object(
  { ticket: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
  { additionalProperties: false, $id: 'UiSessionRequest' },
)
export type UiSessionRequest = Static<typeof UiSessionRequest>

/** The install's API token: what a redeemed ticket or a rotation hands back. */
export const TokenGrant = Type.Object(
  { token: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
  { $id: 'TokenGrant' },
)
export type TokenGrant = Static<typeof TokenGrant>
