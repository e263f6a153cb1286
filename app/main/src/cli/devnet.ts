// `wholesum devnet --provers N --verifiers V`: daemons on loopback (a bootstrap node, N provers, V
// verifiers, a client) and a local chain (anvil) with the escrow, and a sample guest submitted
// through the client's local API, as `wholesum submit` would, with a live segment map; the client
// daemon verifies every segment receipt and the final receipt, a quorum of the verifiers attests
// to it, the job settles on the escrow, and everyone's earnings and balances are printed.

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

/** A verifier's fee and a prover's collateral on the devnet's chain (wei). */
const VERIFIER_FEE = '2000000000000'
const COLLATERAL = '1000000000000000'

interface MoneyRow {
  readonly node: string
  readonly role: string
  readonly account: string
  readonly earnedWei: string
  readonly paidWei: string
  readonly status: string
  readonly reason?: string
  /** What the account holds now less what it started with, gas included (wei). */
  readonly balanceChangeWei: string
}

/**
 * The job's money, once it settled: waits for every payee to claim, moves the devnet chain's clock
 * past the claim window so the client's refund and the provers' collateral come back, and reads
 * each node's earnings ledger through its own API and each account's balance from the chain.
 */
async function settle(
  net: import('../devnet/daemon-devnet.ts').DaemonDevnet,
  jobId: string,
  view: { line(text: string): void },
): Promise<{ rows: MoneyRow[]; table: string }> {
  const chain = net.chain!
  const { connect } = await import('@wholesum/api-client/node')
  const nodes = [...net.provers, ...net.verifiers, net.client]
  const ledger = async (home: string) => (await connect(home)).earnings({ jobId })
  const settled = async (): Promise<boolean> => {
    for (const node of nodes) {
      for (const e of (await ledger(node.home)).entries) {
        if (e.role !== 'client' && !['paid', 'refused', 'unpaid', 'slashed'].includes(e.status))
          return false
      }
    }
    return true
  }
  view.line('waiting for provers and verifiers to claim what they earned')
  for (const until = Date.now() + 120_000; !(await settled()) && Date.now() < until;)
    await new Promise((r) => setTimeout(r, 500))
  view.line("moving the devnet chain's clock past the claim window: refund and collateral")
  await chain.advance(2 * 3600)
  const clientDone = async () =>
    (await ledger(net.client.home)).entries.every((e) => e.status === 'refunded')
  for (const until = Date.now() + 60_000; !(await clientDone()) && Date.now() < until;)
    await new Promise((r) => setTimeout(r, 500))
  // Provers take their collateral back on their next payout round.
  await new Promise((r) => setTimeout(r, 2_000))
  const start = 100n * 10n ** 18n
  const rows: MoneyRow[] = []
  for (const node of nodes) {
    const account = net.accounts.get(node.name)!
    const entries = (await ledger(node.home)).entries
    const balanceChangeWei = ((await chain.balance(account)) - start).toString()
    if (entries.length === 0) {
      rows.push({
        node: node.name,
        role: node.name.replace(/-\d+$/, ''),
        account,
        earnedWei: '0',
        paidWei: '0',
        status: 'not paid',
        reason:
          'not asked to sign the settlement (its verdict contradicted the receipt) or not dealt',
        balanceChangeWei,
      })
    }
    for (const e of entries) {
      rows.push({
        node: node.name,
        role: e.role,
        account,
        earnedWei: e.earnedWei,
        paidWei: e.paidWei,
        status: e.status,
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        balanceChangeWei,
      })
    }
  }
  const eth = (wei: string): string => {
    const n = BigInt(wei)
    const sign = n < 0n ? '-' : ''
    const abs = n < 0n ? -n : n
    return `${sign}${abs / 10n ** 18n}.${(abs % 10n ** 18n).toString().padStart(18, '0')}`
  }
  const lines = [
    'earnings (wei) and balances (ETH, after gas) on the devnet chain:',
    ...rows.map(
      (r) =>
        `  ${r.node.padEnd(11)} ${r.role.padEnd(8)} ${r.account.slice(0, 10)}…  earned ${r.earnedWei.padStart(14)}  paid ${r.paidWei.padStart(14)}  ${r.status.padEnd(9)} balance ${eth(r.balanceChangeWei)}${r.reason !== undefined ? `  (${r.reason})` : ''}`,
    ),
    '  (a client\'s "earned" is the budget it locked, its "paid" what the escrow refunded; a',
    "  verifier's balance includes the 1 ETH bond it keeps registered with the escrow)",
  ]
  return { rows, table: lines.join('\n') }
}

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
    // No chain: the job is verified and attested, and nobody is paid.
    unpaid: { type: 'boolean' },
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
  const explicitPrice = amount(values.price ?? values.reward, '--price')
  const timeoutS = integer(values['timeout-s'], '--timeout-s', { min: 10, max: 30 * 86_400 }, 3600)
  const liar = choice(values.liar, '--liar', PROVER_FAULTS)
  const json = values.json === true
  const unpaid = values.unpaid === true || verifierCount === 0
  // Paid, a segment is worth 0.001 ETH by default: more than a prover's gas for collateral, claim
  // and withdrawal at anvil's gas price (about 160k gas, 0.00025 ETH).
  const price = explicitPrice ?? (unpaid ? '1000' : '1000000000000000')
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
  // Provers ask the job's price, so that what they earn is what the job offers.
  const provers = Array.from(
    { length: count + (liar !== undefined ? 1 : 0) },
    (_, i) =>
      ({
        ...(i === count ? { fault: liar } : {}),
        settings: { minPricePerSegment: price },
      }) as { fault?: typeof liar; settings: { minPricePerSegment: string } },
  )
  const interrupt = onInterrupt()
  try {
    view.line(
      `starting daemons on loopback: a bootstrap node, ${provers.length} prover(s), ${verifierCount} verifier(s), a client`,
    )
    if (!unpaid) view.line('starting a local chain (anvil on loopback) with the escrow contract')
    net = await DaemonDevnet.start({
      dir: out,
      provers,
      verifiers: Array.from({ length: verifierCount }, () => ({ fee: VERIFIER_FEE })),
      ...(verifierCount > 0 ? { client: { verification: { count: verifierCount, quorum } } } : {}),
      ...(!unpaid ? { payments: { collateral: COLLATERAL, claimWindowS: 10, quorum } } : {}),
    })
    if (net.chain !== undefined)
      view.line(`chain ${net.chain.chainId} at ${net.chain.rpcUrl}, escrow ${net.chain.escrow}`)
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
    const money = net.chain !== undefined ? await settle(net, detail.jobId, view) : undefined
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
      ...(money !== undefined ? { earnings: money.rows } : {}),
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
          ...(money !== undefined ? ['', money.table] : []),
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
