// Following a job through the API (its events, live, resumed across reconnects) and fetching a
// done job's outputs into a folder: shared by `submit --wait`, `watch`, `receipt` and the devnet.

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ApiClient, JobDetail, JobEvent, JobStatus } from '@wholesum/api-client'

export interface Followed {
  readonly status: JobStatus
  /** Why it failed or was cancelled, from its last event. */
  readonly reason?: string
}

export async function follow(
  api: ApiClient,
  jobId: string,
  onEvent: (event: JobEvent) => void,
  signal?: AbortSignal,
): Promise<Followed> {
  let reason: string | undefined
  const events = api.watch(jobId, signal !== undefined ? { signal } : {})
  for (;;) {
    const next = await events.next()
    if (next.done === true)
      return { status: next.value, ...(reason !== undefined ? { reason } : {}) }
    const event = next.value
    if (event.type === 'finished') {
      const data = event.data as { reason?: unknown }
      if (typeof data.reason === 'string') reason = data.reason
    }
    onEvent(event)
  }
}

/** The files a done job leaves in a folder, as `prove --local` leaves them. */
export const OUTPUT_FILES = {
  receipt: 'receipt.bin',
  journal: 'journal.bin',
  stdout: 'stdout.log',
  stderr: 'stderr.log',
  events: 'events.jsonl',
} as const

export async function writeOutputs(
  api: ApiClient,
  jobId: string,
  dir: string,
  signal?: AbortSignal,
): Promise<{ readonly job: JobDetail; readonly files: Record<string, string> }> {
  const job = await api.job(jobId, signal)
  await mkdir(dir, { recursive: true })
  const files: Record<string, string> = {}
  for (const [name, file] of Object.entries(OUTPUT_FILES) as [
    keyof typeof OUTPUT_FILES,
    string,
  ][]) {
    if (job.outputs[name] === undefined) continue
    const path = join(dir, file)
    await writeFile(path, await api.output(jobId, name, signal))
    files[name] = path
  }
  await writeFile(join(dir, 'job.json'), JSON.stringify(job, null, 2) + '\n')
  return { job, files }
}
