// Benchmark: the same job proved locally and over a loopback devnet of daemons (1 prover, then 2),
// submitted through the client's local API as `wholesum submit` does, printed as
// ratios to the local run in this process: the network's overhead (execute, store, gossip, deals,
// bitswap transfers, per-segment verification, assembly) on top of proving itself.
//
// usage: node bench/network-prove.ts [--po2 16] [--provers 1,2] [--json out.json]
//
// On a 2-core machine every prover process shares the same two cores, so 2 provers cannot be
// faster than 1 here: the figure shows the cost of coordination, not the speed-up of more machines.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openCore, REPO_ROOT } from '../app/main/src/core.ts'
import { uploadFile } from '@wholesum/api-client/node'
import { DaemonDevnet } from '../app/main/src/devnet/daemon-devnet.ts'
import { follow } from '../app/main/src/cli/follow.ts'
import { proveLocally } from '../app/main/src/jobs/local-prove.ts'
import { createLogger } from '../app/main/src/log/logger.ts'

const { values } = parseArgs({
  options: {
    po2: { type: 'string', default: '16' },
    provers: { type: 'string', default: '1,2' },
    json: { type: 'string' },
  },
})
const po2 = Number(values.po2)
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const program = join(guests, 'dist', 'hashchain.bin')
const input = join(guests, 'samples', 'hashchain-small.input')
const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-net-'))
const logger = createLogger({ level: 'warn' })
const core = await openCore({ home: join(work, 'home'), logger })
const prover = await core.prover()

console.log(
  `network-prove: hashchain-small at po2 ${po2}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
)
const rows: Record<string, unknown>[] = []
try {
  const localStarted = performance.now()
  const local = await proveLocally(prover, { program, input, po2, outDir: join(work, 'local') })
  const localMs = performance.now() - localStarted
  const segments = local.execution.segments.length
  console.log(`local     ${segments} segments  total ${(localMs / 1000).toFixed(1)} s  ratio 1.00`)
  rows.push({ run: 'local', segments, totalMs: localMs, ratio: 1 })

  for (const n of values.provers.split(',').map(Number)) {
    // Daemons, as users run them: the job goes in through the client's local API.
    const net = await DaemonDevnet.start({
      dir: join(work, `devnet-${n}`),
      provers: Array.from({ length: n }, () => ({})),
      client: { offerWindowMs: 1000 },
      logLevel: 'warn',
    })
    try {
      const started = performance.now()
      const job = await net.api.submit({
        program: { upload: (await uploadFile(net.api, 'program', program)).id },
        input: { upload: (await uploadFile(net.api, 'input', input)).id },
        po2,
        pricePerSegment: '100',
        maxProvers: n,
      })
      let executeMs = 0
      const ended = await follow(net.api, job.jobId, (event) => {
        if (event.type === 'executed') executeMs = event.at - job.createdAt
      })
      const totalMs = performance.now() - started
      if (ended.status !== 'done')
        throw new Error(`devnet-${n}: job ${ended.status} (${ended.reason})`)
      const detail = await net.api.job(job.jobId)
      const credits = new Map<string, number>()
      for (const s of detail.segmentStates)
        if (s.provedBy !== undefined) credits.set(s.provedBy, (credits.get(s.provedBy) ?? 0) + 1)
      const ratio = totalMs / localMs
      console.log(
        `devnet-${n}  ${detail.segments} segments  total ${(totalMs / 1000).toFixed(1)} s  ratio ${ratio.toFixed(2)}  (execute ${(executeMs / 1000).toFixed(1)} s; credits ${[...credits.values()].join('/')})`,
      )
      rows.push({ run: `devnet-${n}`, provers: n, segments: detail.segments, totalMs, ratio })
    } finally {
      await net.stop()
    }
  }
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify(rows, null, 2) + '\n')
} finally {
  await core.close()
  await rm(work, { recursive: true, force: true })
}
