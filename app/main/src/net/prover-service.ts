// The prover's IO adapter: listens for needs and bit fields, runs the ProverAgent state machine,
// and carries out its commands: offers, claims, fetching segments by CID, proving through the
// prover plugin, storing receipts and sending proof notices straight to the client.

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type ProverPlugin, type StoragePlugin } from '@wholesum/plugin-api'
import type { ComponentLogger } from '../log/logger.ts'
import type { NeedTerms, OfferTerms, ProverSettings } from '../pipeline/market.ts'
import { ProverAgent, type AgentCommand, type ItemRef } from '../pipeline/prover-agent.ts'
import { Bitfield } from '../protocol/bitfield.ts'
import { checkJobId } from '../protocol/job-id.ts'
import {
  PROTOCOLS,
  TOPICS,
  pipelineTopic,
  type Message,
  type MessageOf,
  type NeedBody,
} from '../protocol/messages.ts'
import { MessageError } from '../protocol/codec.ts'
import { maxManifestBytes, parseManifest, type JobManifest } from '../protocol/manifest.ts'
import { fetchFromHolder, fetchReceipt, fetchToFile, putFile } from './transfer.ts'
import type { BodyOf, Wire } from './wire.ts'
import type { JobStore } from '../store/index.ts'
import type { PayeePayments } from './payee-payments.ts'

/** Waits before an offer that got no answer is sent again (then it has failed). */
const OFFER_RETRY_DELAYS_MS = [1_000, 3_000]

export interface ProverServiceOptions {
  readonly wire: Wire
  readonly storage: StoragePlugin
  readonly prover: ProverPlugin
  readonly settings: ProverSettings
  readonly logger: ComponentLogger
  readonly workDir: string
  /** Deals and work persist here; a restarted prover resumes its deals and re-sends notices. */
  readonly store?: JobStore
  readonly tickMs?: number
  readonly random?: () => number
  readonly clock?: () => number
  readonly onEvent?: (event: ProverEvent) => void
  /**
   * Where this prover is paid: escrowed jobs are checked on chain before an offer, the offer
   * names this node's account, collateral goes in with the deal, and the job's payout is claimed.
   * Without it, escrowed jobs are passed over (they pay only a named account).
   */
  readonly payments?: PayeePayments
}

export type ProverEvent =
  | {
      readonly type: 'offered'
      readonly jobId: string
      readonly dealt: boolean
      readonly reason?: string
    }
  | { readonly type: 'proving'; readonly jobId: string; readonly index: number }
  | {
      readonly type: 'proved'
      readonly jobId: string
      readonly index: number
      readonly proveMs: number
    }
  | {
      readonly type: 'answered'
      readonly jobId: string
      readonly index: number
      readonly accepted: boolean
      readonly reason?: string
    }
  | { readonly type: 'cancelled'; readonly jobId: string; readonly reason: string }
  | {
      readonly type: 'join-answered'
      readonly jobId: string
      readonly round: number
      readonly index: number
      readonly accepted: boolean
    }

interface DealtJob {
  need: NeedBody
  /** The client's peer ID: the need's signer. */
  readonly client: string
  manifest?: JobManifest
  manifestCid?: string
  /** When the client was last dialled to keep its job's topic reachable (ms). */
}

export class ProverService {
  readonly agent: ProverAgent
  private readonly options: ProverServiceOptions
  private readonly jobs = new Map<string, DealtJob>()
  /** Jobs this node will not work on, remembered so that the reason is logged once. */
  private readonly passedOver = new Set<string>()
  private readonly clock: () => number
  private readonly random: () => number
  private timer: ReturnType<typeof setInterval> | undefined
  private stopped = false
  /** Work in progress and the job it is for: a stop or a job's cancel aborts it. */
  /** Work in progress: its job and item key, so a cancel or an abandon can stop it. */
  private readonly inFlight = new Map<AbortController, { jobId: string; key: string }>()
  private readonly proveTimes = new Map<string, number>()
  private benchmark: { hz: number; receiptCid?: string } = { hz: 0 }
  /** The TTL each granted claim came with: proving renews the claim at a third of it. */

  constructor(options: ProverServiceOptions) {
    this.options = options
    this.agent = new ProverAgent(options.settings)
    this.clock = options.clock ?? Date.now
    this.random = options.random ?? Math.random
  }

  start(): void {
    this.resume()
    const { wire } = this.options
    wire.subscribe(TOPICS.need, (message) => this.onNeed(message))
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 1000)
  }

  private tick(): void {
    const now = this.clock()
    this.run(this.agent.tick(now))
    for (const [jobId, job] of this.jobs) {
      if (job.need.deadline <= now) this.unfollow(jobId)
    }
  }

  /**
   * A job's bit fields reach us over a connection into its topic: the client's own, in a devnet.
   * After either side restarts nothing else would dial it again, so a followed job's client is
   * dialled at its announced addresses whenever no connection is open (the agent asks every 5 s).
   */
  private keepConnected(jobId: string, client: string): void {
    const job = this.jobs.get(jobId)
    const wire = this.options.wire
    if (job === undefined || !wire.follows(pipelineTopic(jobId)) || wire.connected(client)) return
    void wire.dial(client, job.need.clientAddrs).catch(() => {})
  }

  /**
   * Joins a job's own topic, where its client publishes bit fields. Done as the offer goes out, so
   * the subscription reaches the client before the deal, and the first bit field finds us.
   */
  private follow(jobId: string): void {
    const topic = pipelineTopic(jobId)
    if (!this.options.wire.follows(topic)) {
      // Bit fields and cancels come from the job's client only; nobody else's are relayed.
      const client = this.jobs.get(jobId)?.client
      this.options.wire.subscribe(
        topic,
        (message) =>
          message.type === 'cancel' ? this.onCancel(message) : this.onBitfield(message),
        client !== undefined ? { author: client } : {},
      )
    }
  }

  private unfollow(jobId: string): void {
    const topic = pipelineTopic(jobId)
    if (this.options.wire.follows(topic)) this.options.wire.unsubscribe(topic)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer !== undefined) clearInterval(this.timer)
    for (const controller of this.inFlight.keys()) controller.abort(new Error('prover stopping'))
    // A stopped prover hears no more needs or bit fields (and relays none).
    const wire = this.options.wire
    if (wire.follows(TOPICS.need)) wire.unsubscribe(TOPICS.need)
    for (const jobId of this.jobs.keys()) this.unfollow(jobId)
  }

  private onNeed(message: Message): void {
    if (message.type !== 'need') return
    const need = message.body
    try {
      checkJobId(need, message.from)
    } catch (err) {
      this.options.logger.warn('need dropped: job ID does not match its contents', {
        from: message.from,
        error: (err as Error).message,
      })
      return
    }
    if (need.escrow !== undefined) {
      const payments = this.options.payments
      if (payments === undefined) {
        this.passOver(need.jobId, 'it pays through an escrow and this node has no payments set up')
        return
      }
      void payments
        .needProblem(need)
        .then((problem) => {
          if (problem === undefined) this.admitNeed(need, message.from)
          else this.passOver(need.jobId, problem)
        })
        .catch((err: Error) => this.passOver(need.jobId, err.message))
      return
    }
    this.admitNeed(need, message.from)
  }

  /** Says once why a job is not for this node (a need is announced again every few seconds). */
  private passOver(jobId: string, reason: string): void {
    if (this.passedOver.has(jobId)) return
    this.passedOver.add(jobId)
    while (this.passedOver.size > 1024)
      this.passedOver.delete(this.passedOver.values().next().value!)
    this.options.logger.info('need passed over', { jobId, reason })
  }

  private admitNeed(need: NeedBody, from: string): void {
    if (this.stopped) return
    const message = { from }
    const terms = toTerms(need)
    const known = this.jobs.get(need.jobId)
    if (known === undefined) this.jobs.set(need.jobId, { need, client: message.from })
    else if (known.client === message.from) {
      // A need announced again (e.g. by a restarted client) carries its current addresses.
      known.need = need
    }
    this.run(this.agent.need(message.from, terms, this.clock()))
  }

  /** The job's client cancelled it: stop its work, drop its claims, leave its topic. */
  private onCancel(message: MessageOf<'cancel'>): void {
    const { jobId, reason } = message.body
    if (!this.agent.cancel(message.from, jobId)) return
    for (const [controller, of] of this.inFlight) {
      if (of.jobId === jobId) controller.abort(new Error(`job cancelled by its client: ${reason}`))
    }
    this.unfollow(jobId)
    if (this.options.store?.getJob(jobId) !== undefined) {
      this.storeWork(() =>
        this.options.store?.updateJob(jobId, { status: 'cancelled', error: reason }),
      )
    }
    this.options.onEvent?.({ type: 'cancelled', jobId, reason })
    this.options.logger.info('job cancelled by its client', { jobId, reason })
  }

  private onBitfield(message: Message): void {
    if (message.type !== 'bitfield') return
    const { jobId, total, bits, stage, round } = message.body
    const job = this.jobs.get(jobId)
    if (job === undefined || job.manifest === undefined) return
    const wanted = {
      indexes: Bitfield.fromBytes(bits, total).ones(),
      endgame: message.body.endgame,
    }
    if (stage === 'join') {
      // Round r of n segments has floor(n / 2^(r+1)) pairs at most; a wrong total is a lie.
      if (!job.need.requirements.recursion || total > job.manifest.segments.length >> 1) return
      this.run(
        this.agent.joinBitfield(message.from, jobId, round, wanted, this.clock(), this.random),
      )
      return
    }
    if (total !== job.manifest.segments.length) return
    this.run(this.agent.bitfield(message.from, jobId, wanted, this.clock(), this.random))
    if (
      this.agent.jobState(jobId) === 'finished' &&
      this.options.store?.getJob(jobId)?.status === 'proving'
    ) {
      this.storeWork(() => this.options.store?.updateJob(jobId, { status: 'done' }))
    }
  }

  private run(commands: readonly AgentCommand[]): void {
    if (this.stopped) return
    for (const command of commands) {
      switch (command.type) {
        case 'send-offer':
          void this.sendOffer(command.jobId, command.client, command.offer)
          break
        case 'send-claim':
          void this.sendClaim(command.jobId, command.client, command.index)
          break
        case 'prove':
          void this.prove(command.jobId, command.index)
          break
        case 'send-proof':
          void this.sendProof(command.jobId, command.client, command.index, command.receiptCid)
          break
        case 'send-join-claim':
          void this.sendJoinClaim(command.jobId, command.client, command.round, command.index)
          break
        case 'join':
          void this.joinPair(
            command.jobId,
            command.round,
            command.index,
            command.left,
            command.right,
          )
          break
        case 'send-join-proof':
          void this.sendJoinProof(
            command.jobId,
            command.client,
            command.round,
            command.index,
            command.receiptCid,
          )
          break
        case 'renew-claim':
          void this.renewClaim(command.jobId, command.client, command.item)
          break
        case 'abandon':
          this.options.logger.info('claim renewal refused: abandoning the item', {
            jobId: command.jobId,
            ...command.item,
          })
          for (const [controller, of] of this.inFlight) {
            if (of.jobId === command.jobId && of.key === itemKey(command.jobId, command.item)) {
              controller.abort(new Error(command.reason))
            }
          }
          break
        case 'keep-connected':
          this.keepConnected(command.jobId, command.client)
          break
        case 'log':
          this.options.logger[command.level](command.message, { jobId: command.jobId })
          break
      }
    }
  }

  /**
   * Sends an offer, and sends it again when its stream broke before the answer came: the client
   * may have made the deal and lost only its reply, and a client with deals stops announcing the
   * need, so no later need would bring this prover back. A client answers a repeated offer with
   * the deal it already made. A refusal or a malformed answer is final.
   */
  private async requestOffer(
    jobId: string,
    client: string,
    body: BodyOf<'offer'>,
    addrs: string[],
  ): Promise<Message> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.options.wire.request(client, PROTOCOLS.offer, 'offer', body, { addrs })
      } catch (err) {
        const delay = OFFER_RETRY_DELAYS_MS[attempt]
        if (delay === undefined || this.stopped || err instanceof MessageError) throw err
        this.options.logger.info('offer got no answer; sending it again', {
          jobId,
          client,
          error: (err as Error).message,
          inMs: delay,
        })
        await new Promise((resolve) => setTimeout(resolve, delay))
        // Stopped, or the job dropped (cancelled, expired) meanwhile: no second offer.
        if (this.stopped || this.agent.jobState(jobId) !== 'offered') throw err
      }
    }
  }

  private async sendOffer(jobId: string, client: string, offer: OfferTerms): Promise<void> {
    const job = this.jobs.get(jobId)!
    this.follow(jobId)
    try {
      const reply = await this.requestOffer(
        jobId,
        client,
        {
          jobId,
          pricePerSegment: offer.pricePerSegment.toString(),
          capacity: offer.capacity,
          hardware: offer.hardware,
          // Evidence of capability: the speed of this prover's latest proof and that receipt's CID,
          // which anyone can fetch and verify; before its first proof, the configured figure.
          benchmark: {
            hz: Math.round(this.benchmark.hz || offer.hz),
            ...(this.benchmark.receiptCid !== undefined
              ? { receiptCid: this.benchmark.receiptCid }
              : {}),
          },
          recursion: offer.recursion,
          ...(job.need.escrow !== undefined && this.options.payments !== undefined
            ? { payee: await this.options.payments.payee() }
            : {}),
        },
        job.need.clientAddrs,
      )
      if (
        reply.type === 'deal' &&
        reply.body.jobId === jobId &&
        reply.body.prover === this.options.wire.peerId
      ) {
        job.manifestCid = reply.body.manifestCid
        job.manifest = await this.fetchManifest(jobId, reply.body.manifestCid)
        // Collateral before any work: the escrow pays only provers that posted it.
        if (job.need.escrow !== undefined) await this.options.payments!.dealt(job.need, client)
        this.remember(jobId, job)
        this.agent.offerAnswered(jobId, true, this.clock())
        this.options.onEvent?.({ type: 'offered', jobId, dealt: true })
        this.options.logger.info('deal signed', {
          jobId,
          client,
          segments: job.manifest.segments.length,
        })
      } else {
        const reason = reply.type === 'decline' ? reply.body.reason : `unexpected ${reply.type}`
        this.agent.offerAnswered(jobId, false, this.clock())
        this.unfollow(jobId)
        this.options.onEvent?.({ type: 'offered', jobId, dealt: false, reason })
        this.options.logger.info('offer declined', { jobId, reason })
      }
    } catch (err) {
      this.agent.offerAnswered(jobId, false, this.clock())
      this.unfollow(jobId)
      this.options.logger.warn('offer failed', { jobId, client, error: (err as Error).message })
    }
  }

  /** A new deal goes to the store before any work on it starts. */
  private remember(jobId: string, job: DealtJob): void {
    const store = this.options.store
    if (store === undefined || store.getJob(jobId) !== undefined) return
    const need = job.need
    this.storeWork(() =>
      store.createJob({
        jobId,
        role: 'prover',
        imageId: need.imageId,
        programCid: need.programCid,
        inputCid: need.inputCid,
        ...(job.manifestCid !== undefined ? { manifestCid: job.manifestCid } : {}),
        po2: need.po2,
        segments: need.segments,
        status: 'proving',
        rewardPerSegment: need.rewardPerSegment,
        deadline: need.deadline,
        nonce: need.nonce,
        clientPeer: job.client,
        extra: {
          need: JSON.parse(
            JSON.stringify(need, (_k, v) => (v instanceof Uint8Array ? undefined : v)),
          ),
        },
      }),
    )
  }

  /**
   * After a restart: deals from the store are live again; receipts stored but never acknowledged
   * are announced again; work interrupted mid-proof is marked failed (the client's claim lapses
   * and the segment re-opens; this prover may pick it again).
   */
  private resume(): void {
    const store = this.options.store
    if (store === undefined) return
    const now = this.clock()
    for (const record of store.listJobs({ role: 'prover', status: ['proving'] })) {
      const need = (record.extra as { need?: NeedBody }).need
      if (need === undefined || record.clientPeer === undefined || record.deadline <= now) continue
      const job: DealtJob = {
        need,
        client: record.clientPeer,
        ...(record.manifestCid !== undefined ? { manifestCid: record.manifestCid } : {}),
      }
      this.jobs.set(record.jobId, job)
      this.agent.restoreDeal(record.clientPeer, toTerms(need), now)
      this.follow(record.jobId)
      void this.fetchManifest(record.jobId, record.manifestCid!)
        .then((manifest) => {
          job.manifest = manifest
        })
        .catch((err) =>
          this.options.logger.warn('manifest unavailable after restart', {
            jobId: record.jobId,
            error: (err as Error).message,
          }),
        )
      this.options.logger.info('deal resumed', { jobId: record.jobId, client: record.clientPeer })
    }
    for (const work of store.pendingWork()) {
      if (!this.jobs.has(work.jobId)) continue
      if (work.status === 'proved' && work.receiptCid !== undefined) {
        this.run(this.agent.resumeDelivery(work.jobId, work.idx, work.receiptCid))
      } else if (work.status === 'proving') {
        this.storeWork(() =>
          store.finishWork(work.jobId, 'prove', work.idx, {
            status: 'failed',
            error: 'interrupted by a restart',
          }),
        )
      }
    }
  }

  /** The client is the one peer known to hold the segment. */
  private async fetchSegment(
    job: DealtJob,
    cid: string,
    file: string,
    signal: AbortSignal,
  ): Promise<void> {
    const holder = { peerId: job.client, addrs: job.need.clientAddrs }
    await fetchFromHolder(this.options.storage, this.options.wire, holder, cid, file, {
      maxBytes: 1 << 30,
      signal,
      timeoutMs: 20_000,
      onRetry: () =>
        this.options.logger.warn('segment fetch stalled; reconnecting to the client and retrying', {
          jobId: job.need.jobId,
          cid,
        }),
    })
  }

  private storeWork(write: () => unknown): void {
    try {
      write()
    } catch (err) {
      this.options.logger.error('job store write failed', { error: (err as Error).message })
    }
  }

  /**
   * Fetches the job's manifest, bounded by what a manifest of the need's segment count can weigh,
   * and checks it against the need (job, image ID, po2, segment count, every CID and digest)
   * before any segment is fetched.
   */
  private async fetchManifest(jobId: string, cid: string): Promise<JobManifest> {
    const need = this.jobs.get(jobId)?.need
    if (need === undefined) throw new Error(`manifest ${cid}: no need known for job ${jobId}`)
    const dir = join(this.options.workDir, 'jobs', jobId)
    await mkdir(dir, { recursive: true })
    const file = join(dir, 'manifest.json')
    await fetchToFile(this.options.storage, cid, file, {
      maxBytes: maxManifestBytes(need.segments),
    })
    try {
      return parseManifest(await readFile(file), need)
    } catch (err) {
      await rm(file, { force: true })
      throw new Error(`manifest ${cid} refused: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Claims (or renews the claim on) an item; resolves with the grant, undefined if refused. */
  private async requestClaim(
    jobId: string,
    client: string,
    item: WorkItem,
  ): Promise<{ ttlMs: number; inputs?: readonly [string, string] } | undefined> {
    const reply = await this.options.wire.request(
      client,
      PROTOCOLS.claim,
      'claim',
      { jobId, stage: item.stage, index: item.index, round: item.round },
      { addrs: this.jobs.get(jobId)?.need.clientAddrs ?? [] },
    )
    if (reply.type !== 'claim-ack' || reply.body.index !== item.index || !reply.body.granted) {
      return undefined
    }
    const inputs = reply.body.inputs
    return { ttlMs: reply.body.ttlMs, ...(inputs !== undefined ? { inputs } : {}) }
  }

  private async sendClaim(jobId: string, client: string, index: number): Promise<void> {
    try {
      const grant = await this.requestClaim(jobId, client, proveItem(index))
      const granted = grant !== undefined
      const renew = granted ? { ttlMs: grant.ttlMs, now: this.clock() } : undefined
      this.run(this.agent.claimAnswered(jobId, index, granted, renew))
      if (!granted) this.run(this.agent.refill(jobId, this.random))
    } catch (err) {
      this.options.logger.warn('claim failed', { jobId, index, error: (err as Error).message })
      this.run(this.agent.claimAnswered(jobId, index, false))
      this.run(this.agent.refill(jobId, this.random))
    }
  }

  private async prove(jobId: string, index: number): Promise<void> {
    const job = this.jobs.get(jobId)
    const segment = job?.manifest?.segments[index]
    if (job === undefined || segment === undefined) {
      this.run(this.agent.proveFailed(jobId, index, 'no such segment in the manifest'))
      return
    }
    const dir = join(this.options.workDir, 'jobs', jobId)
    const segmentFile = join(dir, `segment-${index}.bin`)
    const receiptFile = join(dir, `segment-${index}.receipt`)
    const controller = new AbortController()
    this.inFlight.set(controller, { jobId, key: itemKey(jobId, proveItem(index)) })
    try {
      this.options.onEvent?.({ type: 'proving', jobId, index })
      this.storeWork(() => this.options.store?.startWork(jobId, 'prove', index, this.clock()))
      await this.fetchSegment(job, segment.cid, segmentFile, controller.signal)
      const result = await this.options.prover.proveSegment({
        segment: segmentFile,
        out: receiptFile,
        signal: controller.signal,
      })
      await rm(segmentFile, { force: true })
      let deliver = receiptFile
      if (job.need.requirements.recursion) {
        // A succinct job joins lifted receipts: lift here, while the segment's claim is fresh.
        deliver = (
          await this.options.prover.lift({
            receipt: receiptFile,
            out: `${receiptFile}.lifted`,
            signal: controller.signal,
          })
        ).path
      }
      const cid = await putFile(this.options.storage, deliver)
      this.storeWork(() => this.options.store?.recordPins(jobId, 'work', [cid]))
      this.proveTimes.set(itemKey(jobId, proveItem(index)), result.proveMs)
      if (result.proveMs > 0) {
        // A po2 segment is 2^po2 cycles of trace, whatever its user cycles: the proving cost.
        this.benchmark = { hz: 2 ** result.po2 / (result.proveMs / 1000), receiptCid: cid }
      }
      this.options.onEvent?.({ type: 'proved', jobId, index, proveMs: result.proveMs })
      this.storeWork(() =>
        this.options.store?.finishWork(jobId, 'prove', index, {
          status: 'proved',
          receiptCid: cid,
        }),
      )
      this.run(this.agent.proved(jobId, index, cid))
    } catch (err) {
      this.storeWork(() =>
        this.options.store?.finishWork(jobId, 'prove', index, {
          status: 'failed',
          error: (err as Error).message.slice(0, 500),
        }),
      )
      this.run(this.agent.proveFailed(jobId, index, (err as Error).message))
      this.run(this.agent.refill(jobId, this.random))
    } finally {
      this.inFlight.delete(controller)
    }
  }

  /**
   * A claim is short-lived so that a vanished prover costs little; a live prover renews it while
   * it works (the agent says when). A refusal (someone else's receipt was accepted, or the job
   * ended) makes the agent abandon the item: its result could no longer be credited. A renewal
   * that fails on the way is no refusal: the next one may get through, and the claim's TTL is
   * three renewals long.
   */
  private async renewClaim(jobId: string, client: string, item: ItemRef): Promise<void> {
    try {
      const grant = await this.requestClaim(jobId, client, item)
      this.run(this.agent.renewalAnswered(jobId, item, grant !== undefined))
    } catch (err) {
      this.options.logger.warn('claim renewal failed', {
        jobId,
        ...item,
        error: (err as Error).message,
      })
    }
  }

  private async sendJoinClaim(
    jobId: string,
    client: string,
    round: number,
    index: number,
  ): Promise<void> {
    const item = joinItem(round, index)
    let grant: { left: string; right: string } | undefined
    let ttlMs = 0
    try {
      const reply = await this.requestClaim(jobId, client, item)
      if (reply?.inputs !== undefined) {
        grant = { left: reply.inputs[0], right: reply.inputs[1] }
        ttlMs = reply.ttlMs
      }
    } catch (err) {
      this.options.logger.warn('join claim failed', {
        jobId,
        ...item,
        error: (err as Error).message,
      })
    }
    const renew = grant !== undefined ? { ttlMs, now: this.clock() } : undefined
    this.run(this.agent.joinClaimAnswered(jobId, round, index, grant, renew))
  }

  /** Fetches the two receipts the grant named (from the client, which verified both) and joins them. */
  private async joinPair(
    jobId: string,
    round: number,
    index: number,
    left: string,
    right: string,
  ): Promise<void> {
    const job = this.jobs.get(jobId)
    if (job === undefined) {
      this.run(this.agent.joinFailed(jobId, round, index, 'unknown job'))
      return
    }
    const item = joinItem(round, index)
    const dir = join(this.options.workDir, 'jobs', jobId, 'join')
    const controller = new AbortController()
    this.inFlight.set(controller, { jobId, key: itemKey(jobId, item) })
    try {
      await mkdir(dir, { recursive: true })
      const holder = { peerId: job.client, addrs: job.need.clientAddrs }
      const [leftFile, rightFile] = [join(dir, `${left}.receipt`), join(dir, `${right}.receipt`)]
      const signal = controller.signal
      await Promise.all([
        fetchReceipt(this.options.storage, this.options.wire, holder, left, leftFile, { signal }),
        fetchReceipt(this.options.storage, this.options.wire, holder, right, rightFile, { signal }),
      ])
      const started = this.clock()
      const joined = await this.options.prover.join({
        left: leftFile,
        right: rightFile,
        out: join(dir, `join-${round}-${index}.receipt`),
        signal: controller.signal,
      })
      const cid = await putFile(this.options.storage, joined.path)
      this.storeWork(() => this.options.store?.recordPins(jobId, 'work', [cid]))
      this.proveTimes.set(itemKey(jobId, item), this.clock() - started)
      this.run(this.agent.joined(jobId, round, index, cid))
    } catch (err) {
      this.run(this.agent.joinFailed(jobId, round, index, (err as Error).message))
      this.run(this.agent.refill(jobId, this.random))
    } finally {
      this.inFlight.delete(controller)
    }
  }

  /** Tells the client an item's receipt is stored; resolves with its answer. */
  private async notify(
    jobId: string,
    client: string,
    item: WorkItem,
    receiptCid: string,
  ): Promise<{ accepted: boolean; reason?: string }> {
    const reply = await this.options.wire.request(
      client,
      PROTOCOLS.proof,
      'proof',
      {
        jobId,
        ...item,
        receiptCid,
        proveMs: this.proveTimes.get(itemKey(jobId, item)) ?? 0,
      },
      { addrs: this.jobs.get(jobId)?.need.clientAddrs ?? [] },
    )
    const reason =
      reply.type === 'proof-ack' || reply.type === 'decline' ? reply.body.reason : undefined
    return {
      accepted: reply.type === 'proof-ack' && reply.body.accepted,
      ...(reason !== undefined ? { reason } : {}),
    }
  }

  private async sendJoinProof(
    jobId: string,
    client: string,
    round: number,
    index: number,
    receiptCid: string,
  ): Promise<void> {
    const item = joinItem(round, index)
    const answer = await this.notify(jobId, client, item, receiptCid).catch((err: Error) => ({
      accepted: false,
      reason: err.message,
    }))
    this.proveTimes.delete(itemKey(jobId, item))
    const { accepted, reason } = answer
    this.options.onEvent?.({ type: 'join-answered', jobId, round, index, accepted })
    this.run(this.agent.joinAnswered(jobId, round, index, accepted, reason))
  }

  private async sendProof(
    jobId: string,
    client: string,
    index: number,
    receiptCid: string,
  ): Promise<void> {
    try {
      const { accepted, reason } = await this.notify(jobId, client, proveItem(index), receiptCid)
      this.options.onEvent?.({
        type: 'answered',
        jobId,
        index,
        accepted,
        ...(reason !== undefined ? { reason } : {}),
      })
      this.storeWork(() =>
        this.options.store?.finishWork(jobId, 'prove', index, { status: 'notified' }),
      )
      this.proveTimes.delete(itemKey(jobId, proveItem(index)))
      this.run(this.agent.proofAnswered(jobId, index, accepted, reason))
      this.run(this.agent.refill(jobId, this.random))
    } catch (err) {
      // The client is unreachable (restarting, moving address): the receipt is safe in storage,
      // and the agent sends the notice again with backoff, or gives the item up.
      this.run(this.agent.noticeFailed(jobId, index, (err as Error).message, this.clock()))
      if (this.agent.jobState(jobId) !== undefined) this.run(this.agent.refill(jobId, this.random))
    }
  }
}

/** One unit of work: a segment to prove, or round r's pair i to join. */
type WorkItem = ItemRef
const proveItem = (index: number): WorkItem => ({ stage: 'prove', round: 0, index })
const joinItem = (round: number, index: number): WorkItem => ({ stage: 'join', round, index })
const itemKey = (jobId: string, item: WorkItem): string =>
  item.stage === 'prove' ? `${jobId}:${item.index}` : `${jobId}:j${item.round}/${item.index}`

function toTerms(need: NeedBody): NeedTerms {
  return {
    jobId: need.jobId,
    segments: need.segments,
    po2: need.po2,
    rewardPerSegment: BigInt(need.rewardPerSegment),
    deadline: need.deadline,
    requirements: need.requirements,
  }
}

/** A copy of the receipt with bytes flipped in the middle of its seal. */
