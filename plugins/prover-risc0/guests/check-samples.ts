// Executes the sample guests with the Rust worker (no proving) and checks each journal against
// samples/expected.json; prints cycle counts and segment counts. Needs scripts/build-guests.sh to
// have wrapped the guests (dist/manifest.json with image IDs).
//
//   node plugins/prover-risc0/guests/check-samples.ts [--po2 N] [--skip-large]
//     [--worker PATH]
//
// Also runs the edge cases: hello on empty input (must succeed), hashchain on a short input and
// l2-batch on a truncated batch (must fail in the guest).

import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = fileURLToPath(new URL('.', import.meta.url))
const { values: args } = parseArgs({
  options: {
    // Default: each sample's own po2 from samples/expected.json; edge cases run at 14.
    po2: { type: 'string' },
    'skip-large': { type: 'boolean', default: false },
    worker: {
      type: 'string',
      default: join(homedir(), '.cache/wholesum/cargo-target/release/wholesum-risc0-worker'),
    },
  },
})

interface ManifestGuest {
  name: string
  program: string | null
  imageId: string | null
}
const manifest = JSON.parse(readFileSync(join(here, 'dist/manifest.json'), 'utf8')) as {
  guests: ManifestGuest[]
}
const expected = JSON.parse(readFileSync(join(here, 'samples/expected.json'), 'utf8')) as Record<
  string,
  { guest: string; journal: string; po2: number }
>

const worker = spawn(args.worker, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] })
let buffered = Buffer.alloc(0)
const waiting = new Map<number, (frame: Record<string, unknown>) => void>()
worker.stdout.on('data', (chunk: Buffer) => {
  buffered = Buffer.concat([buffered, chunk])
  while (buffered.length >= 4) {
    const len = buffered.readUInt32BE(0)
    if (buffered.length < 4 + len) break
    const frame = JSON.parse(buffered.subarray(4, 4 + len).toString('utf8'))
    buffered = buffered.subarray(4 + len)
    if (frame.event !== undefined) continue // progress events (ready, segment)
    waiting.get(frame.id)?.(frame)
    waiting.delete(frame.id)
  }
})
let nextId = 1
function request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = nextId++
  const bytes = Buffer.from(JSON.stringify({ id, ...body }))
  const len = Buffer.alloc(4)
  len.writeUInt32BE(bytes.length)
  worker.stdin.write(Buffer.concat([len, bytes]))
  return new Promise((resolve) => waiting.set(id, resolve))
}

const work = mkdtempSync(join(tmpdir(), 'wholesum-guests-'))
let failures = 0
async function execute(guest: string, input: string, po2: number) {
  const g = manifest.guests.find((x) => x.name === guest)
  if (!g?.program) throw new Error(`${guest} is not wrapped in dist/ (run scripts/build-guests.sh)`)
  const outDir = join(work, `${guest}-${nextId}`)
  const reply = await request({
    op: 'execute',
    program: join(here, 'dist', g.program),
    input,
    po2,
    outDir,
  })
  const result = reply.result as Record<string, unknown> | undefined
  let journal = ''
  let logs = ''
  if (result) {
    journal = readFileSync(result.journalPath as string).toString('hex')
    const out = readFileSync(result.stdoutPath as string, 'utf8').trim()
    const err = readFileSync(result.stderrPath as string, 'utf8').trim()
    logs = `stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)}`
  }
  rmSync(outDir, { recursive: true, force: true })
  return { reply, result, journal, logs }
}

for (const [file, exp] of Object.entries(expected)) {
  if (args['skip-large'] && file.includes('large')) continue
  const po2 = args.po2 === undefined ? exp.po2 : Number(args.po2)
  const { reply, result, journal, logs } = await execute(
    exp.guest,
    join(here, 'samples', file),
    po2,
  )
  if (!result) {
    failures++
    console.log(`FAIL ${file}: ${JSON.stringify(reply.error)}`)
    continue
  }
  const ok = journal === exp.journal
  if (!ok) failures++
  const segments = (result.segments as unknown[]).length
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${file} (${exp.guest}, po2 ${po2}): user ${result.userCycles} cycles, ` +
      `total ${result.totalCycles}, ${segments} segments, ${result.executeMs} ms; ${logs}` +
      (ok ? '' : `\n     journal ${journal}\n     expected ${exp.journal}`),
  )
}

// Edge cases.
const empty = join(work, 'empty.input')
writeFileSync(empty, new Uint8Array(0))
const short = join(work, 'short.input')
writeFileSync(short, new Uint8Array(35))
const truncated = join(work, 'truncated.input')
writeFileSync(truncated, readFileSync(join(here, 'samples/l2-batch.input')).subarray(0, 100))
for (const [guest, input, shouldPass] of [
  ['hello', empty, true],
  ['hashchain', short, false],
  ['l2-batch', truncated, false],
] as const) {
  const { reply, result, logs } = await execute(guest, input, Number(args.po2 ?? 14))
  const ok = (result !== undefined) === shouldPass
  if (!ok) failures++
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${guest} on ${input.split('/').pop()}: ` +
      (result ? `exit ${JSON.stringify(result.exitCode)}; ${logs}` : JSON.stringify(reply.error)),
  )
}

worker.stdin.end()
rmSync(work, { recursive: true, force: true })
process.exitCode = failures === 0 ? 0 : 1
