// Benchmark: the local API's cost per request, the events per second one WebSocket client keeps up
// with, and the CLI's start-up, each as a ratio to a baseline run in this process:
// - requests: GET /v1/jobs/{id} (guard, schema, store read, serialisation) against a bare
//   node:http server answering the same JSON, both over loopback keep-alive;
// - events: a job's events appended to the store, published and streamed to one `ApiClient.watch`
//   reader, against a bare `ws` server sending the same frames;
// - start-up: `wholesum --help` and `wholesum jobs` (against a running node) against `node -e 0`.
//
// usage: node bench/api.ts [--requests 3000] [--events 20000] [--runs 5] [--json out.json]

import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { promisify, parseArgs } from 'node:util'
import { WebSocketServer } from 'ws'
import { ApiClient } from '@wholesum/api-client'
import { REPO_ROOT } from '../app/main/src/core.ts'
import { startApi } from '../app/main/src/api/server.ts'
import { jobDetail, jobEvent } from '../app/main/src/api/views.ts'
import { spawnNode, stopProcess } from '../app/main/src/devnet/devnet.ts'
import { newJob, newSegments } from '../app/main/src/store/testing/fixtures.ts'
import { testApiContext } from '../app/main/src/testing/api-context.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '3000' },
    events: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
})
const requests = Number(values.requests)
const eventCount = Number(values.events)
const runs = Number(values.runs)
const run = promisify(execFile)
const CLI = join(REPO_ROOT, 'app', 'main', 'src', 'cli', 'main.ts')
const TOKEN = 'b'.repeat(64)
const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-api-'))
const rows: Record<string, unknown>[] = []

console.log(
  `api: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
)

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

try {
  const ctx = testApiContext(work, { token: TOKEN })
  const job = ctx.store.createJob(newJob('bench', 64), newSegments('bench', 64))
  const server = await startApi(ctx, 0)
  const api = new ApiClient({ baseUrl: server.url, token: TOKEN })

  // Requests per second, sequential, keep-alive (fetch pools connections).
  const body = JSON.stringify(jobDetail(ctx.store, job, Date.now()))
  const bare = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(body)
  })
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r))
  const barePort = (bare.address() as { port: number }).port
  const timeRequests = async (get: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 200; i++) await get() // warm-up
    const started = performance.now()
    for (let i = 0; i < requests; i++) await get()
    return (performance.now() - started) / requests
  }
  const bareMs = await timeRequests(async () =>
    (await fetch(`http://127.0.0.1:${barePort}/`)).json(),
  )
  const apiMs = await timeRequests(() => api.job(job.jobId))
  bare.close()
  console.log(
    `requests  bare http ${(bareMs * 1000).toFixed(0)} µs/request, API GET /v1/jobs/{id} ${(apiMs * 1000).toFixed(0)} µs/request: ratio ${(apiMs / bareMs).toFixed(2)}, overhead ${((apiMs - bareMs) * 1000).toFixed(0)} µs`,
  )
  rows.push({ run: 'requests', bareUs: bareMs * 1000, apiUs: apiMs * 1000, ratio: apiMs / bareMs })

  // Events per second one stream reader keeps up with.
  const streamJob = ctx.store.createJob(newJob('stream', 1), newSegments('stream', 1))
  const apiEvents = async (): Promise<number> => {
    let received = 0
    const reading = (async () => {
      for await (const _event of api.watch(streamJob.jobId)) received += 1
    })()
    // Let the socket open, then produce as fast as the store takes them.
    await new Promise((r) => setTimeout(r, 100))
    const produced = performance.now()
    for (let i = 0; i < eventCount; i++) {
      const type = i === eventCount - 1 ? 'finished' : 'credit'
      const data: Record<string, string | number> =
        type === 'finished' ? { status: 'done' } : { prover: '12D3KooWbench', index: i }
      const id = ctx.store.appendEvent(streamJob.jobId, type, data)
      ctx.events.publish(
        jobEvent(ctx.store.events(streamJob.jobId, { afterId: id - 1, limit: 1 })[0]!),
      )
      if (i % 500 === 0) await new Promise((r) => setImmediate(r))
    }
    await reading
    if (received !== eventCount) throw new Error(`received ${received} of ${eventCount}`)
    return eventCount / ((performance.now() - produced) / 1000)
  }
  const bareEvents = async (): Promise<number> => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise((r) => wss.once('listening', r))
    const port = (wss.address() as { port: number }).port
    const frame = (i: number) =>
      JSON.stringify({
        type: 'event',
        event: {
          id: i + 1,
          jobId: streamJob.jobId,
          at: Date.now(),
          type: 'credit',
          data: { prover: '12D3KooWbench', index: i },
        },
      })
    wss.on('connection', async (socket) => {
      for (let i = 0; i < eventCount; i++) {
        socket.send(frame(i))
        if (i % 500 === 0) await new Promise((r) => setImmediate(r))
      }
      socket.close(1000)
    })
    const started = performance.now()
    await new Promise<void>((resolve, reject) => {
      let received = 0
      const socket = new WebSocket(`ws://127.0.0.1:${port}/`)
      socket.onmessage = (m) => {
        JSON.parse(String(m.data))
        received += 1
      }
      socket.onclose = () =>
        received === eventCount ? resolve() : reject(new Error(`${received}`))
    })
    wss.close()
    return eventCount / ((performance.now() - started) / 1000)
  }
  const bareRate = await bareEvents()
  const apiRate = await apiEvents()
  console.log(
    `events    bare ws ${bareRate.toFixed(0)}/s, API stream (store append + publish + stream) ${apiRate.toFixed(0)}/s: ratio ${(apiRate / bareRate).toFixed(2)}`,
  )
  rows.push({ run: 'events', bareRate, apiRate, ratio: apiRate / bareRate })
  await server.close()
  ctx.store.close()

  // CLI start-up, each the median of `runs` runs.
  const time = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> => {
    const ms: number[] = []
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      await run(process.execPath, args, { env: { ...process.env, ...env } })
      ms.push(performance.now() - started)
    }
    return median(ms)
  }
  const baseline = await time(['-e', '0'])
  const help = await time([CLI, '--help'])
  const node = await spawnNode('bench', join(work, 'node'), ['--role', 'bootstrap'], {
    logLevel: 'warn',
  })
  let jobs: number
  try {
    jobs = await time([CLI, 'jobs'], { WHOLESUM_HOME: node.home })
  } finally {
    await stopProcess(node)
  }
  console.log(
    `start-up  node -e 0 ${baseline.toFixed(0)} ms, wholesum --help ${help.toFixed(0)} ms (ratio ${(help / baseline).toFixed(2)}), wholesum jobs ${jobs.toFixed(0)} ms (ratio ${(jobs / baseline).toFixed(2)})`,
  )
  rows.push({ run: 'startup', baselineMs: baseline, helpMs: help, jobsMs: jobs })
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify(rows, null, 2) + '\n')
} finally {
  await rm(work, { recursive: true, force: true })
}
