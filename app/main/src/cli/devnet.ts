// `wholesum devnet --provers N`: a bootstrap node, N prover processes and a client on loopback
// prove a sample guest end to end, with a live segment map; the client verifies the final receipt.

import { copyFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { openCore, REPO_ROOT } from '../core.ts'
import { Devnet, type DevnetProverSpec } from '../devnet/devnet.ts'
import { createLogger, parseLogLevel } from '../log/logger.ts'
import type { ClientEvent } from '../net/client-service.ts'
import { devnetView } from './devnet-view.ts'

const GUESTS = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')

export async function devnet(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      provers: { type: 'string', default: '3' },
      program: { type: 'string' },
      input: { type: 'string' },
      po2: { type: 'string', default: '16' },
      out: { type: 'string' },
      reward: { type: 'string', default: '1000' },
      'timeout-s': { type: 'string', default: '3600' },
      liar: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  const count = Number(values.provers)
  if (!Number.isInteger(count) || count < 1 || count > 16) {
    throw new RangeError(`--provers must be 1..16, got ${values.provers}`)
  }
  const po2 = Number(values.po2)
  const out = resolve(values.out ?? join(REPO_ROOT, 'out', 'devnet'))
  const program = resolve(values.program ?? join(GUESTS, 'dist', 'hashchain.bin'))
  const input = resolve(values.input ?? join(GUESTS, 'samples', 'hashchain-small.input'))
  const liar = values.liar
  if (liar !== undefined && liar !== 'corrupt' && liar !== 'wrong-segment') {
    throw new RangeError(`--liar must be corrupt or wrong-segment, got ${liar}`)
  }
  await rm(out, { recursive: true, force: true })

  const logger = createLogger({ level: parseLogLevel(process.env['WHOLESUM_LOG'] ?? 'warn') })
  const core = await openCore({ home: join(out, 'client'), logger })
  const view = devnetView(process.stderr, values.json === true || !process.stderr.isTTY)
  const provers: DevnetProverSpec[] = Array.from({ length: count }, () => ({}))
  if (liar !== undefined) provers.push({ fault: liar })
  let net: Devnet | undefined
  try {
    const prover = await core.prover()
    view.line(`starting a bootstrap node and ${provers.length} prover process(es) on loopback`)
    net = await Devnet.start({ dir: out, provers, clientProver: prover, logger })
    view.line(`bootstrap ${net.bootstrap.addresses[0]}`)
    for (const p of net.provers) view.line(`${p.name} ${p.peerId}`)
    view.line(`client ${net.clientNode.peerId}`)
    const outcome = await net.client.submit({
      program,
      input,
      po2,
      rewardPerSegment: BigInt(values.reward),
      timeoutMs: Number(values['timeout-s']) * 1000,
      maxProvers: provers.length,
      onEvent: (event: ClientEvent) => view.onEvent(event, net!),
    })
    view.stop()
    const names = new Map(net.provers.map((p) => [p.peerId, p.name]))
    const summary = {
      jobId: outcome.jobId,
      imageId: outcome.imageId,
      segments: outcome.segments,
      receipt: outcome.receiptPath,
      cids: outcome.cids,
      credits: Object.fromEntries([...outcome.credits].map(([p, n]) => [names.get(p) ?? p, n])),
      strikes: Object.fromEntries([...outcome.strikes].map(([p, n]) => [names.get(p) ?? p, n])),
      timings: outcome.timings,
    }
    // The outputs, where a user looks first; the job's whole directory stays under client/jobs.
    await copyFile(outcome.receiptPath, join(out, 'receipt.bin'))
    await copyFile(outcome.journalPath, join(out, 'journal.bin'))
    await writeFile(join(out, 'job.json'), JSON.stringify(summary, null, 2) + '\n')
    if (values.json === true) process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
    else {
      process.stdout.write(
        [
          `job ${outcome.jobId}: ${outcome.segments} segments proved by the network, receipt verified by the client`,
          `  receipt  ${outcome.receiptPath}  (${outcome.cids.receipt})`,
          `  journal  ${outcome.cids.journal}   stdout ${outcome.cids.stdout}   stderr ${outcome.cids.stderr}`,
          `  events   ${outcome.cids.events}   manifest ${outcome.cids.manifest}`,
          `  credits  ${Object.entries(summary.credits)
            .map(([p, n]) => `${p}: ${n}`)
            .join(', ')}`,
          ...(outcome.strikes.size > 0
            ? [
                `  struck   ${Object.entries(summary.strikes)
                  .map(([p, n]) => `${p}: ${n}`)
                  .join(', ')}`,
              ]
            : []),
          `  time     execute ${(outcome.timings.executeMs / 1000).toFixed(1)} s, network ${(outcome.timings.networkMs / 1000).toFixed(1)} s, total ${(outcome.timings.totalMs / 1000).toFixed(1)} s`,
        ].join('\n') + '\n',
      )
    }
    return 0
  } finally {
    view.stop()
    await net?.stop()
    await core.close()
  }
}
