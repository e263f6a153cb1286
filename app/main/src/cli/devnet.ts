// `wholesum devnet --provers N --verifiers V`: daemons on loopback (a bootstrap node, N provers, V
// verifiers, a client) and a sample guest submitted through the client's local API, as
// `wholesum submit` would, with a live segment map; the client daemon verifies every segment
// receipt and the final receipt, then asks a quorum of the verifiers to attest to it.

import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DEFAULT_JOB_LIMITS } from '../jobs/limits.ts'
import { amount, choice, existingFile, integer, parseCommand, UsageError } from './args.ts'
import type { CommandRun } from './commands.ts'
import { follow, writeOutputs } from './follow.ts'
import { jobView } from './job-view.ts'
import { onInterrupt } from './interrupt.ts'
import { PROVER_FAULTS } from '../testing/faulty-prover.ts'
import { uploadFile } from '@wholesum/api-client/node'

/** Marks a folder as a devnet's output, so a later run may replace it and nothing else. */
const MARKER = '.wholesum-devnet'

/** `--out` may be absent, empty, or an earlier devnet's; anything else is the user's and stays. */
async function claimOutDir(out: string): Promise<void> {
  let entries: string[]
  try {
    if (!(await stat(out)).isDirectory()) throw new UsageError(`--out ${out} is not a folder`)
    entries = await readdir(out)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    entries = []
  }
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new UsageError(
      `--out ${out} holds files that no devnet made; name an empty or new folder`,
    )
  }
  if (entries.length > 0) await rm(out, { recursive: true, force: true })
  await mkdir(out, { recursive: true })
  await writeFile(
    join(out, MARKER),
    'made by `wholesum devnet`; the next run replaces this folder\n',
  )
}

export const devnet: CommandRun = async (argv) => {
  const { REPO_ROOT } = await import('../core.ts')
  const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
  const { values, positionals } = parseCommand(argv, {
    provers: { type: 'string' },
    verifiers: { type: 'string' },
    quorum: { type: 'string' },
    program: { type: 'string' },
    input: { type: 'string' },
    po2: { type: 'string' },
    out: { type: 'string' },
    price: { type: 'string' },
    // The older name of --price.
    reward: { type: 'string' },
    'timeout-s': { type: 'string' },
    liar: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
  // Everything is checked before anything is started or written.
  const count = integer(values.provers, '--provers', { min: 1, max: 16 }, 3)
  const verifierCount = integer(values.verifiers, '--verifiers', { min: 0, max: 16 }, 3)
  const quorum = integer(
    values.quorum,
    '--quorum',
    { min: 1, max: Math.max(1, verifierCount) },
    Math.floor(verifierCount / 2) + 1,
  )
  const po2 = integer(
    values.po2,
    '--po2',
    { min: DEFAULT_JOB_LIMITS.minPo2, max: DEFAULT_JOB_LIMITS.maxPo2 },
    16,
  )
  const program = await existingFile(
    resolve(values.program ?? join(guests, 'dist', 'hashchain.bin')),
    'program',
  )
  const input = await existingFile(
    resolve(values.input ?? join(guests, 'samples', 'hashchain-small.input')),
    'input',
  )
  const price = amount(values.price ?? values.reward, '--price') ?? '1000'
  const timeoutS = integer(values['timeout-s'], '--timeout-s', { min: 10, max: 30 * 86_400 }, 3600)
  const liar = choice(values.liar, '--liar', PROVER_FAULTS)
  const json = values.json === true
  const out = resolve(values.out ?? join(REPO_ROOT, 'out', 'devnet'))
  await claimOutDir(out)

  const { DaemonDevnet } = await import('../devnet/daemon-devnet.ts')
  let net: import('../devnet/daemon-devnet.ts').DaemonDevnet | undefined
  // Provers are named (prover-1, …) once the devnet knows them.
  const name = (peer: string): string => net?.name(peer) ?? peer.slice(-8)
  const view = jobView(process.stderr, {
    plain: json || !process.stderr.isTTY,
    name,
    ...(process.stderr.columns !== undefined ? { columns: process.stderr.columns } : {}),
  })
  const provers = Array.from({ length: count }, () => ({}) as { fault?: typeof liar })
  if (liar !== undefined) provers.push({ fault: liar })
  const interrupt = onInterrupt()
  try {
    view.line(
      `starting daemons on loopback: a bootstrap node, ${provers.length} prover(s), ${verifierCount} verifier(s), a client`,
    )
    net = await DaemonDevnet.start({
      dir: out,
      provers,
      verifiers: Array.from({ length: verifierCount }, () => ({})),
      ...(verifierCount > 0 ? { client: { verification: { count: verifierCount, quorum } } } : {}),
    })
    view.line(`bootstrap ${net.bootstrap.addresses[0]}`)
    for (const p of [...net.provers, ...net.verifiers]) view.line(`${p.name} ${p.peerId}`)
    view.line(`client ${net.client.peerId}, API ${net.api.baseUrl}`)
    const api = net.api
    const job = await api.submit({
      program: { upload: (await uploadFile(api, 'program', program)).id },
      input: { upload: (await uploadFile(api, 'input', input)).id },
      po2,
      pricePerSegment: price,
      deadlineS: timeoutS,
      maxProvers: provers.length,
    })
    view.line(`submitted job ${job.jobId} through the client's API`)
    const ended = await follow(api, job.jobId, (event) => view.onEvent(event), interrupt.signal)
    view.stop()
    if (ended.status !== 'done') {
      process.stderr.write(
        `job ${job.jobId} ${ended.status}${ended.reason !== undefined ? `: ${ended.reason}` : ''}; node logs in ${out}/*/node.log\n`,
      )
      return 1
    }
    const { job: detail } = await writeOutputs(api, job.jobId, out)
    const credits: Record<string, number> = {}
    for (const s of detail.segmentStates) {
      if (s.provedBy !== undefined) credits[name(s.provedBy)] = (credits[name(s.provedBy)] ?? 0) + 1
    }
    const strikes = Object.fromEntries(
      detail.deals.filter((d) => d.strikes > 0).map((d) => [name(d.prover), d.strikes]),
    )
    const attestations = detail.attestations.map((a) => ({
      verifier: name(a.verifier),
      verdict: a.verdict,
      ...(a.agrees !== undefined ? { agrees: a.agrees } : {}),
      ...(a.reason !== undefined ? { reason: a.reason } : {}),
    }))
    const summary = {
      jobId: detail.jobId,
      imageId: detail.imageId,
      segments: detail.segments,
      receipt: join(out, 'receipt.bin'),
      outputs: detail.outputs,
      manifest: detail.manifestCid,
      credits,
      strikes,
      attestations,
      cost: detail.cost,
      elapsedMs: detail.timings.elapsedMs,
    }
    if (json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
    else {
      const list = (o: Record<string, number>) =>
        Object.entries(o)
          .map(([p, n]) => `${p}: ${n}`)
          .join(', ')
      process.stdout.write(
        [
          `job ${detail.jobId}: ${detail.segments} segments proved by the network, receipt verified by the client`,
          `  receipt  ${summary.receipt}  (${detail.outputs.receipt})`,
          `  journal  ${detail.outputs.journal}   stdout ${detail.outputs.stdout}   stderr ${detail.outputs.stderr}`,
          `  events   ${detail.outputs.events}   manifest ${detail.manifestCid}`,
          `  credits  ${list(credits)}`,
          ...(Object.keys(strikes).length > 0 ? [`  struck   ${list(strikes)}`] : []),
          ...(verifierCount > 0
            ? [
                `  attested ${
                  attestations.length === 0
                    ? `by no verifier (a quorum of ${quorum} was asked for)`
                    : attestations
                        .map(
                          (a) =>
                            `${a.verifier}: ${a.verdict}${a.agrees === false ? ' (WRONG)' : ''}`,
                        )
                        .join(', ')
                }`,
              ]
            : []),
          `  cost     ${detail.cost} (price ${detail.rewardPerSegment} per segment)`,
          `  time     ${(detail.timings.elapsedMs / 1000).toFixed(1)} s from submission to receipt`,
        ].join('\n') + '\n',
      )
    }
    return 0
  } catch (err) {
    if (interrupt.signal.aborted) {
      process.stderr.write(`devnet stopped; its homes and node logs are in ${out}\n`)
      return 130
    }
    throw err
  } finally {
    view.stop()
    interrupt.done()
    await net?.stop()
  }
}
