// Benchmark: the gas a whole job costs on the escrow, on a real EVM (anvil), as a ratio to a
// baseline run on the same chain: paying every segment in its own transaction (the client's
// acceptance shown on chain, one per segment). The design: one settlement (a Merkle root signed by
// the client and the verifier quorum) and one claim per payee, whatever the segment count. Also
// shown: the dispute path batched, each prover showing all its acceptances in one transaction.
//
// usage: node bench/escrow-gas.ts [--cases 3x1,3x3,100x10,1204x10,1204x100] [--quorum 2] [--json out.json]

import { writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import type { HDAccount } from 'viem/accounts'
import {
  jobKeyOf,
  quorumSignatures,
  settlementTree,
  signAcceptance,
  signSettlement,
} from '../packages/escrow/src/index.ts'
import { LocalChain } from '../packages/escrow/src/testing/local-chain.ts'

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '3x1,3x3,100x10,1204x10,1204x100' },
    quorum: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
})
const cases = values.cases.split(',').map((c) => {
  const [segments, provers] = c.split('x').map(Number)
  if (!Number.isInteger(segments) || !Number.isInteger(provers) || segments! < provers!) {
    throw new Error(`--cases: ${c} is not SEGMENTSxPROVERS with at least one segment per prover`)
  }
  return { segments: segments!, provers: provers! }
})
const quorum = Number(values.quorum)
const HOUR = 3600
const PRICE = 1_000_000n
const FEE = 100_000n
const COLLATERAL = 500_000n
const maxProvers = Math.max(...cases.map((c) => c.provers))

const chain = await LocalChain.start(
  { minQuorum: quorum, minVerifierBond: 1n, minClaimWindowS: HOUR, retireDelayS: HOUR },
  2 + quorum + maxProvers,
)
const [, client, ...rest] = chain.accounts as HDAccount[]
const verifiers = rest.slice(0, quorum)
const provers = rest.slice(quorum)
for (const v of verifiers) await chain.send(v, 'registerVerifier', [], { value: 1n })

/** Gas of the calls sent while `run` runs. */
async function gasOf(run: () => Promise<void>): Promise<bigint> {
  const before = [...chain.gas.values()].flat().reduce((a, b) => a + b, 0n)
  await run()
  return [...chain.gas.values()].flat().reduce((a, b) => a + b, 0n) - before
}

async function openJob(segments: number, dealt: HDAccount[]): Promise<Hex> {
  const jobId: Hex = `0x${randomBytes(32).toString('hex')}`
  const terms = {
    jobId,
    deadline: (await chain.now()) + BigInt(HOUR),
    claimWindow: BigInt(HOUR),
    segments,
    quorum,
    pricePerSegment: PRICE,
    verifierFee: FEE,
    verifiers: verifiers.map((v) => v.address),
  }
  const budget = BigInt(segments) * PRICE + BigInt(quorum) * FEE
  await chain.send(client!, 'openJob', [terms], { value: budget })
  const jobKey = jobKeyOf(client!.address, jobId)
  for (const p of dealt) await chain.send(p, 'postCollateral', [jobKey], { value: COLLATERAL })
  return jobKey
}

/** Segment i is proved by prover i mod n: the client's acceptances, per prover. */
async function acceptances(jobKey: Hex, segments: number, dealt: HDAccount[]) {
  const byProver = new Map<HDAccount, { segment: number; signature: Hex }[]>()
  for (let segment = 0; segment < segments; segment++) {
    const prover = dealt[segment % dealt.length]!
    const signature = await signAcceptance(client!, chain.domain, {
      jobKey,
      segment,
      prover: prover.address,
      amount: PRICE,
    })
    byProver.set(prover, [...(byProver.get(prover) ?? []), { segment, signature }])
  }
  return byProver
}

interface Row {
  segments: number
  provers: number
  settlement: { total: bigint; settle: bigint; claimEach: bigint; transactions: number }
  perSegment: { total: bigint; transactions: number }
  batchedAcceptances: { total: bigint; transactions: number }
}

async function finish(jobKey: Hex, dealt: HDAccount[]): Promise<void> {
  // An unsettled job's claims close a claim window after its deadline.
  await chain.advance(2 * HOUR + 1)
  await chain.send(client!, 'refund', [jobKey])
  for (const p of dealt) await chain.send(p, 'withdrawCollateral', [jobKey])
}

const rows: Row[] = []
for (const { segments, provers: n } of cases) {
  const dealt = provers.slice(0, n)
  // The design: one root, one claim per payee.
  let settle = 0n
  let claims = 0n
  const settlementTotal = await gasOf(async () => {
    const jobKey = await openJob(segments, dealt)
    const payouts = dealt.map((p, i) => ({
      payee: p.address,
      amount: BigInt(Math.floor(segments / n) + (i < segments % n ? 1 : 0)) * PRICE,
    }))
    const tree = settlementTree([
      ...payouts,
      ...verifiers.map((v) => ({ payee: v.address, amount: FEE })),
    ])
    const message = {
      jobKey,
      root: tree.root,
      total: tree.total,
      receiptDigest: `0x${'11'.repeat(32)}` as Hex,
      journalDigest: `0x${'22'.repeat(32)}` as Hex,
    }
    const signatures = await quorumSignatures(verifiers, (v) =>
      signSettlement(v, chain.domain, message),
    )
    settle = (
      await chain.send(client!, 'settle', [
        jobKey,
        message.root,
        message.total,
        message.receiptDigest,
        message.journalDigest,
        await signSettlement(client!, chain.domain, message),
        signatures,
      ])
    ).gasUsed
    claims = await gasOf(async () => {
      for (const { payee } of tree.payouts) {
        const { amount, proof } = tree.proof(payee)
        await chain.send(client!, 'claim', [jobKey, payee, amount, proof])
      }
    })
    await finish(jobKey, dealt)
  })

  // The baseline: every segment paid by its own transaction.
  const perSegmentTotal = await gasOf(async () => {
    const jobKey = await openJob(segments, dealt)
    for (const [prover, list] of await acceptances(jobKey, segments, dealt)) {
      for (const a of list) {
        await chain.send(prover, 'claimAccepted', [
          jobKey,
          prover.address,
          [a.segment],
          [PRICE],
          [a.signature],
        ])
      }
    }
    await finish(jobKey, dealt)
  })

  // The dispute path, batched: each prover shows all its acceptances at once.
  const batchedTotal = await gasOf(async () => {
    const jobKey = await openJob(segments, dealt)
    for (const [prover, list] of await acceptances(jobKey, segments, dealt)) {
      await chain.send(prover, 'claimAccepted', [
        jobKey,
        prover.address,
        list.map((a) => a.segment),
        list.map(() => PRICE),
        list.map((a) => a.signature),
      ])
    }
    await finish(jobKey, dealt)
  })

  const payees = n + quorum
  rows.push({
    segments,
    provers: n,
    settlement: {
      total: settlementTotal,
      settle,
      claimEach: claims / BigInt(payees),
      transactions: 1 + n + 1 + payees + 1 + n,
    },
    perSegment: { total: perSegmentTotal, transactions: 1 + n + segments + 1 + n },
    batchedAcceptances: { total: batchedTotal, transactions: 1 + n + n + 1 + n },
  })
}
await chain.stop()

const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU'
console.log(
  `escrow-gas: whole jobs on anvil (cancun), quorum ${quorum}, ${cpus().length} cores (${cpu})`,
)
console.log(
  'a job = open + collateral per prover + payouts + refund + collateral back; ratio = gas / per-segment baseline',
)
const pad = (s: string | number | bigint, n: number) => String(s).padStart(n)
console.log(
  `${pad('segments', 8)} ${pad('provers', 7)} | ${pad('per-segment txs', 15)} ${pad('gas', 11)} | ${pad('root: gas', 11)} ${pad('ratio', 6)} ${pad('settle', 7)} ${pad('claim', 6)} | ${pad('batched acceptances', 19)} ${pad('ratio', 6)}`,
)
for (const r of rows) {
  const ratio = (x: bigint) => (Number(x) / Number(r.perSegment.total)).toFixed(3)
  console.log(
    `${pad(r.segments, 8)} ${pad(r.provers, 7)} | ${pad(r.perSegment.transactions, 15)} ${pad(r.perSegment.total, 11)} | ${pad(r.settlement.total, 11)} ${pad(ratio(r.settlement.total), 6)} ${pad(r.settlement.settle, 7)} ${pad(r.settlement.claimEach, 6)} | ${pad(r.batchedAcceptances.total, 19)} ${pad(ratio(r.batchedAcceptances.total), 6)}`,
  )
}
if (values.json !== undefined) {
  await writeFile(
    values.json,
    JSON.stringify(rows, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2),
  )
}
