// Real receipts for the tests: the sample guest `hello` proved by the risc0 worker that setup
// builds (as packages/receipt-verifier's tests do). Proving takes most of a minute on a small
// machine, so the receipt is kept in the build cache, under a key made of the worker binary, the
// program and its input: a rebuilt worker (another risc0 version) proves afresh.

import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { locateWorker } from '@wholesum/prover-risc0'
import { openCore, REPO_ROOT } from '../../../../app/main/src/core.ts'
import { proveLocally } from '../../../../app/main/src/jobs/local-prove.ts'

export interface ProvedReceipt {
  /** A composite receipt of one segment, in risc0's bincode form. */
  readonly receipt: Uint8Array
  readonly imageId: string
  readonly journal: Uint8Array
  readonly claimDigest: string
}

interface Facts {
  readonly imageId: string
  readonly journalHex: string
  readonly claimDigest: string
}

const GUESTS = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const PROGRAM = join(GUESTS, 'dist', 'hello.bin')
const INPUT = join(GUESTS, 'samples', 'hello.input')

/** `hello` proved at po2 16: from the cache when this worker proved it before, else proved now. */
export async function proveHello(): Promise<ProvedReceipt> {
  const worker = await locateWorker(undefined)
  const key = createHash('sha256')
  for (const file of [worker, PROGRAM, INPUT]) key.update(await readFile(file))
  const cache = join(
    process.env['WHOLESUM_CACHE'] ?? join(homedir(), '.cache', 'wholesum'),
    'test-receipts',
  )
  const stem = join(cache, `hello-${key.digest('hex').slice(0, 32)}`)
  try {
    const facts = JSON.parse(await readFile(`${stem}.json`, 'utf8')) as Facts
    return {
      receipt: await readFile(`${stem}.receipt`),
      imageId: facts.imageId,
      journal: Buffer.from(facts.journalHex, 'hex'),
      claimDigest: facts.claimDigest,
    }
  } catch {
    // not proved yet (or a partial entry): prove it
  }
  const proved = await prove()
  await mkdir(cache, { recursive: true })
  const facts: Facts = {
    imageId: proved.imageId,
    journalHex: Buffer.from(proved.journal).toString('hex'),
    claimDigest: proved.claimDigest,
  }
  // The facts file is written last, by rename: its presence means the receipt beside it is whole.
  const partial = `${stem}.${process.pid}.partial`
  await writeFile(partial, proved.receipt)
  await rename(partial, `${stem}.receipt`)
  await writeFile(partial, JSON.stringify(facts))
  await rename(partial, `${stem}.json`)
  return proved
}

async function prove(): Promise<ProvedReceipt> {
  const work = await mkdtemp(join(tmpdir(), 'wholesum-verifier-test-'))
  const core = await openCore({ home: join(work, 'home') })
  try {
    const result = await proveLocally(await core.prover(), {
      program: PROGRAM,
      input: INPUT,
      outDir: join(work, 'hello'),
      po2: 16,
    })
    return {
      receipt: await readFile(result.receiptPath),
      imageId: result.imageId,
      journal: result.verification.journal,
      claimDigest: result.verification.claimDigest,
    }
  } finally {
    await core.close()
    await rm(work, { recursive: true, force: true })
  }
}
