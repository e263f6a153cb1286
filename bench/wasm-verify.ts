// Benchmark: risc0's verifier compiled to WebAssembly (what the desktop UI runs in a web worker)
// against native verification of the same receipt by the Rust worker.
//
// usage: node bench/wasm-verify.ts [--po2 N] [--samples hello,hashchain] [--runs N] [--json out.json]
//
// Baseline, in the same process: the worker's native `Receipt::verify` time, as the worker itself
// measures it (its process and pipe overhead excluded, so the ratio is verifier against verifier).
// The wasm side runs in this Node's V8, the engine Chromium runs the page's worker with.

import { readFile, rm, mkdtemp, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openCore, REPO_ROOT } from '../app/main/src/core.ts'
import { proveLocally } from '../app/main/src/jobs/local-prove.ts'
import { ReceiptVerifier } from '../packages/receipt-verifier/src/index.ts'

const SAMPLES: Record<string, { guest: string; input: string }> = {
  hello: { guest: 'hello', input: 'hello.input' },
  hashchain: { guest: 'hashchain', input: 'hashchain-small.input' },
}
const { values } = parseArgs({
  options: {
    po2: { type: 'string', default: '16' },
    samples: { type: 'string', default: 'hello,hashchain' },
    runs: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
})
const po2 = Number(values.po2)
const runs = Number(values.runs)
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const wasmPath = join(REPO_ROOT, 'packages', 'receipt-verifier', 'dist', 'receipt_verifier.wasm')
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const wasmBytes = await readFile(wasmPath)
let started = performance.now()
const verifier = await ReceiptVerifier.load(wasmBytes)
const compileMs = performance.now() - started

const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-wasm-'))
const core = await openCore({ home: join(work, 'home') })
const prover = await core.prover()
console.log(
  `wasm-verify: module ${(wasmBytes.length / 1024).toFixed(0)} KiB, compiled in ${compileMs.toFixed(0)} ms; po2 ${po2}; ${runs} runs each; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); Node ${process.version}`,
)
console.log('sample      segments  receipt_KiB  native_ms  wasm_ms  wasm/native  image_id_wasm_ms')
const rows: Record<string, unknown>[] = []
try {
  for (const name of values.samples.split(',').filter((s) => s !== '')) {
    const sample = SAMPLES[name]
    if (sample === undefined) throw new Error(`unknown sample ${name}`)
    const program = join(guests, 'dist', `${sample.guest}.bin`)
    const proved = await proveLocally(prover, {
      program,
      input: join(guests, 'samples', sample.input),
      outDir: join(work, name),
      po2,
    })
    const receipt = await readFile(proved.receiptPath)
    const native: number[] = []
    const wasm: number[] = []
    for (let i = 0; i < runs; i++) {
      native.push(
        (await prover.verify({ receipt: proved.receiptPath, imageId: proved.imageId })).verifyMs,
      )
      started = performance.now()
      verifier.verify(receipt, proved.imageId)
      wasm.push(performance.now() - started)
    }
    const programBytes = await readFile(program)
    started = performance.now()
    verifier.imageId(programBytes)
    const imageIdMs = performance.now() - started
    const row = {
      sample: name,
      segments: proved.execution.segments.length,
      receiptKiB: receipt.length / 1024,
      nativeMs: median(native),
      wasmMs: median(wasm),
      ratio: median(wasm) / Math.max(median(native), 0.001),
      imageIdMs,
    }
    rows.push(row)
    console.log(
      `${name.padEnd(10)} ${String(row.segments).padStart(9)} ${row.receiptKiB.toFixed(0).padStart(12)} ${row.nativeMs.toFixed(1).padStart(10)} ${row.wasmMs.toFixed(1).padStart(8)} ${`${row.ratio.toFixed(2)}x`.padStart(12)} ${imageIdMs.toFixed(1).padStart(17)}`,
    )
  }
} finally {
  await core.close()
  await rm(work, { recursive: true, force: true })
}
if (values.json !== undefined)
  await writeFile(values.json, JSON.stringify({ po2, runs, compileMs, rows }, null, 2))
