// Daemons as users run them: a bootstrap node, a prover, three verifiers (one of them lying about
// every receipt) and a client, each a `wholesum node` process on loopback, driven through the
// client's local API and the CLI. Real libp2p, real risc0 proofs (the one-segment hello guest at
// po2 16), real IPFS CIDs, risc0's verifier in WebAssembly on the verifiers, and every job paid
// through the escrow on a local chain (anvil from npm), each node with its own encrypted key.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { ApiClient, JobEvent } from '@wholesum/api-client'
import { connect, uploadFile } from '@wholesum/api-client/node'
import { REPO_ROOT } from '../core.ts'
import { DaemonDevnet } from '../devnet/daemon-devnet.ts'
import { JobStore } from '../store/index.ts'

const run = promisify(execFile)
const CLI = join(REPO_ROOT, 'app', 'main', 'src', 'cli', 'main.ts')
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const hello = join(guests, 'dist', 'hello.bin')
const helloInput = join(guests, 'samples', 'hello.input')

let dir: string
let net: DaemonDevnet
const VERIFIER_FEE = 2_000_000_000_000n
const COLLATERAL = 1_000_000_000_000_000n
/** What the hello job pays its prover per segment: the devnet prover's asking price (the deal's). */
const PRICE = 1n

async function wholesum(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, WHOLESUM_HOME: net.client.home, WHOLESUM_LOG: 'warn' },
      maxBuffer: 16 << 20,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

async function submitHello(api: ApiClient): Promise<string> {
  const job = await api.submit({
    program: { upload: (await uploadFile(api, 'program', hello)).id },
    input: { upload: (await uploadFile(api, 'input', helloInput)).id },
    po2: 16,
    maxProvers: 1,
  })
  return job.jobId
}

/** Follows a job's events until `until` says stop (or the job ends); returns what it saw. */
async function eventsUntil(
  api: ApiClient,
  jobId: string,
  until: (event: JobEvent) => boolean,
): Promise<JobEvent[]> {
  const seen: JobEvent[] = []
  for await (const event of api.watch(jobId)) {
    seen.push(event)
    if (until(event)) break
  }
  return seen
}

/** The risc0 workers the prover daemon runs right now (it starts one per request after a kill). */
async function workersOf(pid: number): Promise<number> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .split(' ')
    .filter((p) => p.trim() !== '')
  let workers = 0
  for (const child of children) {
    const cmdline = await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes('wholesum-risc0-worker')) workers += 1
  }
  return workers
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wholesum-daemons-'))
  net = await DaemonDevnet.start({
    dir,
    provers: [{}],
    client: {
      offerWindowMs: 1000,
      claimTtlMs: 180_000,
      verification: { count: 3, quorum: 2, waitMs: 60_000 },
    },
    verifiers: [
      { fee: VERIFIER_FEE.toString() },
      { fee: VERIFIER_FEE.toString(), fault: 'says-invalid' },
      { fee: VERIFIER_FEE.toString() },
    ],
    payments: { collateral: COLLATERAL.toString(), claimWindowS: 10, quorum: 2 },
    // Work goes as soon as a job ends; outputs stay (the default).
    clientStorage: { retention: { workHours: 0 } },
  })
})

after(async () => {
  await net?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('daemons on loopback, driven through the API and the CLI', () => {
  let doneJob: string

  test('an estimate before any job: a dry run’s counts, no offers seen yet, no job made, its uploads kept', async () => {
    const api = net.api
    const program = (await uploadFile(api, 'program', hello)).id
    const input = (await uploadFile(api, 'input', helloInput)).id
    const estimate = await api.estimate({
      program: { upload: program },
      input: { upload: input },
      po2: 16,
    })
    assert.equal(
      estimate.imageId,
      (await readFile(join(guests, 'dist', 'hello.imageid'), 'utf8')).trim(),
    )
    assert.equal(estimate.segments, 1)
    assert.deepEqual(estimate.exitCode, { kind: 'halted', code: 0 })
    // hello commits the input's length (4 bytes) and its SHA-256 (32).
    assert.equal(estimate.journalBytes, 36)
    assert.ok(estimate.userCycles > 0 && estimate.totalCycles >= estimate.userCycles)
    assert.equal(estimate.market.offersSeen, 0)
    assert.equal(estimate.maxCost, '1000') // one segment at the default price
    assert.equal(estimate.costLow, undefined)
    assert.match(estimate.notes.join('; '), /no offers seen yet/)
    assert.equal((await api.jobs()).jobs.length, 0, 'an estimate makes no job')
    // The same uploads serve again (for the submission that follows an estimate).
    const again = await api.estimate({
      program: { upload: program },
      input: { upload: input },
      po2: 14,
    })
    assert.ok(again.segments >= estimate.segments, 'a smaller po2 never gives fewer segments')
  })

  test('an estimate of a file that is not a program, or at a po2 the worker cannot prove, is refused clearly', async () => {
    const api = net.api
    const text = (await api.upload('program', new TextEncoder().encode('not a program'))).id
    const input = (await uploadFile(api, 'input', helloInput)).id
    await assert.rejects(
      api.estimate({ program: { upload: text }, input: { upload: input }, po2: 16 }),
      (err: Error & { status?: number }) =>
        err.status !== undefined &&
        err.status >= 400 &&
        err.status < 500 &&
        /ELF|program/.test(err.message),
    )
    const program = (await uploadFile(api, 'program', hello)).id
    await assert.rejects(
      api.estimate({ program: { upload: program }, input: { upload: input }, po2: 40 }),
      /po2 must be/,
    )
    assert.equal((await api.jobs()).jobs.length, 0)
  })

  test('`wholesum submit --wait` gets a receipt that `wholesum verify` accepts', async () => {
    const out = join(dir, 'outputs')
    const submitted = await wholesum(
      'submit',
      hello,
      '--input',
      helloInput,
      '--po2',
      '16',
      '--wait',
      '--out',
      out,
    )
    assert.equal(submitted.code, 0, submitted.stderr)
    doneJob = submitted.stdout.split('\n')[0]!.trim()
    assert.match(doneJob, /^[0-9a-f]{64}$/)
    // Non-TTY progress: one line per event, ending with the finish.
    assert.match(submitted.stderr, /segment 0 proved by .*, receipt verified/)
    assert.match(submitted.stderr, /finished: done/)
    const imageId = (await readFile(join(guests, 'dist', 'hello.imageid'), 'utf8')).trim()
    const verified = await wholesum(
      'verify',
      join(out, 'receipt.bin'),
      '--image-id',
      imageId,
      '--journal',
      join(out, 'journal.bin'),
    )
    assert.equal(verified.code, 0, verified.stderr)
    assert.match(verified.stdout, /receipt verifies: composite, 1 segments/)
    const job = JSON.parse(await readFile(join(out, 'job.json'), 'utf8'))
    assert.equal(job.status, 'done')
    assert.equal(job.imageId, imageId)
    assert.equal(job.segmentStates[0].provedBy, net.provers[0]!.peerId)
  })

  test('the job was paid through the escrow: the prover per segment, the honest verifiers their fee, the liar nothing, the client the rest back, to the wei', async () => {
    const chain = net.chain!
    const address = (name: string) => net.accounts.get(name)!
    const earnings = async (home: string) => (await connect(home)).earnings({ jobId: doneJob })
    const paid = async (home: string, role: string) => {
      const deadline = Date.now() + 60_000
      for (;;) {
        const entry = (await earnings(home)).entries.find((e) => e.role === role)
        if (entry?.status === 'paid') return entry
        if (Date.now() > deadline)
          throw new Error(`${home}: ${role} not paid: ${JSON.stringify(entry)}`)
        await new Promise((r) => setTimeout(r, 500))
      }
    }
    const prover = await paid(net.provers[0]!.home, 'prover')
    assert.equal(prover.segments, 1)
    assert.equal(prover.paidWei, PRICE.toString())
    assert.deepEqual(
      prover.txHashes.map((t) => t.kind),
      ['collateral', 'claim'],
    )
    for (const i of [0, 2]) {
      const verifier = await paid(net.verifiers[i]!.home, 'verifier')
      assert.equal(verifier.paidWei, VERIFIER_FEE.toString())
    }
    assert.equal((await earnings(net.verifiers[1]!.home)).entries.length, 0)

    // Past the claim window (the devnet's chain moves its clock), the client takes back the rest
    // and the prover its collateral.
    await chain.advance(3600 + 60)
    const deadline = Date.now() + 60_000
    let client
    for (;;) {
      client = (await earnings(net.client.home)).entries.find((e) => e.role === 'client')
      const back = (await earnings(net.provers[0]!.home)).entries[0]?.txHashes.some(
        (t) => t.kind === 'collateral-back',
      )
      if (client?.status === 'refunded' && back === true) break
      if (Date.now() > deadline) throw new Error(`not refunded: ${JSON.stringify(client)}`)
      await new Promise((r) => setTimeout(r, 500))
    }
    const out = PRICE + 2n * VERIFIER_FEE
    assert.equal(BigInt(client.earnedWei) - BigInt(client.paidWei), out)

    // Balances to the wei: every account started with 100 ETH.
    const start = 100n * 10n ** 18n
    const balance = async (name: string) => {
      const a = address(name)
      return (await chain.balance(a)) + (await chain.feesPaidBy(a))
    }
    // This is the first job of the devnet: nothing else moved these accounts' money.
    assert.equal(await balance('prover-1'), start + PRICE)
    assert.equal(await balance('verifier-1'), start - 10n ** 18n + VERIFIER_FEE)
    assert.equal(await balance('verifier-2'), start - 10n ** 18n)
    assert.equal(await balance('verifier-3'), start - 10n ** 18n + VERIFIER_FEE)
    assert.equal(await balance('client'), start - out)
  })

  test('three verifiers attest to the receipt: the quorum says valid, and the liar is shown wrong', async () => {
    const api = net.api
    const detail = await api.job(doneJob)
    const byVerifier = new Map(detail.attestations.map((a) => [a.verifier, a]))
    const [honest1, liar, honest2] = net.verifiers.map((v) => v.peerId)
    const events = await eventsUntil(api, doneJob, (e) => e.type === 'finished')
    const said = events
      .filter((e) => ['notice', 'verifiers', 'attestation', 'quorum'].includes(e.type))
      .map((e) => `${e.type} ${JSON.stringify(e.data)}`)
    assert.equal(
      byVerifier.size,
      3,
      `verifiers ${net.verifiers.map((v) => `${v.name} ${v.peerId}`).join(', ')}; events:\n${said.join('\n')}`,
    )
    for (const honest of [honest1!, honest2!]) {
      assert.equal(byVerifier.get(honest)?.verdict, 'valid')
      assert.equal(byVerifier.get(honest)?.agrees, true)
    }
    assert.equal(byVerifier.get(liar!)?.verdict, 'invalid')
    assert.equal(byVerifier.get(liar!)?.agrees, false)
    // Every verifier fetched the same bytes: the digest of the receipt the client stored.
    const receipt = await readFile(join(dir, 'outputs', 'receipt.bin'))
    const digest = createHash('sha256').update(receipt).digest('hex')
    for (const a of detail.attestations) assert.equal(a.receiptDigest, digest)
    const quorum = events.find((e) => e.type === 'quorum')
    assert.ok(quorum !== undefined, 'a quorum event')
    const data = quorum.data as { verdict: string; wrong: string[] }
    assert.equal(data.verdict, 'valid')
    assert.deepEqual(data.wrong, [liar])
  })

  test('an estimate after a job is priced against the offer the prover made for it', async () => {
    const api = net.api
    const job = await api.job(doneJob)
    const ask = BigInt(job.deals[0]!.pricePerSegment)
    const files = async () => ({
      program: { upload: (await uploadFile(api, 'program', hello)).id },
      input: { upload: (await uploadFile(api, 'input', helloInput)).id },
      po2: 16,
    })
    const priced = await api.estimate({
      ...(await files()),
      pricePerSegment: (ask * 10n).toString(),
    })
    assert.equal(priced.market.offersSeen, 1)
    assert.equal(priced.market.eligibleProvers, 1)
    assert.equal(priced.costLow, ask.toString())
    assert.equal(priced.costHigh, ask.toString())
    assert.equal(priced.maxCost, (ask * 10n).toString())
    assert.ok(
      priced.proveSecondsAtLeast === undefined || priced.proveSecondsAtLeast > 0,
      'a time, when the prover reported a speed, is positive',
    )
    if (ask > 0n) {
      const under = await api.estimate({
        ...(await files()),
        pricePerSegment: (ask - 1n).toString(),
      })
      assert.equal(under.market.eligibleProvers, 0)
      assert.match(under.notes.join('; '), /asks more than this price/)
    }
  })

  test('once the job is done its work is released (retention 0 h) and its outputs stay', async () => {
    // The client sweeps soon after a job ends; ask for a pass too, then look.
    await net.api.sweepStorage()
    const storage = await net.api.storage()
    assert.equal(storage.held.work, 0, 'program, input, segment and manifest released')
    assert.equal(storage.held.output, 5, 'receipt, journal, stdout, stderr, events')
    assert.deepEqual(storage.retention, { workHours: 0, outputsDays: null })
    assert.ok(storage.usedBytes !== null && storage.usedBytes > 0)
    const receipt = await net.api.output(doneJob, 'receipt')
    assert.ok(receipt.byteLength > 1000, 'the receipt is still served')
    const folder = join(net.client.home, 'client', 'jobs', doneJob)
    assert.equal(existsSync(join(folder, 'segments')), false, 'segment files deleted')
    assert.equal(existsSync(join(folder, 'program.bin')), false)
    assert.equal(existsSync(join(folder, 'events.jsonl')), true, 'what outputs came from stays')
  })

  test('the job is listed, shown by a prefix of its ID, and its events replay in order, resumable', async () => {
    const listed = await wholesum('jobs', '--json')
    assert.equal(listed.code, 0, listed.stderr)
    assert.ok(JSON.parse(listed.stdout).jobs.some((j: { jobId: string }) => j.jobId === doneJob))
    const shown = await wholesum('job', doneJob.slice(0, 10))
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, new RegExp(`job ${doneJob}  client  done`))

    const all: JobEvent[] = []
    for await (const event of net.api.watch(doneJob)) all.push(event)
    const ids = all.map((e) => e.id)
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'in order',
    )
    assert.equal(new Set(ids).size, ids.length, 'no duplicate')
    assert.equal(all[0]!.type, 'executed')
    assert.equal(all.at(-1)!.type, 'finished')
    const middle = all[Math.floor(all.length / 2)]!.id
    const resumed: JobEvent[] = []
    for await (const event of net.api.watch(doneJob, { after: middle })) resumed.push(event)
    assert.deepEqual(
      resumed,
      all.filter((e) => e.id > middle),
      'a resume misses nothing and repeats nothing',
    )
    const watched = await wholesum('watch', doneJob.slice(0, 12))
    assert.equal(watched.code, 0, watched.stderr)
    assert.match(watched.stdout, /done/)
  })

  test('a job cancelled mid-PROVE stops its prover, whose store records it cancelled', async () => {
    const jobId = await submitHello(net.api)
    const prover = net.provers[0]!
    await eventsUntil(net.api, jobId, (e) => e.type === 'claim')
    // The prover is proving: its worker runs.
    await until('the prover starts its worker', 30_000, async () =>
      (await workersOf(prover.child.pid!)) > 0 ? true : undefined,
    )
    const cancelled = await wholesum('cancel', jobId.slice(0, 12))
    assert.equal(cancelled.code, 0, cancelled.stderr)
    assert.match(cancelled.stdout, /cancelled/)
    // The prover hears the signed cancel, kills its worker and records the job as cancelled.
    await until('the prover stops proving', 30_000, async () =>
      (await workersOf(prover.child.pid!)) === 0 ? true : undefined,
    )
    const proverStore = JobStore.open(join(prover.home, 'jobs.sqlite'))
    try {
      await until('the prover records the cancel', 10_000, async () =>
        proverStore.getJob(jobId)?.status === 'cancelled' ? true : undefined,
      )
    } finally {
      proverStore.close()
    }
    const detail = await net.api.job(jobId)
    assert.equal(detail.status, 'cancelled')
    assert.equal(detail.proved, 0)
    const events = (await net.api.events(jobId)).events
    assert.equal(events.at(-1)!.type, 'finished')
    assert.equal((events.at(-1)!.data as { status: string }).status, 'cancelled')
    assert.ok(!events.some((e) => e.type === 'credit'), 'nothing credited after the cancel')
    // Cancelling again is refused with a reason, not repeated.
    const again = await wholesum('cancel', jobId)
    assert.equal(again.code, 2)
    assert.match(again.stderr, /already cancelled/)
  })

  test('the client daemon killed with SIGKILL mid-job resumes the job from its store and finishes it', async () => {
    const jobId = await submitHello(net.api)
    await eventsUntil(net.api, jobId, (e) => e.type === 'claim')
    await net.killClient()
    await net.restartClient()
    const recorded = await net.api.job(jobId)
    assert.notEqual(recorded.status, 'failed', 'acknowledged, so not lost')
    const events: JobEvent[] = []
    for await (const event of net.api.watch(jobId)) events.push(event)
    assert.ok(
      events.some((e) => e.type === 'resumed'),
      'the restarted client says it resumed',
    )
    assert.equal(events.at(-1)!.type, 'finished')
    assert.deepEqual(events.at(-1)!.data, { status: 'done' })
    const detail = await net.api.job(jobId)
    assert.equal(detail.status, 'done')
    assert.ok(detail.outputs.receipt !== undefined)
    const receipt = await net.api.output(jobId, 'receipt')
    assert.ok(receipt.length > 1000)
  })
})
