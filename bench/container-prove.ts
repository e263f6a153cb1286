// Benchmark: the same guest proved in container mode and in local mode, as a ratio.
//
// usage: node bench/container-prove.ts [--sample hello|hashchain] [--po2 N] [--rounds R]
// Rounds alternate local and container so drift on the machine hits both equally.

import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { ProverPlugin } from '@wholesum/plugin-api'
import { openCore, REPO_ROOT } from '../app/main/src/core.ts'
import { proveLocally } from '../app/main/src/jobs/local-prove.ts'

const INPUTS: Record<string, string> = { hello: 'hello.input', hashchain: 'hashchain-small.input' }
const { values } = parseArgs({
  options: {
    sample: { type: 'string', default: 'hello' },
    po2: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
  },
})
const input = INPUTS[values.sample]
if (input === undefined) throw new Error(`unknown sample ${values.sample}`)
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const job = {
  program: join(guests, 'dist', `${values.sample}.bin`),
  input: join(guests, 'samples', input),
  po2: Number(values.po2),
}

const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-container-'))
const local = await openCore({ home: join(work, 'local') })
const contained = await openCore({
  home: join(work, 'container'),
  settings: { plugins: { 'prover-risc0': { mode: 'container' } } },
})

async function timed(
  prover: ProverPlugin,
  outDir: string,
): Promise<{ totalMs: number; proveMs: number }> {
  const result = await proveLocally(prover, { ...job, outDir })
  return { totalMs: result.timings.totalMs, proveMs: result.timings.proveMs }
}

try {
  const provers = { local: await local.prover(), container: await contained.prover() }
  const sums = { local: { totalMs: 0, proveMs: 0 }, container: { totalMs: 0, proveMs: 0 } }
  const rounds = Number(values.rounds)
  console.log(
    `container-prove: ${values.sample} at po2 ${job.po2}, ${rounds} rounds, ${cpus().length} cores`,
  )
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['local', 'container'] as const) {
      const t = await timed(provers[mode], join(work, `${mode}-${round}`))
      sums[mode].totalMs += t.totalMs
      sums[mode].proveMs += t.proveMs
      console.log(
        `  round ${round + 1} ${mode.padEnd(9)} total ${(t.totalMs / 1000).toFixed(1)} s, proving ${(t.proveMs / 1000).toFixed(1)} s`,
      )
    }
  }
  const ratio = sums.container.totalMs / sums.local.totalMs
  console.log(
    `container/local: ${ratio.toFixed(2)}x end to end (${(sums.container.totalMs / rounds / 1000).toFixed(1)} s vs ${(sums.local.totalMs / rounds / 1000).toFixed(1)} s per job), ` +
      `${(sums.container.proveMs / sums.local.proveMs).toFixed(2)}x on proving alone`,
  )
} finally {
  await local.close()
  await contained.close()
  await rm(work, { recursive: true, force: true })
}
