// The CLI as a client of this home's daemon: submit, jobs, job, watch, cancel, receipt. Nothing
// here loads the core: every answer comes over the local API.

import { resolve } from 'node:path'
import { ApiClient, JOB_STATUSES, type JobDetail, type JobSummary } from '@wholesum/api-client'
import { connect, uploadFile } from '@wholesum/api-client/node'
import { amount, choice, existingFile, integer, need, parseCommand, UsageError } from '../args.ts'
import type { CommandContext, CommandRun } from '../commands.ts'
import { follow, writeOutputs } from '../follow.ts'
import { onInterrupt } from '../interrupt.ts'
import { jobView } from '../job-view.ts'

const JOB_ID = /^[0-9a-f]{64}$/

/** A job's full ID from a unique prefix (8 hex digits at least), as git takes commits. */
export async function resolveJobId(api: ApiClient, text: string | undefined): Promise<string> {
  const id = need(text, '<job ID>').toLowerCase()
  if (JOB_ID.test(id)) return id
  if (!/^[0-9a-f]{8,63}$/.test(id)) {
    throw new UsageError(
      `${JSON.stringify(text)} is not a job ID (64 hex digits, or a prefix of 8 or more)`,
    )
  }
  const matches: string[] = []
  let cursor: string | undefined
  do {
    const page = await api.jobs({ limit: 500, ...(cursor !== undefined ? { cursor } : {}) })
    for (const job of page.jobs) if (job.jobId.startsWith(id)) matches.push(job.jobId)
    cursor = page.next
  } while (cursor !== undefined && matches.length < 2)
  if (matches.length === 0) throw new UsageError(`no job on this node starts with ${id}`)
  if (matches.length > 1) throw new UsageError(`${id} names more than one job: give more digits`)
  return matches[0]!
}

function defaultOut(jobId: string): string {
  return resolve(`wholesum-${jobId.slice(0, 12)}`)
}

async function followWithView(
  api: ApiClient,
  jobId: string,
  json: boolean,
): Promise<{ status: string; reason?: string } | undefined> {
  const view = jobView(process.stderr, {
    plain: json || !process.stderr.isTTY,
    ...(process.stderr.columns !== undefined ? { columns: process.stderr.columns } : {}),
  })
  // Ctrl-C stops following only; the job goes on in the daemon.
  const stop = onInterrupt()
  try {
    return await follow(
      api,
      jobId,
      (event) => {
        if (json) process.stdout.write(JSON.stringify(event) + '\n')
        else view.onEvent(event)
      },
      stop.signal,
    )
  } catch (err) {
    if (stop.signal.aborted) {
      view.stop()
      process.stderr.write(
        `stopped watching; job ${jobId} goes on in the node (\`wholesum watch ${jobId.slice(0, 12)}\`)\n`,
      )
      return undefined
    }
    throw err
  } finally {
    view.stop()
    stop.done()
  }
}

export const submit: CommandRun = async (argv, context) => {
  const { values, positionals } = parseCommand(argv, {
    input: { type: 'string', short: 'i' },
    po2: { type: 'string' },
    price: { type: 'string' },
    deadline: { type: 'string' },
    'max-provers': { type: 'string' },
    succinct: { type: 'boolean' },
    wait: { type: 'boolean' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  })
  const programPath = resolve(need(positionals[0], '<program>'))
  const inputPath = resolve(need(values.input, '--input <file>'))
  const program = await existingFile(programPath, 'program')
  const input = await existingFile(inputPath, 'input')
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`)
  const api = await connect(context.home)
  // The node says what it can prove; check here so a mistake costs no upload.
  const { limits } = await api.info()
  const po2 =
    values.po2 !== undefined
      ? integer(values.po2, '--po2', { min: limits.minPo2, max: limits.maxPo2 })
      : undefined
  const price = amount(values.price, '--price')
  const deadlineS =
    values.deadline !== undefined
      ? integer(values.deadline, '--deadline', { min: 10, max: 30 * 24 * 3600 })
      : undefined
  const maxProvers =
    values['max-provers'] !== undefined
      ? integer(values['max-provers'], '--max-provers', { min: 1, max: 4096 })
      : undefined
  const json = values.json === true
  const [programUpload, inputUpload] = [
    await uploadFile(api, 'program', program),
    await uploadFile(api, 'input', input),
  ]
  const job = await api.submit({
    program: { upload: programUpload.id },
    input: { upload: inputUpload.id },
    ...(po2 !== undefined ? { po2 } : {}),
    ...(price !== undefined ? { pricePerSegment: price } : {}),
    ...(deadlineS !== undefined ? { deadlineS } : {}),
    ...(maxProvers !== undefined ? { maxProvers } : {}),
    ...(values.succinct === true ? { receipt: 'succinct' as const } : {}),
  })
  if (json && values.wait !== true) {
    process.stdout.write(JSON.stringify(job) + '\n')
    return 0
  }
  if (!json) process.stdout.write(`${job.jobId}\n`)
  if (values.wait !== true) return 0
  const ended = await followWithView(api, job.jobId, json)
  if (ended === undefined) return 130
  if (ended.status !== 'done') {
    process.stderr.write(
      `job ${job.jobId} ${ended.status}${ended.reason !== undefined ? `: ${ended.reason}` : ''}\n`,
    )
    return 1
  }
  const out = resolve(values.out ?? defaultOut(job.jobId))
  const written = await writeOutputs(api, job.jobId, out)
  if (json) process.stdout.write(JSON.stringify({ ...written.job, files: written.files }) + '\n')
  else process.stdout.write(describe(written.job) + `  outputs   ${out}\n`)
  return 0
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172_800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86_400)}d`
}

export const jobs: CommandRun = async (argv, context) => {
  const { values } = parseCommand(argv, {
    status: { type: 'string' },
    role: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  })
  for (const s of values.status?.split(',') ?? []) choice(s, '--status', JOB_STATUSES)
  const role = choice(values.role, '--role', ['client', 'prover'] as const)
  const limit = integer(values.limit, '--limit', { min: 1, max: 500 }, 50)
  const api = await connect(context.home)
  const page = await api.jobs({
    limit,
    ...(values.status !== undefined ? { status: values.status } : {}),
    ...(role !== undefined ? { role } : {}),
  })
  if (values.json === true) {
    process.stdout.write(JSON.stringify(page) + '\n')
    return 0
  }
  if (page.jobs.length === 0) {
    process.stdout.write('no jobs\n')
    return 0
  }
  const now = Date.now()
  process.stdout.write('JOB           ROLE    STATUS      SEGMENTS  PRICE/SEG   AGE\n')
  for (const j of page.jobs) process.stdout.write(row(j, now) + '\n')
  if (page.next !== undefined) process.stdout.write(`(more: --limit ${limit * 2})\n`)
  return 0
}

function row(j: JobSummary, now: number): string {
  return [
    j.jobId.slice(0, 12),
    j.role.padEnd(7),
    j.status.padEnd(11),
    `${j.proved}/${j.segments}`.padEnd(9),
    j.rewardPerSegment.padEnd(11),
    age(now - j.createdAt),
  ].join(' ')
}

function describe(j: JobDetail): string {
  const byProver = new Map<string, number>()
  for (const s of j.segmentStates) {
    if (s.provedBy !== undefined) byProver.set(s.provedBy, (byProver.get(s.provedBy) ?? 0) + 1)
  }
  const lines = [
    `job ${j.jobId}  ${j.role}  ${j.status}${j.error !== undefined ? `: ${j.error}` : ''}`,
    `  image ID  ${j.imageId}`,
    `  segments  ${j.proved}/${j.segments} proved (po2 ${j.po2}), price ${j.rewardPerSegment} per segment, cost ${j.cost}`,
    `  elapsed   ${(j.timings.elapsedMs / 1000).toFixed(1)} s`,
    `  program   ${j.programCid}`,
    `  input     ${j.inputCid}`,
  ]
  if (j.manifestCid !== undefined) lines.push(`  manifest  ${j.manifestCid}`)
  for (const [name, cid] of Object.entries(j.outputs)) lines.push(`  ${name.padEnd(9)} ${cid}`)
  for (const d of j.deals) {
    lines.push(
      `  deal      ${d.prover} at ${d.pricePerSegment}: ${d.status}, ${byProver.get(d.prover) ?? 0} proved, ${d.strikes} struck`,
    )
  }
  return lines.join('\n') + '\n'
}

export const job: CommandRun = async (argv, context) => {
  const { values, positionals } = parseCommand(argv, { json: { type: 'boolean' } })
  const api = await connect(context.home)
  const detail = await api.job(await resolveJobId(api, positionals[0]))
  process.stdout.write(values.json === true ? JSON.stringify(detail) + '\n' : describe(detail))
  return 0
}

export const watch: CommandRun = async (argv, context) => {
  const { values, positionals } = parseCommand(argv, { json: { type: 'boolean' } })
  const api = await connect(context.home)
  const jobId = await resolveJobId(api, positionals[0])
  const ended = await followWithView(api, jobId, values.json === true)
  if (ended === undefined) return 130
  if (values.json !== true) {
    process.stdout.write(
      `job ${jobId} ${ended.status}${ended.reason !== undefined ? `: ${ended.reason}` : ''}\n`,
    )
  }
  return ended.status === 'done' ? 0 : 1
}

export const cancel: CommandRun = async (argv, context) => {
  const { positionals } = parseCommand(argv, {})
  const api = await connect(context.home)
  const summary = await api.cancel(await resolveJobId(api, positionals[0]))
  process.stdout.write(`job ${summary.jobId} ${summary.status}\n`)
  return 0
}

export const receipt: CommandRun = async (argv, context: CommandContext) => {
  const { values, positionals } = parseCommand(argv, { out: { type: 'string', short: 'o' } })
  const api = await connect(context.home)
  const jobId = await resolveJobId(api, positionals[0])
  const detail = await api.job(jobId)
  if (detail.status !== 'done' || detail.outputs.receipt === undefined) {
    throw new UsageError(`job ${jobId} has no receipt: it is ${detail.status}`)
  }
  const out = resolve(values.out ?? defaultOut(jobId))
  const written = await writeOutputs(api, jobId, out)
  for (const path of Object.values(written.files)) process.stdout.write(path + '\n')
  return 0
}

/** Prints a one-time URL that opens the UI in a browser, logged in to this home's node. */
export const ui: CommandRun = async (argv, context) => {
  const { values } = parseCommand(argv, { json: { type: 'boolean' } })
  const api = await connect(context.home)
  const ticket = await api.uiTicket()
  if (values.json === true) {
    process.stdout.write(JSON.stringify(ticket) + '\n')
    return 0
  }
  const seconds = Math.round((ticket.expiresAt - Date.now()) / 1000)
  process.stdout.write(ticket.url + '\n')
  process.stderr.write(
    `Open this URL in a browser within ${seconds} s; it works once. From another machine, tunnel the port first:\n` +
      `  ssh -L ${new URL(ticket.url).port}:127.0.0.1:${new URL(ticket.url).port} <this host>\n`,
  )
  return 0
}
