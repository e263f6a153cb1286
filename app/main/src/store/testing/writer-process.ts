// A child process for the store's durability tests: writes to a store and acknowledges each write.
//
//   node writer-process.ts crash <file> <jobName> <segments>
//     loops: create a job of 4 segments, credit one segment of <jobName>, append an event,
//     then print `ack <i>`; it never closes the store, and runs until it is killed.
//   node writer-process.ts race <file> <jobName> <segments> <proverName> <up|down>
//     prints `ready`, waits for a line on stdin, then tries to credit every segment of <jobName>
//     to <proverName>, in ascending or descending order,
//     and logs each try as an event; prints the indexes it won as JSON, and exits.

import { writeSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { JobStore } from '../job-store.ts'
import { cidOf, newJob, newSegments, peerId, sha256Hex } from './fixtures.ts'

const [mode, file, jobName, segmentsArg, proverName, order] = process.argv.slice(2)
if (file === undefined || jobName === undefined || segmentsArg === undefined) {
  throw new Error(
    'usage: writer-process.ts crash|race <file> <jobName> <segments> [prover up|down]',
  )
}
const jobId = sha256Hex(`job:${jobName}`)
const segments = Number(segmentsArg)
const store = JobStore.open(file)

if (mode === 'crash') {
  const prover = peerId('crash-writer')
  for (let i = 0; i < 1_000_000; i++) {
    const name = `crash-${i}`
    store.createJob(newJob(name, 4), newSegments(name, 4))
    store.markProved(jobId, i % segments, { receiptCid: cidOf(`receipt:${i}`), prover, at: i })
    store.appendEvent(jobId, 'tick', { i }, i)
    writeSync(1, `ack ${i}\n`)
  }
} else if (mode === 'race' && proverName !== undefined) {
  const prover = peerId(proverName)
  writeSync(1, 'ready\n')
  const lines = createInterface({ input: process.stdin })
  await new Promise<void>((resolve) => lines.once('line', () => resolve()))
  lines.close()
  const won: number[] = []
  for (let i = 0; i < segments; i++) {
    const idx = order === 'down' ? segments - 1 - i : i
    const receiptCid = cidOf(`receipt:${proverName}:${idx}`)
    if (store.markProved(jobId, idx, { receiptCid, prover, at: idx })) won.push(idx)
    store.appendEvent(jobId, 'delivery', { prover: proverName, idx })
  }
  store.close()
  writeSync(1, `${JSON.stringify(won)}\n`)
} else {
  throw new Error(`unknown mode ${String(mode)}`)
}
