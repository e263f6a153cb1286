// Benchmark: local proving of the sample guests; cycles, segments, execute/prove times and kHz.
//
// usage: node bench/local-prove.ts [--po2 N] [--prove hello,hashchain] [--execute l2-batch,hashchain-large] [--json out.json]
//
// Baseline, in the same process: execution of the same guest. Proving cost is printed as a
// ratio to it. Guests under --execute are only executed (their proofs take hours on a 2-core
// CPU); their prove time is estimated from the kHz measured on the proved guests, and marked so.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openCore, REPO_ROOT } from '../app/main/src/core.ts'
import { proveLocally } from '../app/main/src/jobs/local-prove.ts'

const SAMPLES: Record<string, { guest: string; input: string }> = {
  hello: { guest: 'hello', input: 'hello.input' },
  hashchain: { guest: 'hashchain', input: 'hashchain-small.input' },
  'hashchain-large': { guest: 'hashchain', input: 'hashchain-large.input' },
  'l2-batch': { guest: 'l2-batch', input: 'l2-batch.input' },
}

const { values } = parseArgs({
  options: {
    po2: { type: 'string', default: '16' },
    prove: { type: 'string', default: 'hello,hashchain' },
    execute: { type: 'string', default: 'l2-batch,hashchain-large' },
    json: { type: 'string' },
  },
})
const po2 = Number(values.po2)
const guestsDir = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const files = (name: string) => {
  const sample = SAMPLES[name]
  if (sample === undefined)
    throw new Error(`unknown sample ${name}; known: ${Object.keys(SAMPLES).join(', ')}`)
  return {
    program: join(guestsDir, 'dist', `${sample.guest}.bin`),
    input: join(guestsDir, 'samples', sample.input),
  }
}
const list = (text: string) => text.split(',').filter((name) => name !== '')

const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-'))
const core = await openCore({ home: join(work, 'home') })
const prover = await core.prover()
const caps = await prover.capabilities()

console.log(
  `local-prove: risc0 ${caps.risc0Version} ${caps.accelerator}, po2 ${po2}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
)
console.log(
  'sample            total cycles  segs  execute_ms   prove_s  prove_ms per segment        kHz  prove/execute',
)
const rows: Record<string, unknown>[] = []
let provedCycles = 0
let provedMs = 0
try {
  for (const name of list(values.prove)) {
    const result = await proveLocally(prover, { ...files(name), outDir: join(work, name), po2 })
    const proveMs = result.segmentProofs.reduce((sum, p) => sum + p.proveMs, 0)
    const { totalCycles, userCycles, executeMs, segments } = result.execution
    provedCycles += totalCycles
    provedMs += proveMs
    const khz = totalCycles / proveMs
    const ratio = proveMs / Math.max(1, executeMs)
    const each = result.segmentProofs.map((p) => Math.round(p.proveMs)).join(',')
    rows.push({
      sample: name,
      proved: true,
      po2,
      totalCycles,
      userCycles,
      segments: segments.length,
      executeMs,
      proveMs,
      proveMsPerSegment: result.segmentProofs.map((p) => p.proveMs),
      khz,
      proveToExecute: ratio,
      verifyMs: result.verification.verifyMs,
      receiptBytes: result.segmentProofs.length,
    })
    console.log(
      `${name.padEnd(16)} ${String(totalCycles).padStart(13)}  ${String(segments.length).padStart(4)}  ${String(executeMs).padStart(10)}  ${(proveMs / 1000).toFixed(1).padStart(8)}  ${each.slice(0, 24).padEnd(24)}  ${khz.toFixed(2).padStart(7)}  ${ratio.toFixed(0).padStart(8)}x`,
    )
  }
  const khz = provedMs > 0 ? provedCycles / provedMs : undefined
  for (const name of list(values.execute)) {
    const execution = await prover.execute({
      ...files(name),
      po2,
      outDir: join(work, `${name}-exec`),
    })
    const estimateS = khz !== undefined ? execution.totalCycles / khz / 1000 : undefined
    rows.push({
      sample: name,
      proved: false,
      po2,
      totalCycles: execution.totalCycles,
      userCycles: execution.userCycles,
      segments: execution.segments.length,
      executeMs: execution.executeMs,
      estimatedProveS: estimateS,
    })
    console.log(
      `${name.padEnd(16)} ${String(execution.totalCycles).padStart(13)}  ${String(execution.segments.length).padStart(4)}  ${String(execution.executeMs).padStart(10)}  ${estimateS !== undefined ? `~${estimateS.toFixed(0)}`.padStart(8) : '       -'}  (executed only: estimate at the measured kHz)`,
    )
    await rm(join(work, `${name}-exec`), { recursive: true, force: true })
  }
  if (khz !== undefined)
    console.log(
      `overall: ${khz.toFixed(2)} kHz proved (${provedCycles} cycles in ${(provedMs / 1000).toFixed(1)} s)`,
    )
  if (values.json !== undefined) {
    await writeFile(
      values.json,
      JSON.stringify(
        {
          at: new Date().toISOString(),
          po2,
          cpu: cpus()[0]?.model,
          cores: cpus().length,
          risc0: caps.risc0Version,
          rows,
        },
        null,
        2,
      ) + '\n',
    )
  }
} finally {
  await core.close()
  await rm(work, { recursive: true, force: true })
}
