// Jobs: submit, list, one job, its events (a page, or a live WebSocket stream), cancel, outputs.

import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import {
  ErrorBody,
  EventPage,
  EventsQuery,
  JOB_STATUSES,
  JobDetail,
  JobList,
  JobListQuery,
  JobSummary,
  OUTPUT_NAMES,
  SubmitJob,
  EstimateJob,
  JobEstimate,
  TERMINAL_STATUSES,
  type JobStatus,
  type OutputName,
} from '@wholesum/api-client'
import { Type } from 'typebox'
import { estimateJob } from '../../jobs/estimate.ts'
import { DEFAULT_PO2 } from '../../jobs/limits.ts'
import { validateInput, validatePo2, validateProgram } from '../../jobs/validate.ts'
import type { JobRecord } from '../../store/index.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { jobDetail, jobEvent, jobSummary } from '../views.ts'
import { resolveFile } from './files.ts'
import { streamEvents } from './stream.ts'

const JobParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{64}$' }) })
const OutputParams = Type.Object({
  id: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  name: Type.Unsafe<OutputName>({ type: 'string', enum: [...OUTPUT_NAMES] }),
})
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

/** Defaults of a submitted job. */
export const SUBMIT_DEFAULTS = {
  pricePerSegment: '1000',
  deadlineS: 3600,
  maxProvers: 16,
} as const

function jobOf(ctx: ApiContext, id: string): JobRecord {
  const job = ctx.store.getJob(id)
  if (job === undefined) throw new HttpError(404, 'NOT_FOUND', `no job ${id} on this node`)
  return job
}

function checkPo2(ctx: ApiContext, po2: number): void {
  if (po2 < ctx.limits.minPo2 || po2 > ctx.limits.maxPo2) {
    throw new HttpError(
      400,
      'INVALID_REQUEST',
      `body/po2 must be ${ctx.limits.minPo2}..${ctx.limits.maxPo2} (what the risc0 worker proves), got ${po2}`,
      'body/po2',
    )
  }
}

/**
 * How long an estimate may take, waiting included: the worker runs one request at a time, so on a
 * node that also proves, a dry run queues behind the proof in hand.
 */
const ESTIMATE_TIMEOUT_MS = 10 * 60_000

/** Aborts when the caller hangs up before its answer is sent, or after `timeoutMs`. */
function untilCallerLeaves(reply: FastifyReply, timeoutMs: number): AbortSignal {
  const hungUp = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) hungUp.abort(new Error('the caller went away'))
  })
  return AbortSignal.any([AbortSignal.timeout(timeoutMs), hungUp.signal])
}

export function jobRoutes(app: FastifyInstance, ctx: ApiContext): void {
  let estimating = false
  app.post(
    '/jobs',
    {
      schema: {
        summary: 'Submit a job: program and input as uploads or CIDs',
        body: SubmitJob,
        response: { 202: JobSummary, ...errors, 409: ErrorBody, 413: ErrorBody, 422: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body as SubmitJob
      if (body.storage !== undefined && body.storage !== 'ipfs') {
        throw new HttpError(
          400,
          'INVALID_REQUEST',
          `storage ${body.storage} is not available on this node; only ipfs (embedded) is`,
          'body/storage',
        )
      }
      const po2 = body.po2 ?? DEFAULT_PO2
      checkPo2(ctx, po2)
      const client = ctx.client
      if (client === undefined) {
        throw new HttpError(
          409,
          'NOT_A_CLIENT',
          'this node was started without the client role (--role client)',
        )
      }
      // A caller that hangs up before the job is recorded takes its submission with it.
      const signal = untilCallerLeaves(reply, 120_000)
      const program = await resolveFile(ctx, body.program, 'program', signal)
      try {
        const input = await resolveFile(ctx, body.input, 'input', signal)
        try {
          const accepted = await client.accept({
            program: program.path,
            input: input.path,
            po2,
            rewardPerSegment: BigInt(body.pricePerSegment ?? SUBMIT_DEFAULTS.pricePerSegment),
            timeoutMs: (body.deadlineS ?? SUBMIT_DEFAULTS.deadlineS) * 1000,
            maxProvers: body.maxProvers ?? SUBMIT_DEFAULTS.maxProvers,
            limits: ctx.limits,
            signal,
            ...(body.receipt !== undefined ? { receipt: body.receipt } : {}),
          })
          accepted.outcome.catch((err: Error) =>
            request.log.warn(
              { jobId: accepted.jobId, error: err.message },
              'job ended without a receipt',
            ),
          )
          return reply.code(202).send(jobSummary(ctx.store, jobOf(ctx, accepted.jobId)))
        } finally {
          await input.release()
        }
      } finally {
        await program.release()
      }
    },
  )

  app.post(
    '/jobs/estimate',
    {
      schema: {
        summary: 'Execute a program without submitting it: cycles, segments, cost and time',
        body: EstimateJob,
        response: {
          200: JobEstimate,
          ...errors,
          409: ErrorBody,
          413: ErrorBody,
          422: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as EstimateJob
      const po2 = body.po2 ?? DEFAULT_PO2
      checkPo2(ctx, po2)
      // One at a time: a dry run takes the node's one worker, which its jobs need too.
      if (estimating) {
        throw new HttpError(
          429,
          'BUSY',
          'an estimate is already running on this node; ask again once it has answered',
        )
      }
      estimating = true
      try {
        return await estimate(body, po2, reply)
      } finally {
        estimating = false
      }
    },
  )

  async function estimate(body: EstimateJob, po2: number, reply: FastifyReply) {
    const prover = await ctx.prover()
    if (prover.dryRun === undefined) {
      throw new HttpError(
        409,
        'NOT_SUPPORTED',
        "this node's prover plugin cannot execute without proving",
      )
    }
    // The dry run stops (its worker request is dropped or killed) when the caller hangs up.
    const signal = untilCallerLeaves(reply, ESTIMATE_TIMEOUT_MS)
    const keep = { keepUpload: true }
    const program = await resolveFile(ctx, body.program, 'program', signal, keep)
    try {
      const input = await resolveFile(ctx, body.input, 'input', signal, keep)
      try {
        validatePo2(po2, ctx.limits)
        await validateProgram(program.path, ctx.limits)
        await validateInput(input.path, ctx.limits)
        const run = await prover.dryRun({
          program: program.path,
          input: input.path,
          po2,
          maxCycles: ctx.limits.maxCycles,
          signal,
        })
        const pricePerSegment = BigInt(body.pricePerSegment ?? SUBMIT_DEFAULTS.pricePerSegment)
        const offers = ctx.client?.offers.recent(Date.now()) ?? []
        const estimate = estimateJob(run, offers, {
          pricePerSegment,
          maxProvers: body.maxProvers ?? SUBMIT_DEFAULTS.maxProvers,
        })
        return {
          imageId: run.imageId,
          po2: run.po2,
          segments: run.segments,
          totalCycles: run.totalCycles,
          userCycles: run.userCycles,
          exitCode: run.exitCode,
          journalBytes: run.journalBytes,
          executeMs: run.executeMs,
          pricePerSegment: pricePerSegment.toString(),
          market: { offersSeen: estimate.offersSeen, eligibleProvers: estimate.eligibleProvers },
          maxCost: estimate.maxCost.toString(),
          ...(estimate.costRange !== undefined
            ? {
                costLow: estimate.costRange.low.toString(),
                costHigh: estimate.costRange.high.toString(),
              }
            : {}),
          ...(estimate.proveSecondsAtLeast !== undefined
            ? { proveSecondsAtLeast: estimate.proveSecondsAtLeast }
            : {}),
          notes: [...estimate.notes],
        }
      } finally {
        await input.release()
      }
    } finally {
      await program.release()
    }
  }

  app.get(
    '/jobs',
    {
      schema: {
        summary: 'Jobs, newest first, a page at a time',
        querystring: JobListQuery,
        response: { 200: JobList, ...errors },
      },
    },
    async (request) => {
      const query = request.query as JobListQuery
      const statuses = query.status?.split(',').filter((s) => s !== '')
      for (const [i, s] of (statuses ?? []).entries()) {
        if (!(JOB_STATUSES as readonly string[]).includes(s)) {
          throw new HttpError(
            400,
            'INVALID_REQUEST',
            `querystring/status: ${s} is not a status (${JOB_STATUSES.join(', ')})`,
            `querystring/status/${i}`,
          )
        }
      }
      const all = ctx.store
        .listJobs({
          ...(query.role !== undefined ? { role: query.role } : {}),
          ...(statuses !== undefined ? { status: statuses as JobStatus[] } : {}),
        })
        .reverse()
      const start =
        query.cursor === undefined
          ? 0
          : all.findIndex((j) => `${j.createdAt}.${j.jobId}` === query.cursor) + 1
      if (query.cursor !== undefined && start === 0) {
        throw new HttpError(
          400,
          'INVALID_REQUEST',
          'querystring/cursor is not one this node gave',
          'querystring/cursor',
        )
      }
      const limit = query.limit ?? 50
      const page = all.slice(start, start + limit)
      const last = page.at(-1)
      return {
        jobs: page.map((j) => jobSummary(ctx.store, j)),
        ...(start + limit < all.length && last !== undefined
          ? { next: `${last.createdAt}.${last.jobId}` }
          : {}),
      }
    },
  )

  app.get(
    '/jobs/:id',
    {
      schema: {
        summary: 'One job: stage, every segment, deals, cost, outputs',
        params: JobParams,
        response: { 200: JobDetail, ...errors },
      },
    },
    async (request) =>
      jobDetail(ctx.store, jobOf(ctx, (request.params as { id: string }).id), Date.now()),
  )

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        summary: "A page of the job's events after an event ID",
        params: JobParams,
        querystring: EventsQuery,
        response: { 200: EventPage, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const query = request.query as { after?: number; limit?: number }
      jobOf(ctx, id)
      const events = ctx.store.events(id, { afterId: query.after ?? 0, limit: query.limit ?? 500 })
      return {
        events: events.map(jobEvent),
      }
    },
  )

  app.get(
    '/jobs/:id/stream',
    {
      websocket: true,
      schema: {
        summary: "WebSocket: the job's events from `after` on, live, then an end frame",
        params: JobParams,
        querystring: EventsQuery,
      },
      // The guard ran; an unknown job is refused before the upgrade.
      preHandler: async (request) => {
        jobOf(ctx, (request.params as { id: string }).id)
      },
    },
    (socket, request) => {
      const { id } = request.params as { id: string }
      const after = (request.query as { after?: number }).after ?? 0
      streamEvents(ctx, socket, id, after)
    },
  )

  app.post(
    '/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a job: its provers stop and its claims are released',
        params: JobParams,
        response: { 200: JobSummary, ...errors, 409: ErrorBody },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const job = jobOf(ctx, id)
      if (job.role !== 'client' || ctx.client === undefined) {
        throw new HttpError(409, 'NOT_OWNER', `job ${id} is not a job this node's client owns`)
      }
      if (TERMINAL_STATUSES.includes(job.status)) {
        throw new HttpError(409, 'JOB_FINISHED', `job ${id} is already ${job.status}`)
      }
      // The client's answer is the job's status from now on, even before every write has landed.
      const status = await ctx.client.cancel(id)
      return { ...jobSummary(ctx.store, jobOf(ctx, id)), status }
    },
  )

  app.get(
    '/jobs/:id/outputs/:name',
    {
      schema: {
        summary:
          "A finished job's receipt, journal, stdout, stderr or event log, from storage by CID",
        params: OutputParams,
        response: { ...errors, 409: ErrorBody, 410: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id, name } = request.params as { id: string; name: OutputName }
      const job = jobOf(ctx, id)
      const cid = {
        receipt: job.receiptCid,
        journal: job.journalCid,
        stdout: job.stdoutCid,
        stderr: job.stderrCid,
        events: job.logsCid,
      }[name]
      if (cid === undefined) {
        throw new HttpError(409, 'NOT_READY', `job ${id} has no ${name} (it is ${job.status})`)
      }
      const pins = ctx.store.getPins(job.jobId).filter((p) => p.cid === cid)
      const released = pins.find((p) => p.releasedAt !== undefined)
      if (released !== undefined && pins.every((p) => p.releasedAt !== undefined)) {
        throw new HttpError(
          410,
          'RELEASED',
          `job ${id}'s ${name} was released by the storage retention at ${new Date(released.releasedAt!).toISOString()}`,
        )
      }
      // Streamed (a composite receipt of many segments is hundreds of MB); the first chunk is
      // awaited before the headers go, so a missing object is still a clean error.
      const source = ctx.storage.get(cid)[Symbol.asyncIterator]()
      const first = await source.next()
      async function* rest(): AsyncGenerator<Uint8Array> {
        if (first.done === true) return
        yield first.value
        for (let next = await source.next(); next.done !== true; next = await source.next()) {
          yield next.value
        }
      }
      return reply
        .header('content-type', 'application/octet-stream')
        .header('x-wholesum-cid', cid)
        .send(Readable.from(rest(), { objectMode: false }))
    },
  )
}
