// Jobs paid through the escrow: the client, provers and verifiers running the real services on the
// in-memory wire (the receipt double stands in for risc0), each with its own payments plugin and
// encrypted key on a real chain (anvil from npm, the escrow deployed). Balances checked to the wei.

import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Address } from '@wholesum/plugin-api'
import { feesPaidBy } from '@wholesum/escrow'
import { createEvmPayments, type EvmPayments } from '@wholesum/payments-evm'
import { LocalChain } from '../../../../packages/escrow/src/testing/local-chain.ts'
import { REPO_ROOT } from '../core.ts'
import { createLogger } from '../log/logger.ts'
import { MemoryNetwork } from '../testing/memory-wire.ts'
import { MemoryStorage } from '../testing/memory-storage.ts'
import { doubleChecker, ReceiptDouble } from '../testing/receipt-double.ts'
import { JobStore, type EarningRecord } from '../store/index.ts'
import { ClientPayments } from './client-payments.ts'
import { ClientService, type JobOutcome } from './client-service.ts'
import { PayeePayments } from './payee-payments.ts'
import { ProverService } from './prover-service.ts'
import { proverSettings } from './prover-settings.ts'
import { VerifierService, type VerifierFault } from './verifier-service.ts'
import type { MemoryWire } from '../testing/memory-wire.ts'

const PROGRAM = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests', 'dist', 'hello.bin')
const SEGMENTS = 6
const ETH = 10n ** 18n
const BOND = ETH
const PRICE = 1_000_000_000_000n
const FEE = 300_000_000_000n
const COLLATERAL = 5_000_000_000_000n
const CLAIM_WINDOW_S = 60

interface Party {
  readonly wire: MemoryWire
  readonly pay: EvmPayments
  readonly jobs: JobStore
}

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('jobs paid through the escrow (in-memory wire, anvil)', () => {
  let dir: string
  let chain: LocalChain
  const stops: (() => Promise<void> | void)[] = []
  const logger = createLogger({
    level: process.env['TEST_LOG'] === '1' ? 'info' : 'error',
    stream: process.env['TEST_LOG'] === '1' ? process.stderr : { write: () => true },
  })
  const start = new Map<string, bigint>()

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wholesum-payments-'))
  })
  after(async () => {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })

  async function account(name: string): Promise<EvmPayments> {
    const payments = await createEvmPayments({
      rpcUrl: chain.anvil.rpcUrl,
      chainId: chain.anvil.chainId,
      escrow: chain.escrow,
      keystoreFile: join(dir, `${name}.key.json`),
      password: 'devnet',
      pollingIntervalMs: 50,
      newKeyScryptN: 1024,
    })
    await chain.testClient.setBalance({ address: payments.account, value: 100n * ETH })
    start.set(payments.account, 100n * ETH)
    return payments
  }

  function store(name: string): JobStore {
    const s = JobStore.open(join(dir, `${name}.sqlite`))
    stops.push(() => s.close())
    return s
  }

  async function payee(
    wire: MemoryWire,
    payments: EvmPayments,
    jobs: JobStore,
  ): Promise<PayeePayments> {
    const p = new PayeePayments({
      payments,
      store: jobs,
      wire,
      peerKey: keys.get(wire.peerId)!,
      logger,
      pollMs: 200,
      settleGraceMs: 5_000,
    })
    p.start()
    stops.push(() => p.stop())
    return p
  }

  const keys = new Map<string, Awaited<ReturnType<typeof generateKeyPair>>>()
  let runs = 0

  /** A node's wire, with a key the test keeps (its payee binding is signed with it). */
  async function joined(net: MemoryNetwork): Promise<MemoryWire> {
    const key = await generateKeyPair('Ed25519')
    const wire = await net.join(logger, Date.now, key)
    keys.set(wire.peerId, key)
    return wire
  }

  /**
   * Two provers, three registered verifiers (the second lying about every receipt) and a client,
   * each with its own account, and one six-segment job run to its end.
   */
  async function paidJob(
    options: { leaveOutFirstProver?: boolean; forgeFirstProversLeaf?: boolean } = {},
  ) {
    const run = `run-${++runs}`
    // A chain of its own: a test that moves the chain's clock leaves the next one untouched.
    chain = await LocalChain.start({
      minQuorum: 2,
      minVerifierBond: BOND,
      minClaimWindowS: CLAIM_WINDOW_S,
      retireDelayS: 3600,
    })
    const ownChain = chain
    stops.push(() => ownChain.stop())
    const net = new MemoryNetwork()
    const storage = new MemoryStorage()

    const provers: Party[] = []
    for (const name of ['prover-a', 'prover-b']) {
      const pay = await account(`${run}-${name}`)
      const jobs = store(`${run}-${name}`)
      const wire = await joined(net)
      const service = new ProverService({
        wire,
        storage,
        store: jobs,
        prover: new ReceiptDouble({ segments: SEGMENTS, proveMs: 30 }),
        settings: proverSettings(
          { minPricePerSegment: Number(PRICE), maxConcurrentSegments: 1, hz: 100_000 },
          { recursion: false, accelerator: 'cpu' },
        ),
        logger,
        workDir: join(dir, run, name),
        tickMs: 50,
        payments: await payee(wire, pay, jobs),
      })
      service.start()
      stops.push(() => service.stop())
      provers.push({ wire, pay, jobs })
    }

    const verifiers: Party[] = []
    for (const [i, fault] of (
      [undefined, 'says-invalid', undefined] as (VerifierFault | undefined)[]
    ).entries()) {
      const pay = await account(`${run}-verifier-${i + 1}`)
      await pay.registerVerifier(BOND)
      const jobs = store(`${run}-verifier-${i + 1}`)
      const wire = await joined(net)
      const collector = await payee(wire, pay, jobs)
      const service = new VerifierService({
        wire,
        storage,
        checker: doubleChecker(SEGMENTS),
        logger,
        fee: FEE,
        adIntervalMs: 200,
        ...(fault !== undefined ? { fault } : {}),
        payments: {
          payee: await collector.payee(),
          signer: pay,
          onSigned: (jobId, jobKey, from, fee) => collector.signed(jobId, jobKey, from, fee),
        },
      })
      await service.start()
      stops.push(() => service.stop())
      verifiers.push({ wire, pay, jobs })
    }

    const clientPay = await account(`${run}-client`)
    const clientStore = store(`${run}-client`)
    const clientWire = await joined(net)
    const clientPayments = new ClientPayments({
      payments: clientPay,
      store: clientStore,
      logger,
      self: clientWire.peerId,
      policy: {
        verifiers: 3,
        quorum: 2,
        collateral: COLLATERAL,
        claimWindowS: CLAIM_WINDOW_S,
        waitMs: 10_000,
        refundPollMs: 200,
      },
      ...(options.leaveOutFirstProver === true
        ? { omitFromSettlement: provers[0]!.wire.peerId }
        : {}),
      ...(options.forgeFirstProversLeaf === true ? { forgeLeafOf: provers[0]!.wire.peerId } : {}),
    })
    clientPayments.start()
    stops.push(() => clientPayments.stop())
    const client = new ClientService({
      wire: clientWire,
      storage,
      prover: new ReceiptDouble({ segments: SEGMENTS, proveMs: 5 }),
      logger,
      workDir: join(dir, run, 'client'),
      store: clientStore,
      offerWindowMs: 300,
      bitfieldIntervalMs: 100,
      tickMs: 50,
      payments: clientPayments,
      verification: { count: 3, quorum: 2, timeoutMs: 10_000 },
    })
    await client.start()
    stops.push(() => client.stop())

    const input = join(dir, `${run}-input.bin`)
    await writeFile(input, `pay for this (${run})`)
    const outcome: JobOutcome = await client.submit({
      program: PROGRAM,
      input,
      po2: 16,
      rewardPerSegment: PRICE,
      timeoutMs: 60_000,
      maxProvers: 2,
    })
    const credits = provers.map((p) => outcome.credits.get(p.wire.peerId) ?? 0)
    assert.equal(credits[0]! + credits[1]!, SEGMENTS)
    const row = (
      jobs: JobStore,
      role: 'prover' | 'verifier' | 'client',
    ): EarningRecord | undefined => jobs.getEarnings({ jobId: outcome.jobId, role })[0]
    const paidRow = (what: string, jobs: JobStore, role: 'prover' | 'verifier') =>
      until(`${what} paid`, 30_000, () => {
        const r = row(jobs, role)
        return r?.status === 'paid' ? r : undefined
      })
    return { clientPay, clientStore, provers, verifiers, outcome, credits, row, paidRow }
  }

  test(
    'provers are paid per accepted segment, honest verifiers their fee, the liar nothing, the client the rest back',
    { timeout: 180_000 },
    async () => {
      const { clientPay, clientStore, provers, verifiers, outcome, credits, row, paidRow } =
        await paidJob()
      // Each prover claims its leaf of the settlement.
      for (const [i, p] of provers.entries()) {
        if (credits[i] === 0) continue
        const paid = await paidRow(`prover ${i}`, p.jobs, 'prover')
        assert.equal(paid.segments, credits[i])
        assert.equal(paid.earnedWei, (BigInt(credits[i]!) * PRICE).toString())
        assert.equal(paid.paidWei, paid.earnedWei)
        assert.deepEqual(
          paid.txHashes.map((t) => t.kind),
          ['collateral', 'claim'],
        )
      }
      // The honest verifiers are paid their fee; the liar was not asked to sign, and is owed nothing.
      for (const v of [verifiers[0]!, verifiers[2]!]) {
        const paid = await paidRow('verifier', v.jobs, 'verifier')
        assert.equal(paid.paidWei, FEE.toString())
      }
      assert.equal(row(verifiers[1]!.jobs, 'verifier'), undefined)
      const lie = clientStore
        .getAttestations(outcome.jobId)
        .find((a) => a.verifier === verifiers[1]!.wire.peerId)
      assert.equal(lie?.verdict, 'invalid')
      assert.equal(lie?.agrees, false)

      // After the claim window the client takes back the rest, and the provers their collateral.
      await chain.advance(60 + CLAIM_WINDOW_S + 5)
      const refunded = await until('client refunded', 30_000, () => {
        const r = row(clientStore, 'client')
        return r?.status === 'refunded' ? r : undefined
      })
      for (const p of provers) {
        await until('collateral back', 30_000, () =>
          row(p.jobs, 'prover')?.txHashes.some((t) => t.kind === 'collateral-back') === true
            ? true
            : undefined,
        )
      }

      // Balances to the wei: what each account started with, less its gas, plus what it earned.
      const paidToProvers = BigInt(SEGMENTS) * PRICE
      const paidToVerifiers = 2n * FEE
      assert.equal(
        BigInt(refunded.earnedWei) - BigInt(refunded.paidWei),
        paidToProvers + paidToVerifiers,
      )
      const balance = (a: Address) => chain.publicClient.getBalance({ address: a })
      const startOf = (a: Address) => start.get(a)!
      assert.equal(
        await balance(clientPay.account),
        startOf(clientPay.account) -
          (await feesPaidBy(chain.publicClient, clientPay.account)) -
          paidToProvers -
          paidToVerifiers,
      )
      for (const [i, p] of provers.entries()) {
        assert.equal(
          await balance(p.pay.account),
          startOf(p.pay.account) -
            (await feesPaidBy(chain.publicClient, p.pay.account)) +
            BigInt(credits[i]!) * PRICE,
        )
      }
      for (const [i, v] of verifiers.entries()) {
        assert.equal(
          await balance(v.pay.account),
          startOf(v.pay.account) -
            (await feesPaidBy(chain.publicClient, v.pay.account)) -
            BOND +
            (i === 1 ? 0n : FEE),
        )
      }
    },
  )

  test(
    'a prover the client left out of its settlement is paid by its acceptances',
    { timeout: 180_000 },
    async () => {
      const { clientPay, provers, credits, outcome, paidRow } = await paidJob({
        leaveOutFirstProver: true,
      })
      const [left, kept] = provers as [Party, Party]
      assert.ok(credits[0]! > 0, 'the first prover proved nothing: nothing to leave out')
      const paid = await paidRow('the left-out prover', left.jobs, 'prover')
      assert.equal(paid.paidWei, (BigInt(credits[0]!) * PRICE).toString())
      assert.match(paid.reason ?? '', /left out of the settlement/)
      assert.deepEqual(
        paid.txHashes.map((t) => t.kind),
        ['collateral', 'claim-accepted'],
      )
      // The escrow's own account agrees: each acceptance counted once, paid in full.
      const jobKey = left.pay.jobKey(clientPay.account, `0x${outcome.jobId}`)
      const onChain = await left.pay.getAccount(jobKey, left.pay.account)
      assert.equal(onChain.paid, BigInt(credits[0]!) * PRICE)
      assert.equal(onChain.accepted, BigInt(credits[0]!) * PRICE)
      if (credits[1]! > 0) {
        const other = await paidRow('the other prover', kept.jobs, 'prover')
        assert.deepEqual(
          other.txHashes.map((t) => t.kind),
          ['collateral', 'claim'],
        )
      }
    },
  )

  test(
    'a client that answers a payout with a leaf not in the root: the prover checks it and is paid by its acceptances',
    { timeout: 180_000 },
    async () => {
      const { provers, credits, paidRow } = await paidJob({ forgeFirstProversLeaf: true })
      assert.ok(credits[0]! > 0, 'the first prover proved nothing')
      const paid = await paidRow('the prover sent a forged leaf', provers[0]!.jobs, 'prover')
      assert.equal(paid.paidWei, (BigInt(credits[0]!) * PRICE).toString())
      assert.match(paid.reason ?? '', /leaf not in the root/)
      // No claim with the forged leaf was sent (it would have reverted, costing gas).
      assert.deepEqual(
        paid.txHashes.map((t) => t.kind),
        ['collateral', 'claim-accepted'],
      )
    },
  )
})
