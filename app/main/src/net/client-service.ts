// The client's IO adapter: executes a job locally, stores its segments, runs its ClientJob state
// machine on a clock, and carries out the machine's commands over the wire, storage and the
// prover plugin (segment and final verification, assembly). Harvests outputs when done.

import { createHash, randomBytes } from 'node:crypto'
import { appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { CidString, ProverPlugin, SegmentInfo, StoragePlugin } from '@wholesum/plugin-api'
import { WholesumError } from '@wholesum/plugin-api'
import type { ComponentLogger } from '../log/logger.ts'
import { DEFAULT_JOB_LIMITS, type JobLimits } from '../jobs/limits.ts'
import { OfferBook } from '../pipeline/offer-book.ts'
import { validateInput, validatePo2, validateProgram } from '../jobs/validate.ts'
import { ClientJob, type ClientCommand, type ClientPhase } from '../pipeline/client-job.ts'
import type { EvidenceCheck, OfferTerms } from '../pipeline/market.ts'
import { EvidenceChecker } from './evidence.ts'
import { JoinDriver, type JoinEvent } from './join-driver.ts'
import { Bitfield } from '../protocol/bitfield.ts'
import { deriveJobId } from '../protocol/job-id.ts'
import { PROTOCOLS, TOPICS, pipelineTopic, type MessageOf } from '../protocol/messages.ts'
import { checkDeliveredReceipt, putFile } from './transfer.ts'
import { requestAttestations } from './attest.ts'
import type { ClientPayments } from './client-payments.ts'
import { payeeProblem } from './payee.ts'
import { VerifierBook } from '../pipeline/verifier-book.ts'
import { tallyAttestations } from '../pipeline/quorum.ts'
import type { JobManifest } from '../protocol/manifest.ts'
import type { Reply, Wire } from './wire.ts'
import {
  TERMINAL_JOB_STATUSES,
  type JobStore,
  type JobStatus,
  type JsonObject,
} from '../store/index.ts'
import type { ClientJobConfig, ClientJobSnapshot } from '../pipeline/client-job.ts'
import type { NeedBody } from '../protocol/messages.ts'

export interface SubmitRequest {
  readonly program: string
  readonly input: string
  readonly po2: number
  readonly rewardPerSegment: bigint
  /** How long the job may take before it fails (ms). */
  readonly timeoutMs: number
  readonly maxProvers: number
  readonly minMemoryMiB?: number
  readonly limits?: JobLimits
  /**
   * `composite` (default): segment receipts assembled by the client. `succinct`: only provers
   * with the recursion circuit get deals; they lift each segment receipt and join them, in a JOIN
   * stage, into one succinct receipt.
   */
  readonly receipt?: 'composite' | 'succinct'
  readonly onEvent?: (event: ClientEvent) => void
  /**
   * Aborts the submission until the job is recorded (validation, image ID, storing program and
   * input); once `accept` resolves, the job is the node's and only `cancel` stops it.
   */
  readonly signal?: AbortSignal
}

export type ClientEvent =
  | {
      readonly type: 'executed'
      readonly jobId: string
      readonly segments: number
      readonly cycles: number
    }
  | { readonly type: 'stored'; readonly jobId: string; readonly manifestCid: string }
  | {
      readonly type: 'phase'
      readonly jobId: string
      readonly phase: ClientPhase
      readonly reason?: string
    }
  | { readonly type: 'deal'; readonly jobId: string; readonly prover: string }
  | (JoinEvent & { readonly jobId: string })
  /** Something the user should know about how this job will run (e.g. no succinct receipt). */
  | { readonly type: 'notice'; readonly jobId: string; readonly message: string }
  /** An offer's benchmark receipt was checked (before the offer is weighed). */
  | {
      readonly type: 'evidence'
      readonly jobId: string
      readonly prover: string
      readonly evidence: EvidenceCheck
    }
  | {
      readonly type: 'claim'
      readonly jobId: string
      readonly prover: string
      readonly index: number
    }
  | {
      readonly type: 'credit'
      readonly jobId: string
      readonly prover: string
      readonly index: number
    }
  | {
      readonly type: 'strike'
      readonly jobId: string
      readonly prover: string
      readonly index: number
      readonly reason: string
    }
  /** `prover` delivered the receipt `original` had delivered first: recorded, never paid. */
  | {
      readonly type: 'copy'
      readonly jobId: string
      readonly prover: string
      readonly index: number
      readonly original: string
    }
  | {
      readonly type: 'reopen'
      readonly jobId: string
      readonly index: number
      readonly reason: string
    }
  /** The job's last event: nothing follows it. A done job's outputs are stored by then. */
  | {
      readonly type: 'finished'
      readonly jobId: string
      readonly status: 'done' | 'failed' | 'cancelled'
      readonly reason?: string
    }
  /** The verifiers picked at random to attest to the final receipt. */
  | { readonly type: 'verifiers'; readonly jobId: string; readonly verifiers: readonly string[] }
  /** One verifier's answer: `agrees` says whether it matches the client's own check. */
  | {
      readonly type: 'attestation'
      readonly jobId: string
      readonly verifier: string
      readonly verdict?: 'valid' | 'invalid'
      readonly agrees?: boolean
      readonly reason?: string
    }
  /** What the verifiers said together. `verdict` none: no quorum agreed. */
  | {
      readonly type: 'quorum'
      readonly jobId: string
      readonly verdict: 'valid' | 'invalid' | 'none'
      readonly quorum: number
      readonly asked: number
      readonly valid: number
      readonly invalid: number
      /** Verifiers whose signed attestation contradicts the receipt: the evidence is kept. */
      readonly wrong: readonly string[]
    }
  /** The client restarted and picked the job up where its store left it. */
  | {
      readonly type: 'resumed'
      readonly jobId: string
      readonly proved: number
      readonly total: number
    }

export interface JobOutcome {
  readonly jobId: string
  readonly imageId: string
  readonly segments: number
  readonly receiptPath: string
  readonly journalPath: string
  readonly cids: {
    readonly receipt: CidString
    readonly journal: CidString
    readonly stdout: CidString
    readonly stderr: CidString
    readonly events: CidString
    readonly manifest: CidString
  }
  /** Segments credited per prover (PROVE). */
  readonly credits: ReadonlyMap<string, number>
  /** Joins credited per prover (JOIN; empty for a composite receipt). */
  readonly joinCredits: ReadonlyMap<string, number>
  /** Rejected deliveries per prover over the whole job. */
  readonly strikes: ReadonlyMap<string, number>
  readonly timings: {
    readonly executeMs: number
    readonly networkMs: number
    readonly totalMs: number
  }
}

export interface ClientServiceOptions {
  readonly wire: Wire
  readonly storage: StoragePlugin
  readonly prover: ProverPlugin
  readonly logger: ComponentLogger
  readonly workDir: string
  readonly tickMs?: number
  readonly offerWindowMs?: number
  readonly bitfieldIntervalMs?: number
  readonly claimTtlMs?: number
  readonly maxStrikes?: number
  /**
   * The PROVE stage's endgame (default on). Off in tests that need a claim to stay its prover's
   * until it delivers, such as a liar that must get to hand in its lie.
   */
  readonly endgame?: boolean
  readonly clock?: () => number
  /** Where jobs, segments, deals and events persist; a restarted client resumes from it. */
  readonly store?: JobStore
  /** Every event of every job, with its ID in the store's event log (when there is a store). */
  readonly onEvent?: (event: ClientEvent, eventId: number | undefined) => void
  /** Independent verifiers attest to every final receipt before the job finishes. */
  readonly verification?: VerificationPolicy
  /**
   * Jobs pay through the escrow: opened with a budget and verifier set before the need, one
   * acceptance per credited segment, settled once a quorum attested the receipt.
   */
  readonly payments?: ClientPayments
}

export interface VerificationPolicy {
  /** Verifiers asked per job, picked at random among those advertising. */
  readonly count: number
  /** Matching verdicts needed for the quorum's verdict. */
  readonly quorum: number
  /** The most one verifier may ask, wei. */
  readonly maxFee?: bigint
  /** How long to wait for enough verifiers to advertise (ms). */
  readonly waitMs?: number
  /** How long one verifier may take to answer (ms). */
  readonly timeoutMs?: number
}

/** A job accepted by `start`: recorded, executing in the background. */
export interface SubmittedJob {
  readonly jobId: string
  readonly outcome: Promise<JobOutcome>
}

/** Everything needed to execute a job, persisted before execution so a restart can redo it. */
interface ExecutionPlan {
  readonly jobId: string
  readonly dir: string
  readonly program: string
  readonly input: string
  readonly imageId: string
  readonly programCid: string
  readonly inputCid: string
  readonly nonce: string
  readonly po2: number
  readonly rewardPerSegment: string
  readonly deadline: number
  readonly maxProvers: number
  readonly minMemoryMiB: number
  readonly maxCycles: number
  readonly receipt: 'composite' | 'succinct'
  readonly startedAt: number
}

/** What `extra` holds for a client job: enough to rebuild its RunningJob after a restart. */
interface PersistedClientJob {
  readonly dir: string
  readonly segments: readonly SegmentInfo[]
  readonly journalPath: string
  readonly stdoutPath: string
  readonly stderrPath: string
  readonly need: NeedBody
  readonly config: Omit<ClientJobConfig, 'need'> & {
    readonly need: Omit<ClientJobConfig['need'], 'rewardPerSegment'> & {
      readonly rewardPerSegment: string
    }
  }
  readonly startedAt: number
  readonly executeMs: number
}

/**
 * A client job's state as its store's tables record it: the one source of truth a restarted
 * client resumes from. Deals from `deals` (price, and strikes counted against them), segments from
 * `segments` (proved ones with their receipt and prover; claims in flight restart open), the phase
 * from the job's status (no deal yet: still negotiating).
 */
export function snapshotFromStore(store: JobStore, jobId: string): ClientJobSnapshot {
  const record = store.getJob(jobId)
  if (record === undefined) throw new WholesumError('NOT_FOUND', `no job ${jobId} in the store`)
  const deals = store.getDeals(jobId).filter((d) => d.status === 'active')
  const phase: ClientPhase =
    record.status === 'assembling' || record.status === 'verifying'
      ? record.status
      : deals.length === 0
        ? 'negotiating'
        : 'proving'
  return {
    phase,
    deals: Object.fromEntries(deals.map((d) => [d.prover, d.pricePerSegment])),
    stage: {
      slots: store.getSegments(jobId).map((s) =>
        s.status === 'proved' && s.receiptCid !== undefined && s.provedBy !== undefined
          ? {
              status: 'proved' as const,
              receiptCid: s.receiptCid,
              provedBy: s.provedBy,
              claims: s.attempts,
              rejects: s.rejects,
            }
          : { status: 'open' as const, claims: s.attempts, rejects: s.rejects },
      ),
      strikes: Object.fromEntries(
        store
          .getDeals(jobId)
          .filter((d) => d.strikes > 0)
          .map((d) => [d.prover, d.strikes]),
      ),
    },
  }
}

/** The manifest provers fetch by CID: where each segment is, and the claim it must prove. */

interface RunningJob {
  readonly id: string
  readonly machine: ClientJob
  readonly dir: string
  readonly imageId: string
  readonly manifestCid: string
  readonly segments: readonly SegmentInfo[]
  readonly journalPath: string
  readonly stdoutPath: string
  readonly stderrPath: string
  needBody: NeedBody
  readonly startedAt: number
  readonly executeMs: number
  readonly onEvent: (event: ClientEvent) => void
  readonly settle: { resolve: (o: JobOutcome) => void; reject: (e: Error) => void }
  /** Offers waiting for the offer window to close, by offer ID. */
  readonly answers: Map<string, (reply: Reply) => void>
  /** The JOIN stage, once PROVE is done, for a job that asked for a succinct receipt. */
  join?: JoinDriver
  /** Its restart record (`extra`: config, segments, paths) is in the store. */
  persisted?: boolean
}

/** Where a delivered receipt is kept: one file per segment and receipt CID, so duplicates never collide. */
function receiptFile(dir: string, index: number, receiptCid: string): string {
  return join(dir, 'receipts', `segment-${String(index).padStart(5, '0')}-${receiptCid}.receipt`)
}

/** Periodic gossip: not an event of the job's history. */
/**
 * The longest an offer waits for its benchmark evidence: with the offer window (1.5 s by default)
 * it stays well inside a direct request's 15 s, so the answer reaches the prover.
 */
const OFFER_EVIDENCE_WAIT_MS = 8_000

const GOSSIP: ReadonlySet<ClientCommand['type']> = new Set(['publish-need', 'publish-bitfield'])
/** Commands that only ask for work and change no persisted state. */
/** The direct protocols a client serves. */
const CLIENT_PROTOCOLS = [
  PROTOCOLS.offer,
  PROTOCOLS.claim,
  PROTOCOLS.proof,
  PROTOCOLS.status,
  PROTOCOLS.payout,
] as const

const STATELESS: ReadonlySet<ClientCommand['type']> = new Set([
  ...GOSSIP,
  'verify-segment',
  'copied',
  'assemble',
  'verify-final',
])

function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
}

function statusOf(phase: ClientPhase): JobStatus {
  switch (phase) {
    case 'negotiating':
    case 'proving':
      return 'proving'
    default:
      return phase
  }
}

export class ClientService {
  private readonly options: ClientServiceOptions
  private readonly jobs = new Map<string, RunningJob>()
  /** Jobs still executing, and how to abort each. */
  private readonly executing = new Map<string, AbortController>()
  /** Executing jobs whose owner cancelled them (an abort by `stop` leaves a job to resume). */
  private readonly cancelling = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly clock: () => number
  private offerSeq = 0
  /** The latest offer of each prover this client heard from: what estimates are made of. */
  readonly offers = new OfferBook()
  /** The verifiers heard advertising lately. */
  readonly verifiers = new VerifierBook()
  private readonly evidence: EvidenceChecker

  constructor(options: ClientServiceOptions) {
    this.options = options
    this.clock = options.clock ?? Date.now
    this.evidence = new EvidenceChecker({
      storage: options.storage,
      peers: options.wire,
      prover: options.prover,
      workDir: options.workDir,
      fetchTimeoutMs: 3_000,
    })
  }

  async start(): Promise<void> {
    const { wire } = this.options
    // (CLIENT_PROTOCOLS lists these four, for stop.)
    await wire.handle(PROTOCOLS.offer, (m, from) => this.onOffer(m, from))
    await wire.handle(PROTOCOLS.claim, (m, from) => this.onClaim(m, from))
    await wire.handle(PROTOCOLS.proof, (m, from) => this.onProof(m, from))
    await wire.handle(PROTOCOLS.status, (m) => this.onStatus(m))
    await wire.handle(PROTOCOLS.payout, (m, from) =>
      this.options.payments !== undefined
        ? this.options.payments.onPayoutRequest(m, from)
        : { type: 'decline', body: { jobId: m.body.jobId, reason: 'this client pays nobody' } },
    )
    if (this.options.verification !== undefined || this.options.payments !== undefined)
      wire.subscribe(TOPICS.verifiers, (m) => {
        if (m.type === 'verifier-ad') void this.onVerifierAd(m)
      })
    this.timer = setInterval(() => this.tickAll(), this.options.tickMs ?? 250)
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.options.wire.follows(TOPICS.verifiers)) this.options.wire.unsubscribe(TOPICS.verifiers)
    // Nothing reaches a stopped client: its protocols go, so peers get a clean refusal.
    for (const protocol of CLIENT_PROTOCOLS) {
      await this.options.wire.unhandle(protocol).catch(() => {})
    }
    for (const controller of this.executing.values()) {
      controller.abort(new WholesumError('ABORTED', 'client stopped'))
    }
    for (const job of this.jobs.values()) {
      job.settle.reject(
        new WholesumError('ABORTED', `client stopped before job ${job.id} finished`),
      )
    }
    this.jobs.clear()
  }

  /** Executes, stores and announces a job; resolves once its final receipt verified locally. */
  async submit(request: SubmitRequest): Promise<JobOutcome> {
    return await (
      await this.accept(request)
    ).outcome
  }

  /**
   * Validates a job, stores its program and input, derives its ID and records it (status
   * `executing`) before it resolves: what it acknowledges is persisted. Execution, the market and
   * the pipeline then go on in the background; `outcome` settles when the job ends.
   */
  async accept(request: SubmitRequest): Promise<SubmittedJob> {
    const { prover, storage, wire } = this.options
    const limits = request.limits ?? DEFAULT_JOB_LIMITS
    const startedAt = this.clock()
    const signal = request.signal
    signal?.throwIfAborted()
    validatePo2(request.po2, limits)
    await validateProgram(request.program, limits)
    await validateInput(request.input, limits)
    signal?.throwIfAborted()
    const imageId = await prover.imageId(request.program)
    const put = signal !== undefined ? { signal } : {}
    const programCid = await putFile(storage, request.program, put)
    const inputCid = await putFile(storage, request.input, put)
    const nonce = randomBytes(32).toString('hex')
    const jobId = deriveJobId({ clientPeerId: wire.peerId, nonce, imageId, inputCid })
    const dir = resolve(this.options.workDir, 'jobs', jobId)
    await mkdir(join(dir, 'receipts'), { recursive: true })
    // The job's own copies: a restart during execution executes again from them.
    const plan: ExecutionPlan = {
      jobId,
      dir,
      program: join(dir, 'program.bin'),
      input: join(dir, 'input.bin'),
      imageId,
      programCid,
      inputCid,
      nonce,
      po2: request.po2,
      rewardPerSegment: request.rewardPerSegment.toString(),
      deadline: startedAt + request.timeoutMs,
      maxProvers: request.maxProvers,
      minMemoryMiB: request.minMemoryMiB ?? 1024,
      maxCycles: limits.maxCycles,
      receipt: request.receipt ?? 'composite',
      startedAt,
    }
    await copyFile(request.program, plan.program)
    await copyFile(request.input, plan.input)
    signal?.throwIfAborted()
    this.options.store?.createJob({
      jobId,
      role: 'client',
      imageId,
      programCid,
      inputCid,
      po2: request.po2,
      segments: 0,
      status: 'executing',
      rewardPerSegment: plan.rewardPerSegment,
      deadline: plan.deadline,
      nonce,
      extra: { plan: plan as unknown as JsonObject },
    })
    this.options.store?.recordPins(jobId, 'work', [programCid, inputCid])
    const outcome = this.execute(plan, request.onEvent ?? (() => {}))
    // The caller may hold only the ID for now; the outcome is still awaited by someone or logged.
    outcome.catch(() => {})
    return { jobId, outcome }
  }

  /**
   * Cancels a job of this client: its execution is aborted, or its provers are told (a signed
   * `cancel` on the job's topic) and every claim is dropped. Resolves with the job's status.
   */
  async cancel(jobId: string, reason = 'cancelled by its owner'): Promise<JobStatus> {
    const executing = this.executing.get(jobId)
    if (executing !== undefined) {
      this.cancelling.add(jobId)
      executing.abort(new WholesumError('ABORTED', reason))
      return 'cancelled'
    }
    const job = this.jobs.get(jobId)
    if (job !== undefined) {
      this.run(job, job.machine.cancel(reason))
      return 'cancelled'
    }
    const record = this.options.store?.getJob(jobId)
    if (record === undefined || record.role !== 'client') {
      throw new WholesumError('NOT_FOUND', `no job ${jobId} on this client`)
    }
    if (TERMINAL_JOB_STATUSES.includes(record.status)) return record.status
    this.options.store!.updateJob(jobId, { status: 'cancelled', error: reason })
    return 'cancelled'
  }

  /** Execution, storage of the segments and the manifest, then the market and the pipeline. */
  private async execute(
    plan: ExecutionPlan,
    onEvent: (event: ClientEvent) => void,
  ): Promise<JobOutcome> {
    const { prover, storage, wire, store } = this.options
    const { jobId, dir } = plan
    const controller = new AbortController()
    this.executing.set(jobId, controller)
    let execution: Awaited<ReturnType<ProverPlugin['execute']>>
    let manifest: JobManifest
    let manifestCid: string
    try {
      execution = await prover.execute({
        program: plan.program,
        input: plan.input,
        po2: plan.po2,
        outDir: join(dir, 'segments'),
        maxCycles: plan.maxCycles,
        signal: controller.signal,
      })
      this.emit(jobId, onEvent, {
        type: 'executed',
        jobId,
        segments: execution.segments.length,
        cycles: execution.totalCycles,
      })
      manifest = {
        v: 1,
        jobId,
        imageId: plan.imageId,
        po2: plan.po2,
        segments: await Promise.all(
          execution.segments.map(async (s) => {
            const cid = await putFile(storage, s.path, { signal: controller.signal })
            // Recorded as each lands, so a failed execution's segments are released too.
            store?.recordPins(jobId, 'work', [cid])
            return { cid, claimDigest: s.claimDigest }
          }),
        ),
      }
      manifestCid = await storage.put(new TextEncoder().encode(JSON.stringify(manifest)), {
        pin: true,
        signal: controller.signal,
      })
      store?.recordPins(jobId, 'work', [manifestCid])
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2))
      controller.signal.throwIfAborted()
      store?.recordExecution(
        jobId,
        manifestCid,
        manifest.segments.map((s, idx) => ({
          idx,
          segmentCid: s.cid,
          expectedClaim: s.claimDigest,
        })),
      )
    } catch (err) {
      this.executing.delete(jobId)
      const cancelled = this.cancelling.delete(jobId)
      if (controller.signal.aborted && !cancelled) {
        // Stopped, not cancelled: the job stays `executing` and a restart executes it again.
        throw new WholesumError('ABORTED', `client stopped while job ${jobId} was executing`)
      }
      const reason = cancelled
        ? String((controller.signal.reason as Error | undefined)?.message ?? 'cancelled')
        : `execution failed: ${(err as Error).message}`
      try {
        store?.updateJob(jobId, { status: cancelled ? 'cancelled' : 'failed', error: reason })
      } catch (storeErr) {
        this.options.logger.error('job store write failed', {
          jobId,
          error: (storeErr as Error).message,
        })
      }
      this.emit(jobId, onEvent, {
        type: 'phase',
        jobId,
        phase: cancelled ? 'cancelled' : 'failed',
        reason,
      })
      this.emit(jobId, onEvent, {
        type: 'finished',
        jobId,
        status: cancelled ? 'cancelled' : 'failed',
        reason,
      })
      throw cancelled ? new WholesumError('ABORTED', `job ${jobId}: ${reason}`) : err
    }
    this.executing.delete(jobId)
    this.emit(jobId, onEvent, { type: 'stored', jobId, manifestCid })
    // Said on every job, because it decides what receipt the user gets.
    const succinct = plan.receipt === 'succinct'
    const capabilities = await prover.capabilities()
    const recursionNote =
      capabilities.notes.find((n) => /recursion/i.test(n)) ?? 'no recursion circuit'
    const notice = succinct
      ? 'succinct receipt: only provers that report the recursion circuit get deals; they lift ' +
        'each segment receipt and join them in a JOIN stage (this client only verifies, which ' +
        'needs no circuit)'
      : 'composite receipt: segment receipts assembled by this client' +
        (capabilities.recursion
          ? ''
          : ` (a succinct one needs provers with recursion: ${recursionNote})`)
    this.options.logger.info(notice, { jobId })
    this.emit(jobId, onEvent, { type: 'notice', jobId, message: notice })
    const needBody = {
      jobId,
      nonce: plan.nonce,
      imageId: plan.imageId,
      inputCid: plan.inputCid,
      programCid: plan.programCid,
      segments: execution.segments.length,
      po2: plan.po2,
      rewardPerSegment: plan.rewardPerSegment,
      deadline: plan.deadline,
      requirements: {
        minMemoryMiB: plan.minMemoryMiB,
        proverKind: 'risc0' as const,
        recursion: succinct,
      },
      clientAddrs: wire.addresses().slice(0, 8),
    }
    const payments = this.options.payments
    if (payments !== undefined) {
      try {
        const escrow = await payments.open(
          {
            jobId,
            segments: execution.segments.length,
            rewardPerSegment: BigInt(plan.rewardPerSegment),
            deadline: plan.deadline,
          },
          this.verifiers,
        )
        ;(needBody as NeedBody).escrow = escrow
      } catch (err) {
        const reason = `the job could not be opened on the escrow: ${(err as Error).message}`
        store?.updateJob(jobId, { status: 'failed', error: reason })
        this.emit(jobId, onEvent, { type: 'phase', jobId, phase: 'failed', reason })
        this.emit(jobId, onEvent, { type: 'finished', jobId, status: 'failed', reason })
        throw new WholesumError('EXECUTION_FAILED', `job ${jobId}: ${reason}`)
      }
    }
    const machine = new ClientJob({
      need: {
        jobId,
        segments: execution.segments.length,
        po2: plan.po2,
        rewardPerSegment: BigInt(plan.rewardPerSegment),
        deadline: plan.deadline,
        requirements: needBody.requirements,
      },
      policy: { maxProvers: plan.maxProvers },
      offerWindowMs: this.options.offerWindowMs ?? 1500,
      needIntervalMs: 3000,
      bitfieldIntervalMs: this.options.bitfieldIntervalMs ?? 2000,
      claimTtlMs: this.options.claimTtlMs ?? 60_000,
      maxStrikes: this.options.maxStrikes ?? 2,
      ...(this.options.endgame !== undefined ? { endgame: this.options.endgame } : {}),
    })
    return await new Promise<JobOutcome>((resolvePromise, rejectPromise) => {
      const job: RunningJob = {
        id: jobId,
        machine,
        dir,
        imageId: plan.imageId,
        manifestCid,
        segments: execution.segments,
        journalPath: execution.journalPath,
        stdoutPath: execution.stdoutPath,
        stderrPath: execution.stderrPath,
        needBody: needBody as RunningJob['needBody'],
        startedAt: plan.startedAt,
        executeMs: execution.executeMs,
        onEvent,
        settle: { resolve: resolvePromise, reject: rejectPromise },
        answers: new Map(),
      }
      this.jobs.set(jobId, job)
      this.persistRecord(job)
      this.run(job, machine.start(this.clock()))
    })
  }

  private finished(
    job: RunningJob,
    status: 'done' | 'failed' | 'cancelled',
    reason?: string,
  ): void {
    this.emit(job.id, job.onEvent, {
      type: 'finished',
      jobId: job.id,
      status,
      ...(reason !== undefined ? { reason } : {}),
    })
  }

  /** Records an event in the job's log (its ID orders it) and hands it to the listeners. */
  private emit(jobId: string, onEvent: (event: ClientEvent) => void, event: ClientEvent): void {
    let id: number | undefined
    const store = this.options.store
    if (store !== undefined) {
      const { type, jobId: _jobId, ...data } = event as ClientEvent & Record<string, unknown>
      try {
        id = store.appendEvent(jobId, type, JSON.parse(toJson(data)) as JsonObject, this.clock())
      } catch (err) {
        this.options.logger.error('job event not recorded', {
          jobId,
          type,
          error: (err as Error).message,
        })
      }
    }
    onEvent(event)
    this.options.onEvent?.(event, id)
  }

  /**
   * Picks up every unfinished client job from the store after a restart: the state machine is
   * rebuilt from its last snapshot, the need is announced again with this node's current
   * addresses, and dealt provers carry on. `onDone` receives each job's outcome.
   */
  resume(
    onDone: (outcome: JobOutcome | Error) => void,
    onEvent: (event: ClientEvent) => void = () => {},
  ): string[] {
    const store = this.options.store
    if (store === undefined) return []
    const resumed: string[] = []
    // Interrupted during execution: execute again from the job's own copies, under the same ID.
    for (const record of store.listJobs({ role: 'client', status: ['executing'] })) {
      const plan = (record.extra as { plan?: ExecutionPlan }).plan
      if (plan === undefined) continue
      this.emit(record.jobId, onEvent, {
        type: 'resumed',
        jobId: record.jobId,
        proved: 0,
        total: 0,
      })
      this.execute(plan, onEvent).then(onDone, onDone)
      resumed.push(record.jobId)
    }
    for (const record of store.listJobs({
      role: 'client',
      status: ['proving', 'assembling', 'verifying'],
    })) {
      const saved = record.extra as unknown as PersistedClientJob
      if (saved.config === undefined) continue
      const config: ClientJobConfig = {
        ...saved.config,
        need: {
          ...saved.config.need,
          rewardPerSegment: BigInt(saved.config.need.rewardPerSegment),
        },
      }
      const machine = new ClientJob(config, snapshotFromStore(store, record.jobId))
      // An escrowed job's verifiers and provers' accounts come back with it, and any credited
      // segment whose acceptance was being signed at the crash is signed now.
      if (this.options.payments?.restore(record.jobId) === true) {
        this.options.payments.acceptMissing(
          record.jobId,
          store
            .getSegments(record.jobId)
            .filter((seg) => seg.status === 'proved' && seg.provedBy !== undefined)
            .map((seg) => ({
              prover: seg.provedBy!,
              segment: seg.idx,
              amount: machine.dealPrice(seg.provedBy!) ?? 0n,
            })),
        )
      }
      const job: RunningJob = {
        id: record.jobId,
        machine,
        dir: saved.dir,
        imageId: record.imageId,
        manifestCid: record.manifestCid!,
        segments: saved.segments,
        journalPath: saved.journalPath,
        stdoutPath: saved.stdoutPath,
        stderrPath: saved.stderrPath,
        needBody: { ...saved.need, clientAddrs: this.options.wire.addresses().slice(0, 8) },
        startedAt: saved.startedAt,
        executeMs: saved.executeMs,
        onEvent,
        settle: { resolve: (o) => onDone(o), reject: (e) => onDone(e) },
        answers: new Map(),
        persisted: true,
      }
      this.jobs.set(job.id, job)
      this.emit(job.id, onEvent, {
        type: 'resumed',
        jobId: job.id,
        proved: machine.stage.proved,
        total: machine.stage.total,
      })
      // Announce again: provers learn our new addresses; then carry on where the snapshot left off.
      this.run(job, [{ type: 'publish-need' }, ...machine.tick(this.clock())])
      resumed.push(job.id)
    }
    return resumed
  }

  /** Writes what the commands changed, before any reply that depends on it leaves this node. */
  private persist(job: RunningJob, commands: readonly ClientCommand[]): void {
    const store = this.options.store
    if (store === undefined) return
    const now = this.clock()
    if (commands.every((c) => STATELESS.has(c.type))) return
    store.transaction(() => {
      for (const command of commands) {
        switch (command.type) {
          case 'answer-offer':
            if (command.deal) {
              store.upsertDeal({
                jobId: job.id,
                prover: command.prover,
                pricePerSegment: (command.pricePerSegment ?? 0n).toString(),
                signedAt: now,
                expires: job.machine.config.need.deadline,
              })
            }
            break
          case 'credit':
            store.markProved(job.id, command.index, {
              receiptCid: command.receiptCid,
              prover: command.prover,
              at: now,
            })
            store.addReceipt({
              receiptCid: command.receiptCid,
              jobId: job.id,
              kind: 'segment',
              idx: command.index,
              prover: command.prover,
              verified: true,
            })
            break
          case 'strike':
            if (store.getDeals(job.id).some((d) => d.prover === command.prover))
              store.strike(job.id, command.prover, command.index)
            break
          case 'reopen':
            store.updateSegment(job.id, command.index, {
              status: 'open',
              claimedBy: null,
              claimExpires: null,
            })
            break
          case 'phase':
            store.updateJob(job.id, {
              status: statusOf(command.phase),
              ...(command.reason !== undefined ? { error: command.reason } : {}),
            })
            break
          default:
            break
        }
      }
    })
  }

  /**
   * What a restart needs besides the tables (config, segments, paths), written once when the job
   * starts proving: it never changes, and the tables carry everything that does.
   */
  private persistRecord(job: RunningJob): void {
    const store = this.options.store
    if (store === undefined || job.persisted === true) return
    const extra: PersistedClientJob = {
      dir: job.dir,
      segments: job.segments,
      journalPath: job.journalPath,
      stdoutPath: job.stdoutPath,
      stderrPath: job.stderrPath,
      need: job.needBody,
      config: {
        ...job.machine.config,
        need: {
          ...job.machine.config.need,
          rewardPerSegment: job.machine.config.need.rewardPerSegment.toString(),
        },
      },
      startedAt: job.startedAt,
      executeMs: job.executeMs,
    }
    // The execution plan stays beside it: the status may still say `executing` for a moment.
    const previous = store.getJob(job.id)?.extra ?? {}
    store.updateJob(job.id, {
      extra: JSON.parse(JSON.stringify({ ...previous, ...extra })) as JsonObject,
    })
    job.persisted = true
  }

  private tickAll(): void {
    const now = this.clock()
    for (const job of this.jobs.values()) {
      this.run(job, job.machine.tick(now))
      job.join?.tick()
    }
  }

  private run(job: RunningJob, commands: readonly ClientCommand[]): void {
    try {
      this.persist(job, commands)
    } catch (err) {
      this.options.logger.error('job store write failed', {
        jobId: job.id,
        error: (err as Error).message,
      })
    }
    for (const command of commands) {
      this.record(job, command)
      switch (command.type) {
        case 'publish-need':
          void this.options.wire
            .publish(TOPICS.need, 'need', job.needBody)
            .catch((err) => this.warn(job, 'need not published', err))
          break
        case 'answer-offer': {
          const answer = job.answers.get(command.offerId)
          job.answers.delete(command.offerId)
          if (command.deal) {
            this.emit(job.id, job.onEvent, { type: 'deal', jobId: job.id, prover: command.prover })
            this.options.payments?.dealt(job.id, command.prover)
          }
          answer?.(
            command.deal
              ? {
                  type: 'deal',
                  body: {
                    jobId: job.id,
                    prover: command.prover,
                    pricePerSegment: (command.pricePerSegment ?? 0n).toString(),
                    manifestCid: job.manifestCid,
                    expires: job.machine.config.need.deadline,
                  },
                }
              : { type: 'decline', body: { jobId: job.id, reason: command.reason ?? 'declined' } },
          )
          break
        }
        case 'publish-bitfield': {
          const bits = new Bitfield(job.segments.length)
          for (const i of command.indexes) bits.set(i)
          void this.options.wire
            .publish(pipelineTopic(job.id), 'bitfield', {
              jobId: job.id,
              stage: 'prove',
              round: 0,
              total: job.segments.length,
              bits: bits.toBytes(),
              endgame: command.endgame,
            })
            .catch((err) => this.warn(job, 'bit field not published', err))
          break
        }
        case 'verify-segment':
          void this.verifySegment(job, command.prover, command.index, command.receiptCid)
          break
        case 'credit':
          this.emit(job.id, job.onEvent, {
            type: 'credit',
            jobId: job.id,
            prover: command.prover,
            index: command.index,
          })
          if (this.options.payments?.isEscrowed(job.id) === true) {
            void this.options.payments
              .accept(
                job.id,
                command.prover,
                command.index,
                job.machine.dealPrice(command.prover) ?? 0n,
              )
              .catch((err) => this.warn(job, 'acceptance not signed', err))
          }
          break
        case 'copied':
          this.options.logger.warn('a prover delivered a receipt another prover delivered first', {
            jobId: job.id,
            index: command.index,
            prover: command.prover,
            original: command.original,
            receiptCid: command.receiptCid,
          })
          this.emit(job.id, job.onEvent, {
            type: 'copy',
            jobId: job.id,
            prover: command.prover,
            index: command.index,
            original: command.original,
          })
          break
        case 'strike':
          this.emit(job.id, job.onEvent, {
            type: 'strike',
            jobId: job.id,
            prover: command.prover,
            index: command.index,
            reason: command.reason,
          })
          break
        case 'reopen':
          this.emit(job.id, job.onEvent, {
            type: 'reopen',
            jobId: job.id,
            index: command.index,
            reason: command.reason,
          })
          break
        case 'assemble':
          if (job.needBody.requirements.recursion) this.startJoin(job, command.receipts)
          else void this.assemble(job, command.receipts)
          break
        case 'verify-final':
          void this.verifyFinal(job)
          break
        case 'phase':
          this.emit(job.id, job.onEvent, {
            type: 'phase',
            jobId: job.id,
            phase: command.phase,
            ...(command.reason !== undefined ? { reason: command.reason } : {}),
          })
          if (command.phase === 'cancelled') {
            // Provers stop at once rather than at the deadline; claims and proofs then get "unknown job".
            void this.options.wire
              .publish(pipelineTopic(job.id), 'cancel', {
                jobId: job.id,
                reason: command.reason ?? 'cancelled',
              })
              .catch((err) => this.warn(job, 'cancel not published', err))
            this.jobs.delete(job.id)
            this.finished(job, 'cancelled', command.reason)
            job.settle.reject(
              new WholesumError('ABORTED', `job ${job.id} ${command.reason ?? 'cancelled'}`),
            )
          }
          if (command.phase === 'failed') {
            this.jobs.delete(job.id)
            this.finished(job, 'failed', command.reason)
            job.settle.reject(
              new WholesumError(
                'EXECUTION_FAILED',
                `job ${job.id} failed: ${command.reason ?? 'unknown'}`,
              ),
            )
          }
          break
        default:
          break
      }
    }
  }

  private record(job: RunningJob, command: ClientCommand): void {
    if (GOSSIP.has(command.type)) return
    const line = toJson({ at: new Date(this.clock()).toISOString(), ...command })
    void appendFile(join(job.dir, 'events.jsonl'), line + '\n').catch(() => {})
  }

  private async verifySegment(
    job: RunningJob,
    prover: string,
    index: number,
    receiptCid: string,
  ): Promise<void> {
    const segment = job.segments[index]!
    const plugin = this.options.prover
    const outcome = await checkDeliveredReceipt(
      this.options.storage,
      this.options.wire,
      prover,
      receiptCid,
      receiptFile(job.dir, index, receiptCid),
      (file) =>
        job.needBody.requirements.recursion
          ? // A succinct job's provers deliver lifted segment receipts: same claim, recursion seal.
            plugin.verifySuccinct({ receipt: file, expectedClaim: segment.claim })
          : plugin.verifySegment({ receipt: file, expectedClaim: segment.claimDigest, index }),
      {
        onRetry: () =>
          this.options.logger.warn('receipt fetch stalled; reconnecting to its prover', {
            jobId: job.id,
            index,
            prover,
            receiptCid,
          }),
      },
    )
    if (!outcome.ok) {
      this.options.logger.warn('segment receipt rejected', {
        jobId: job.id,
        index,
        prover,
        receiptCid,
        reason: outcome.reason,
      })
    }
    if (!this.jobs.has(job.id)) return
    this.run(job, job.machine.segmentVerified(prover, index, receiptCid, outcome, this.clock()))
  }

  /** PROVE is done for a succinct job: its lifted receipts go into the JOIN stage. */
  private startJoin(job: RunningJob, receipts: readonly string[]): void {
    const machine = job.machine
    job.join = new JoinDriver({
      jobId: job.id,
      wire: this.options.wire,
      storage: this.options.storage,
      prover: this.options.prover,
      logger: this.options.logger,
      clock: this.clock,
      dir: join(job.dir, 'receipts'),
      inputs: receipts.map((receiptCid, index) => ({
        receiptCid,
        claim: job.segments[index]!.claim,
        file: receiptFile(job.dir, index, receiptCid),
      })),
      claimTtlMs: machine.config.claimTtlMs,
      maxStrikes: machine.config.maxStrikes,
      strikes: machine.stage.snapshot().strikes,
      bitfieldIntervalMs: machine.config.bitfieldIntervalMs,
      hasDeal: (prover) => machine.hasDeal(prover),
      onEvent: (event) => this.emit(job.id, job.onEvent, { ...event, jobId: job.id }),
      onDone: (receipt) => void this.finishJoin(job, receipt),
    })
    job.join.start()
  }

  /** The JOIN stage's last receipt and the journal become the job's receipt (succinct). */
  private async finishJoin(job: RunningJob, receipt: string): Promise<void> {
    let outcome: { ok: true } | { ok: false; reason: string } = { ok: true }
    try {
      await this.options.prover.finalizeSuccinct({
        receipt,
        journal: job.journalPath,
        out: join(job.dir, 'receipt.bin'),
      })
    } catch (err) {
      outcome = { ok: false, reason: (err as Error).message }
    }
    this.run(job, job.machine.assembled(outcome))
  }

  private async assemble(job: RunningJob, receipts: readonly string[]): Promise<void> {
    let outcome: { ok: true } | { ok: false; reason: string }
    try {
      // The credited receipt of each segment, verified when it arrived and kept under its CID.
      await this.options.prover.assemble({
        segmentReceipts: receipts.map((cid, index) => receiptFile(job.dir, index, cid)),
        journal: job.journalPath,
        out: join(job.dir, 'receipt.bin'),
      })
      outcome = { ok: true }
    } catch (err) {
      outcome = { ok: false, reason: (err as Error).message }
    }
    this.run(job, job.machine.assembled(outcome))
  }

  private async verifyFinal(job: RunningJob): Promise<void> {
    const receiptPath = join(job.dir, 'receipt.bin')
    try {
      await this.options.prover.verify({
        receipt: receiptPath,
        imageId: job.imageId,
        expectedJournal: job.journalPath,
      })
    } catch (err) {
      this.run(job, job.machine.finalVerified({ ok: false, reason: (err as Error).message }))
      return
    }
    const commands = job.machine.finalVerified({ ok: true })
    this.run(job, commands)
    try {
      const outcome = await this.harvest(job, receiptPath)
      await this.attest(job, outcome).catch((err) =>
        this.warn(job, 'attestations not gathered', err),
      )
      this.jobs.delete(job.id)
      this.finished(job, 'done')
      job.settle.resolve(outcome)
    } catch (err) {
      this.jobs.delete(job.id)
      const reason = `outputs not stored: ${(err as Error).message}`
      this.options.store?.updateJob(job.id, { status: 'failed', error: reason })
      this.finished(job, 'failed', reason)
      job.settle.reject(err as Error)
    }
  }

  /** Outputs go to storage by CID, so anyone with the CIDs can fetch and check them. */
  private async harvest(job: RunningJob, receiptPath: string): Promise<JobOutcome> {
    const storage = this.options.storage
    const journalPath = join(job.dir, 'journal.bin')
    await writeFile(journalPath, await readFile(job.journalPath))
    const cids = {
      receipt: await putFile(storage, receiptPath),
      journal: await putFile(storage, journalPath),
      stdout: await putFile(storage, job.stdoutPath),
      stderr: await putFile(storage, job.stderrPath),
      events: await putFile(storage, join(job.dir, 'events.jsonl')),
      manifest: job.manifestCid,
    }
    const store = this.options.store
    store?.transaction(() => {
      store.updateJob(job.id, {
        receiptCid: cids.receipt,
        journalCid: cids.journal,
        stdoutCid: cids.stdout,
        stderrCid: cids.stderr,
        logsCid: cids.events,
      })
      store.recordPins(job.id, 'output', [
        cids.receipt,
        cids.journal,
        cids.stdout,
        cids.stderr,
        cids.events,
      ])
    })
    const now = this.clock()
    const strikes = new Map<string, number>()
    for (const p of job.machine.dealtProvers) {
      // The JOIN stage started from PROVE's strikes, so its count is the job's.
      const n = job.join?.strikesOf(p) ?? job.machine.stage.strikesOf(p)
      if (n > 0) strikes.set(p, n)
    }
    const outcome: JobOutcome = {
      jobId: job.id,
      imageId: job.imageId,
      segments: job.segments.length,
      receiptPath,
      journalPath,
      cids,
      credits: job.machine.stage.credits(),
      joinCredits: job.join?.credits() ?? new Map(),
      strikes,
      timings: {
        executeMs: job.executeMs,
        networkMs: now - job.startedAt - job.executeMs,
        totalMs: now - job.startedAt,
      },
    }
    await writeFile(
      join(job.dir, 'job.json'),
      JSON.stringify(
        {
          ...outcome,
          credits: Object.fromEntries(outcome.credits),
          joinCredits: Object.fromEntries(outcome.joinCredits),
          strikes: Object.fromEntries(strikes),
        },
        null,
        2,
      ) + '\n',
    )
    return outcome
  }

  /** A verifier's ad: its account is taken only with a binding that checks out. */
  private async onVerifierAd(message: MessageOf<'verifier-ad'>): Promise<void> {
    const { fee, capacity, addrs, payee } = message.body
    let account: string | undefined
    if (payee !== undefined) {
      const problem = await payeeProblem(message.from, payee)
      if (problem !== undefined) {
        this.options.logger.warn('verifier ad with a bad account binding', {
          verifier: message.from,
          problem,
        })
        return
      }
      account = payee.account
    }
    this.verifiers.record({
      peer: message.from,
      fee: BigInt(fee),
      capacity,
      addrs,
      ...(account !== undefined ? { account } : {}),
      at: this.clock(),
    })
  }

  /**
   * Asks verifiers picked at random (never this job's provers) to attest to the final receipt,
   * keeps every signed answer, and weighs them against this client's own check of the receipt.
   * A job whose verifiers reach no quorum still has its receipt: the events say so.
   */
  private async attest(job: RunningJob, outcome: JobOutcome): Promise<void> {
    const payments = this.options.payments
    const named = payments?.verifiersOf(job.id)
    const policy: VerificationPolicy | undefined =
      named !== undefined
        ? {
            ...this.options.verification,
            count: named.length,
            quorum: payments!.quorum(named.length),
            waitMs: 0,
          }
        : this.options.verification
    if (policy === undefined) return
    const { wire, store } = this.options
    const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
    const own = {
      verdict: 'valid' as const,
      receiptDigest: sha256(await readFile(outcome.receiptPath)),
      journalDigest: sha256(await readFile(outcome.journalPath)),
    }
    const exclude = new Set([wire.peerId, ...job.machine.dealtProvers])
    const pick = () =>
      this.verifiers.pick({
        count: policy.count,
        now: this.clock(),
        exclude,
        ...(policy.maxFee !== undefined ? { maxFee: policy.maxFee } : {}),
      })
    let picked = named !== undefined ? [...named] : pick()
    const waitUntil = this.clock() + (policy.waitMs ?? 30_000)
    while (picked.length < policy.count && this.clock() < waitUntil) {
      await new Promise((r) => setTimeout(r, 250))
      picked = pick()
    }
    const quorumEvent = (
      verdict: 'valid' | 'invalid' | 'none',
      counts: { valid: number; invalid: number; wrong: readonly string[] },
    ): void =>
      this.emit(job.id, job.onEvent, {
        type: 'quorum',
        jobId: job.id,
        verdict,
        quorum: policy.quorum,
        asked: picked.length,
        ...counts,
      })
    if (picked.length < policy.quorum) {
      const message = `only ${picked.length} eligible verifier(s) advertised; a quorum needs ${policy.quorum}: the receipt is verified by this node only`
      this.options.logger.warn(message, { jobId: job.id })
      this.emit(job.id, job.onEvent, { type: 'notice', jobId: job.id, message })
      quorumEvent('none', { valid: 0, invalid: 0, wrong: [] })
      return
    }
    this.emit(job.id, job.onEvent, {
      type: 'verifiers',
      jobId: job.id,
      verifiers: picked.map((v) => v.peer),
    })
    const replies = await requestAttestations(
      wire,
      picked.map((v) => ({ peer: v.peer, ...(v.addrs !== undefined ? { addrs: v.addrs } : {}) })),
      {
        jobId: job.id,
        imageId: job.imageId,
        receiptCid: outcome.cids.receipt,
        journalDigest: own.journalDigest,
      },
      { timeoutMs: policy.timeoutMs ?? 10 * 60_000 },
    )
    const views = []
    for (const reply of replies) {
      const body = reply.attestation?.body
      if (body === undefined || reply.envelope === undefined) {
        this.emit(job.id, job.onEvent, {
          type: 'attestation',
          jobId: job.id,
          verifier: reply.verifier,
          reason: reply.error ?? 'no answer',
        })
        continue
      }
      const view = {
        verifier: reply.verifier,
        verdict: body.verdict,
        receiptDigest: body.receiptDigest,
        ...(body.journalDigest !== undefined ? { journalDigest: body.journalDigest } : {}),
      }
      views.push(view)
      const agrees = tallyAttestations([view], own, 1).wrong.length === 0
      const account = picked.find((v) => v.peer === reply.verifier)?.account
      try {
        store?.putAttestation({
          jobId: job.id,
          verifier: reply.verifier,
          account: account ?? null,
          verdict: body.verdict,
          receiptDigest: body.receiptDigest,
          journalDigest: body.journalDigest ?? null,
          reason: body.reason ?? null,
          settlementSignature: body.settlementSignature ?? null,
          envelope: reply.envelope,
          agrees: body.receiptDigest === own.receiptDigest ? agrees : null,
        })
      } catch (err) {
        this.warn(job, 'attestation not recorded', err)
      }
      this.emit(job.id, job.onEvent, {
        type: 'attestation',
        jobId: job.id,
        verifier: reply.verifier,
        verdict: body.verdict,
        agrees,
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
      })
    }
    const tally = tallyAttestations(views, own, policy.quorum)
    if (tally.wrong.length > 0)
      this.options.logger.warn('verifiers attested against the receipt this node verified', {
        jobId: job.id,
        verifiers: tally.wrong,
      })
    quorumEvent(tally.verdict ?? 'none', {
      valid: tally.valid,
      invalid: tally.invalid,
      wrong: tally.wrong,
    })
    if (named === undefined || payments === undefined) return
    if (tally.verdict !== 'valid') {
      this.options.logger.warn('no settlement: the verifiers reached no valid verdict', {
        jobId: job.id,
      })
      return
    }
    const agreeing = views
      .filter((v) => v.verdict === 'valid' && !tally.wrong.includes(v.verifier))
      .map((v) => v.verifier)
    await payments.settle({
      jobId: job.id,
      receiptDigest: own.receiptDigest,
      journalDigest: own.journalDigest,
      agreeing,
      askToSign: async (verifiers, terms) => {
        const signed = await requestAttestations(
          wire,
          verifiers.map((v) => ({
            peer: v.peer,
            ...(v.addrs !== undefined ? { addrs: v.addrs } : {}),
          })),
          {
            jobId: job.id,
            imageId: job.imageId,
            receiptCid: outcome.cids.receipt,
            journalDigest: own.journalDigest,
            settlement: {
              chainId: payments.payments.chainId,
              contract: payments.payments.escrow.toLowerCase(),
              jobKey: terms.jobKey,
              root: terms.root,
              total: terms.total.toString(),
            },
          },
          { timeoutMs: policy.timeoutMs ?? 10 * 60_000 },
        )
        const signatures = new Map<string, string>()
        for (const reply of signed) {
          const signature = reply.attestation?.body.settlementSignature
          if (signature === undefined) continue
          signatures.set(reply.verifier, signature)
          try {
            store?.setAttestationSignature(job.id, reply.verifier, signature)
          } catch (err) {
            this.warn(job, 'settlement signature not recorded', err)
          }
        }
        return signatures
      },
    })
  }

  private async onOffer(message: MessageOf<'offer'>, from: string): Promise<Reply> {
    const body = message.body
    const job = this.jobs.get(body.jobId)
    if (job === undefined)
      return { type: 'decline', body: { jobId: body.jobId, reason: 'unknown job' } }
    const payments = this.options.payments
    if (payments?.isEscrowed(job.id) === true) {
      const problem = await payments.offerProblem(job.id, from, body.payee)
      if (problem !== undefined) {
        this.options.logger.info('offer declined', { jobId: job.id, prover: from, problem })
        return { type: 'decline', body: { jobId: job.id, reason: problem.slice(0, 256) } }
      }
    }
    // Checked before the offer is weighed: its reported Hz counts only with a receipt that verifies.
    // Waited for a bounded time: the check queues behind whatever the worker is doing, and the
    // offer's stream must be answered before the prover's request gives up (a deal made after that
    // is a deal nobody hears). A check still running goes on and is remembered for later offers.
    const evidence = await Promise.race([
      this.evidence.check(from, body.benchmark.receiptCid),
      new Promise<EvidenceCheck>((resolve) =>
        setTimeout(
          () =>
            resolve({
              status: 'unreachable',
              reason: `not checked within ${OFFER_EVIDENCE_WAIT_MS} ms (the worker is busy)`,
            }),
          OFFER_EVIDENCE_WAIT_MS,
        ).unref(),
      ),
    ])
    this.emit(job.id, job.onEvent, { type: 'evidence', jobId: job.id, prover: from, evidence })
    if (evidence.status !== 'verified' && evidence.status !== 'absent') {
      this.options.logger.warn('benchmark evidence not verified', {
        jobId: job.id,
        prover: from,
        receiptCid: body.benchmark.receiptCid,
        ...evidence,
      })
    }
    this.offers.record({
      prover: from,
      pricePerSegment: BigInt(body.pricePerSegment),
      hz: body.benchmark.hz,
      capacity: body.capacity,
      evidence: evidence.status,
      at: this.clock(),
    })
    const terms: OfferTerms = {
      pricePerSegment: BigInt(body.pricePerSegment),
      capacity: body.capacity,
      hardware: body.hardware,
      hz: body.benchmark.hz,
      recursion: body.recursion,
      evidence,
    }
    const offerId = `offer-${this.offerSeq++}`
    const reply = new Promise<Reply>((resolveReply) => {
      job.answers.set(offerId, resolveReply)
    })
    this.run(job, job.machine.offer(offerId, from, terms, this.clock()))
    return await reply
  }

  private onClaim(message: MessageOf<'claim'>, from: string): Reply {
    const { jobId, index, stage, round } = message.body
    const job = this.jobs.get(jobId)
    if (job === undefined) return { type: 'decline', body: { jobId, reason: 'unknown job' } }
    if (stage === 'join') {
      return (
        job.join?.claim(from, round, index) ?? {
          type: 'decline',
          body: { jobId, reason: 'no JOIN stage is running' },
        }
      )
    }
    const reply = job.machine.claim(from, index, this.clock())
    if (reply.granted) {
      // The ledger decided; the store records what it decided, before the grant goes out (a
      // failed write throws, and the prover gets no answer and asks again).
      const slot = job.machine.stage.slot(index)
      if (slot !== undefined && slot.status === 'claimed') {
        this.options.store?.updateSegment(jobId, index, {
          status: 'claimed',
          claimedBy: slot.claimedBy ?? null,
          claimExpires: slot.claimExpires ?? null,
          attempts: slot.claims,
        })
      }
    }
    if (reply.granted && !reply.renewal)
      this.emit(jobId, job.onEvent, { type: 'claim', jobId, prover: from, index })
    return {
      type: 'claim-ack',
      body: { jobId, index, granted: reply.granted, ttlMs: reply.granted ? reply.ttlMs : 0 },
    }
  }

  private onProof(message: MessageOf<'proof'>, from: string): Reply {
    const { jobId, index, receiptCid, stage, round } = message.body
    const job = this.jobs.get(jobId)
    if (job === undefined) return { type: 'decline', body: { jobId, reason: 'unknown job' } }
    if (stage === 'join') {
      return (
        job.join?.proof(from, round, index, receiptCid) ?? {
          type: 'decline',
          body: { jobId, reason: 'no JOIN stage is running' },
        }
      )
    }
    const { reply, commands } = job.machine.proof(from, index, receiptCid)
    this.run(job, commands)
    return {
      type: 'proof-ack',
      body: reply.accepted
        ? { jobId, index, accepted: true }
        : { jobId, index, accepted: false, reason: reply.reason },
    }
  }

  private onStatus(message: MessageOf<'status'>): Reply {
    const job = this.jobs.get(message.body.jobId)
    if (job === undefined)
      return { type: 'decline', body: { jobId: message.body.jobId, reason: 'unknown job' } }
    const phase = job.machine.phase
    return {
      type: 'status-reply',
      body: {
        jobId: job.id,
        stage: phase === 'negotiating' || phase === 'proving' ? 'prove' : 'verify',
        done: job.machine.stage.proved,
        total: job.machine.stage.total,
        state: phase === 'done' ? 'done' : phase === 'failed' ? 'failed' : 'running',
      },
    }
  }

  private warn(job: RunningJob, what: string, err: unknown): void {
    this.options.logger.warn(what, { jobId: job.id, error: (err as Error).message })
  }
}
