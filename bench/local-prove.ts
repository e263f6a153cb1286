// Benchmark: local proving of the sample guests; cycles, segments, execute/prove times and kHz.
//
// usage: node bench/local-prove.ts [--po2 N] [--guests hello,hashchain,l2-batch] [--json out.json]
// The baseline in the same process is execution: proving cost is printed as a ratio to it.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openCore, REPO_ROOT } from '../app/main/src/core.ts'
import { proveLocally } from '../app/main/src/jobs/local-prove.ts'

const SAMPLES: Record<string, string> = {
  hello: 'hello.input',
  hashchain: 'hashchain-small.input',
  'l2-batch': 'l2-batch.input',
}

const { values } = parseArgs({
  options: {
    po2: { type: 'string', default: '16' },
    guests: { type: 'string', default: Object.keys(SAMPLES).join(',') },
    json: { type: 'string' },
  },
})
const po2 = Number(values.po2)
const guestsDir = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-'))
const core = await openCore({ home: join(work, 'home') })
const prover = await core.prover()
const caps = await prover.capabilities()

console.log(`local-prove benchmark: risc0 ${caps.risc0Version} ${caps.accelerator}, po2 ${po2}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`)
console.log('guest        cycles(total)  segs  execute_ms  prove_ms/segment (each)             prove_s  kHz    prove/execute')
const rows = []
try {
  for (const name of values.guests.split(',')) {
    const input = SAMPLES[name]
    if (input === undefined) throw new Error(`unknown guest ${name}`)
    const result = await proveLocally(prover, {
      program: join(guestsDir, 'dist', `${name}.bin`),
      input: join(guestsDir, 'samples', input),
      outDir: join(work, name),
      po2,
    })
    const proveMs = result.segmentProofs.reduce((sum, p) => sum + p.proveMs, 0)
    const khz = result.execution.totalCycles / proveMs
    const ratio = proveMs / Math.max(1, result.execution.executeMs)
    const each = result.segmentProofs.map((p) => p.proveMs).join(',')
    rows.push({ guest: name, po2, totalCycles: result.execution.totalCycles, userCycles: result.execution.userCycles, segments: result.execution.segments.length, executeMs: result.execution.executeMs, proveMsPerSegment: result.segmentProofs.map((p) => p.proveMs), proveMs, khz, proveToExecute: ratio, verifyMs: result.verification.verifyMs })
    console.log(
      `${name.padEnd(12)} ${String(result.execution.totalCycles).padStart(13)}  ${String(result.execution.segments.length).padStart(4)}  ${String(result.execution.executeMs).padStart(10)}  ${each.padEnd(34).slice(0, 34)} ${(proveMs / 1000).toFixed(1).padStart(8)}  ${khz.toFixed(1).padStart(5)}  ${ratio.toFixed(0).padStart(8)}x`,
    )
  }
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), po2, cpu: cpus()[0]?.model, cores: cpus().length, rows }, null, 2))
} finally {
  await core.close()
  await rm(work, { recursive: true, force: true })
}
