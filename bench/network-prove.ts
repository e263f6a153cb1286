// Benchmark: the same job proved locally and over a loopback devnet (1 prover, then 2), printed as
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
import { Devnet } from '../app/main/src/devnet/devnet.ts'
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
    const net = await Devnet.start({
      dir: join(work, `devnet-${n}`),
      provers: Array.from({ length: n }, () => ({})),
      clientProver: prover,
      logger,
      client: { offerWindowMs: 1000 },
    })
    try {
      const started = performance.now()
      const outcome = await net.client.submit({
        program,
        input,
        po2,
        rewardPerSegment: 100n,
        timeoutMs: 3_600_000,
        maxProvers: n,
      })
      const totalMs = performance.now() - started
      const ratio = totalMs / localMs
      console.log(
        `devnet-${n}  ${outcome.segments} segments  total ${(totalMs / 1000).toFixed(1)} s  ratio ${ratio.toFixed(2)}  (execute ${(outcome.timings.executeMs / 1000).toFixed(1)} s; credits ${[...outcome.credits.values()].join('/')})`,
      )
      rows.push({ run: `devnet-${n}`, provers: n, segments: outcome.segments, totalMs, ratio })
    } finally {
      await net.stop()
    }
  }
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify(rows, null, 2) + '\n')
} finally {
  await core.close()
  await rm(work, { recursive: true, force: true })
}
