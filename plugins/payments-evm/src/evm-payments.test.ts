// The payments plugin against the real escrow on anvil: every role through its own plugin instance
// and its own keystore (a fresh key each, funded by the test chain), balances checked to the wei.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  BINDING_DOMAIN,
  BINDING_TYPES,
  checkBinding,
  compareAddresses,
  openKeystore,
  settlementTree,
} from '@wholesum/escrow'
import {
  AbortError,
  EscrowRevertError,
  InvalidInputError,
  UnavailableError,
  type Address,
  type Hex,
  type SignedAcceptance,
} from '@wholesum/plugin-api'
import { hashTypedData, toBytes } from 'viem'
import { LocalChain } from '../../../packages/escrow/src/testing/local-chain.ts'
import { createEvmPayments, type EvmPayments } from './evm-payments.ts'

const HOUR = 3600
const BOND = 10n ** 18n
const PARAMETERS = {
  minQuorum: 2,
  minVerifierBond: BOND,
  minClaimWindowS: HOUR,
  retireDelayS: 24 * HOUR,
}
const PRICE = 1_000_000n
const FEE = 100_000n
const COLLATERAL = 500_000n
const PASSWORD = 'correct horse battery staple'

let chain: LocalChain
let dir: string
let client: EvmPayments
let proverA: EvmPayments
let proverB: EvmPayments
let relayer: EvmPayments
let verifiers: EvmPayments[]

const randomDigest = (): Hex => `0x${randomBytes(32).toString('hex')}`

/** A node's plugin on the test chain, with its own keystore (cheap scrypt) and, unless told, funds. */
async function node(name: string, options: { fund?: boolean; password?: string } = {}) {
  const payments = await createEvmPayments({
    rpcUrl: chain.anvil.rpcUrl,
    chainId: chain.anvil.chainId,
    escrow: chain.escrow,
    keystoreFile: join(dir, `${name}.json`),
    password: options.password ?? PASSWORD,
    pollingIntervalMs: 50,
    newKeyScryptN: 1024,
  })
  if (options.fund !== false) {
    await chain.testClient.setBalance({ address: payments.account, value: 100n * BOND })
  }
  return payments
}

async function termsOf(overrides: { segments?: number; deadlineS?: number } = {}) {
  const now = Number(await chain.now())
  return {
    jobId: randomDigest(),
    deadline: now + (overrides.deadlineS ?? HOUR),
    claimWindow: HOUR,
    segments: overrides.segments ?? 3,
    quorum: 2,
    pricePerSegment: PRICE,
    verifierFee: FEE,
    // Descending on purpose: the plugin sends the set in the ascending order the contract wants.
    verifiers: verifiers.map((v) => v.account).sort((a, b) => compareAddresses(b, a)),
  }
}

const budgetOf = (segments = 3) => BigInt(segments) * PRICE + BigInt(verifiers.length) * FEE

/** How much `who`'s balance moved while `work` ran (for accounts that send nothing themselves). */
async function moved(who: Address, work: () => Promise<unknown>): Promise<bigint> {
  const before = await chain.balance(who)
  await work()
  return (await chain.balance(who)) - before
}

const nonceOf = (who: Address) => chain.publicClient.getTransactionCount({ address: who })

function refusedWith(reason: string, args?: readonly unknown[]) {
  return (err: unknown) => {
    assert.ok(err instanceof EscrowRevertError, `expected EscrowRevertError, got ${String(err)}`)
    assert.equal(err.reason, reason)
    assert.equal(err.code, 'REVERTED')
    assert.equal(err.transactionHash, undefined, 'refused by simulation: nothing was sent')
    if (args !== undefined) assert.deepEqual(err.args, args)
    return true
  }
}

before(async () => {
  chain = await LocalChain.start(PARAMETERS, 2)
  dir = await mkdtemp(join(tmpdir(), 'wholesum-payments-evm-'))
  ;[client, proverA, proverB, relayer] = await Promise.all([
    node('client'),
    node('prover-a'),
    node('prover-b'),
    node('relayer'),
  ])
  verifiers = await Promise.all([node('v1'), node('v2'), node('v3')])
  const bond = await client.minVerifierBond()
  assert.equal(bond, BOND)
  for (const v of verifiers) await v.registerVerifier(bond)
})

after(async () => {
  await chain?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('payments-evm: a job through the plugin', () => {
  test('open, collateral, acceptances, a quorum settlement, claims, the dispute path, a refused second claim, refund and collateral back after the window', async () => {
    const [v1, v2] = verifiers as [EvmPayments, EvmPayments]
    for (const v of verifiers) assert.equal(await client.isActiveVerifier(v.account), true)
    assert.equal(await client.isActiveVerifier(proverA.account), false)

    const terms = await termsOf()
    const opened = await client.openJob(terms, budgetOf())
    const jobKey = opened.jobKey
    assert.equal(jobKey, client.jobKey(client.account, terms.jobId))
    assert.ok(opened.gasUsed > 0n && opened.blockNumber > 0n)
    assert.match(opened.hash, /^0x[0-9a-f]{64}$/)

    const job = await proverA.getJob(jobKey)
    assert.deepEqual(job, {
      client: client.account,
      deadline: terms.deadline,
      quorum: 2,
      claimWindow: HOUR,
      settledAt: 0,
      segments: 3,
      closed: false,
      budget: budgetOf(),
      paid: 0n,
      pricePerSegment: PRICE,
      verifierFee: FEE,
      paidToProvers: 0n,
      root: `0x${'0'.repeat(64)}`,
    })
    assert.equal(await proverA.getJob(randomDigest()), undefined)
    assert.equal(await proverA.isJobVerifier(jobKey, v1.account), true)
    assert.equal(await proverA.isJobVerifier(jobKey, proverA.account), false)
    await assert.rejects(proverA.claimsCloseAt(randomDigest()), refusedWith('UnknownJob'))

    await proverA.postCollateral(jobKey, COLLATERAL)
    assert.deepEqual(await client.getAccount(jobKey, proverA.account), {
      collateral: COLLATERAL,
      paid: 0n,
      accepted: 0n,
      prover: true,
      slashed: false,
    })

    // The client accepts A's three segments; A checks each signature before holding it.
    const held: SignedAcceptance[] = []
    for (const segment of [0, 1, 2]) {
      const a = { jobKey, segment, prover: proverA.account, amount: PRICE }
      const signature = await client.signAcceptance(a)
      assert.equal(await proverA.acceptanceSigner({ ...a, signature }), client.account)
      held.push({ segment, amount: PRICE, signature })
    }
    const forged = { jobKey, segment: 0, prover: proverA.account, amount: 2n * PRICE }
    assert.notEqual(
      await proverA.acceptanceSigner({ ...forged, signature: held[0]!.signature }),
      client.account,
      'a signature over another amount recovers to someone else',
    )

    // The root pays A for two segments (the client left one out) and both attesting verifiers.
    const tree = settlementTree([
      { payee: proverA.account, amount: 2n * PRICE },
      { payee: v1.account, amount: FEE },
      { payee: v2.account, amount: FEE },
    ])
    const settlement = {
      jobKey,
      root: tree.root,
      total: tree.total,
      receiptDigest: randomDigest(),
      journalDigest: randomDigest(),
    }
    const clientSignature = await client.signSettlement(settlement)
    const quorum = await Promise.all(
      [v1, v2].map(async (v) => ({
        signer: v.account,
        signature: await v.signSettlement(settlement),
      })),
    )
    for (const { signer, signature } of quorum) {
      assert.equal(await client.settlementSigner({ ...settlement, signature }), signer)
    }
    assert.equal(
      await client.settlementSigner({ ...settlement, signature: clientSignature }),
      client.account,
    )
    // Listed in descending order: the plugin sorts them.
    quorum.sort((a, b) => compareAddresses(b.signer, a.signer))
    await relayer.settle({ ...settlement, clientSignature, verifierSignatures: quorum })
    assert.equal((await client.getJob(jobKey))?.root, tree.root)

    const leaf = tree.proof(proverA.account)
    const paid = await moved(proverA.account, () =>
      relayer.claim({ jobKey, payee: proverA.account, ...leaf }),
    )
    assert.equal(paid, 2n * PRICE)

    // The same leaf again: refused by its simulation, before the relayer spends any gas.
    const relayerBalance = await chain.balance(relayer.account)
    const relayerNonce = await nonceOf(relayer.account)
    await assert.rejects(
      relayer.claim({ jobKey, payee: proverA.account, ...leaf }),
      refusedWith('AlreadyClaimed', [proverA.account]),
    )
    assert.equal(await chain.balance(relayer.account), relayerBalance)
    assert.equal(await nonceOf(relayer.account), relayerNonce)

    // A's three acceptances are worth more than its leaf: the dispute path pays the difference.
    const more = await moved(proverA.account, () =>
      relayer.claimAccepted({ jobKey, prover: proverA.account, acceptances: held }),
    )
    assert.equal(more, PRICE)
    await assert.rejects(
      relayer.claimAccepted({ jobKey, prover: proverA.account, acceptances: held }),
      refusedWith('AcceptanceUsed', [0]),
    )
    const fee = await moved(v1.account, () =>
      relayer.claim({ jobKey, payee: v1.account, ...tree.proof(v1.account) }),
    )
    assert.equal(fee, FEE)

    const closesAt = await client.claimsCloseAt(jobKey)
    assert.equal(closesAt, terms.deadline + HOUR, 'an early settlement does not cut the window')
    await assert.rejects(client.refund(jobKey), refusedWith('ClaimsOpen', [BigInt(closesAt)]))
    await assert.rejects(proverA.withdrawCollateral(jobKey), refusedWith('ClaimsOpen'))

    await chain.advance(2 * HOUR + 1)
    const refunded = await moved(client.account, () => relayer.refund(jobKey))
    assert.equal(refunded, budgetOf() - 3n * PRICE - FEE, 'all but what A and v1 were paid')
    const back = await proverA.withdrawCollateral(jobKey)
    assert.ok(back.gasUsed > 0n)
    assert.equal((await client.getAccount(jobKey, proverA.account)).collateral, 0n)
    const closed = await client.getJob(jobKey)
    assert.equal(closed?.closed, true)
    assert.equal(closed?.paid, closed?.budget)
  })

  test('a quorum-signed fault slashes a prover; a signature listed under the wrong signer is refused before anything is sent', async () => {
    const [v1, v2, v3] = verifiers as [EvmPayments, EvmPayments, EvmPayments]
    const { jobKey } = await client.openJob(await termsOf(), budgetOf())
    await proverB.postCollateral(jobKey, COLLATERAL)
    const fault = { jobKey, prover: proverB.account, segment: 1, receiptDigest: randomDigest() }
    const signatures = await Promise.all(
      [v3, v1].map(async (v) => ({ signer: v.account, signature: await v.signFault(fault) })),
    )
    assert.equal(
      await client.faultSigner({ ...fault, signature: signatures[0]!.signature }),
      v3.account,
    )

    const nonce = await nonceOf(relayer.account)
    const swapped = [{ signer: v2.account, signature: signatures[0]!.signature }, signatures[1]!]
    await assert.rejects(
      relayer.slash({ ...fault, verifierSignatures: swapped }),
      (err: unknown) =>
        err instanceof InvalidInputError &&
        err.message.includes(`listed for ${v2.account} was made by ${v3.account}`),
    )
    assert.equal(await nonceOf(relayer.account), nonce)

    await relayer.slash({ ...fault, verifierSignatures: signatures })
    const account = await client.getAccount(jobKey, proverB.account)
    assert.equal(account.slashed, true)
    assert.equal(account.collateral, 0n)
    const job = await client.getJob(jobKey)
    assert.equal(job?.budget, budgetOf() + COLLATERAL / 2n, 'half of the collateral to the client')
    await assert.rejects(
      relayer.slash({ ...fault, verifierSignatures: signatures }),
      refusedWith('ProverSlashed', [proverB.account]),
    )
  })
})

describe('payments-evm: a race lost on chain', () => {
  test('two claims of one leaf mined in one block: the loser reverts on chain and its error names the transaction and the reason', async () => {
    const [v1, v2] = verifiers as [EvmPayments, EvmPayments]
    const { jobKey } = await client.openJob(await termsOf(), budgetOf())
    await proverB.postCollateral(jobKey, COLLATERAL)
    const tree = settlementTree([{ payee: proverB.account, amount: PRICE }])
    const settlement = {
      jobKey,
      root: tree.root,
      total: tree.total,
      receiptDigest: randomDigest(),
      journalDigest: randomDigest(),
    }
    const verifierSignatures = await Promise.all(
      [v1, v2].map(async (v) => ({
        signer: v.account,
        signature: await v.signSettlement(settlement),
      })),
    )
    await relayer.settle({
      ...settlement,
      clientSignature: await client.signSettlement(settlement),
      verifierSignatures,
    })
    const leaf = { jobKey, payee: proverB.account, ...tree.proof(proverB.account) }

    // Both pass their simulation against the latest block, then land in the same block.
    await chain.testClient.setAutomine(false)
    let outcomes: PromiseSettledResult<unknown>[]
    try {
      const racing = Promise.allSettled([relayer.claim(leaf), proverA.claim(leaf)])
      while ((await chain.testClient.getTxpoolStatus()).pending < 2) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await chain.testClient.mine({ blocks: 1 })
      outcomes = await racing
    } finally {
      await chain.testClient.setAutomine(true)
    }
    const lost = outcomes.filter((o) => o.status === 'rejected')
    assert.equal(lost.length, 1, 'one claim paid, the other reverted')
    const err = (lost[0] as PromiseRejectedResult).reason
    assert.ok(err instanceof EscrowRevertError, String(err))
    assert.equal(err.reason, 'AlreadyClaimed')
    assert.deepEqual(err.args, [proverB.account])
    assert.match(err.transactionHash ?? '', /^0x[0-9a-f]{64}$/)
    const receipt = await chain.publicClient.getTransactionReceipt({ hash: err.transactionHash! })
    assert.equal(receipt.status, 'reverted')
    assert.equal((await client.getAccount(jobKey, proverB.account)).paid, PRICE)
  })
})

describe('payments-evm: one account, many callers', () => {
  test('parallel sends from one account all land, each with its own nonce', async () => {
    const before = await nonceOf(client.account)
    const all = await Promise.all(
      Array.from({ length: 8 }, async () => client.openJob(await termsOf(), budgetOf())),
    )
    assert.equal(new Set(all.map((r) => r.hash)).size, 8)
    assert.equal(await nonceOf(client.account), before + 8)
    for (const { jobKey } of all) {
      assert.equal((await client.getJob(jobKey))?.client, client.account)
    }
    const target = all[0]!.jobKey
    await Promise.all(Array.from({ length: 5 }, () => proverA.postCollateral(target, COLLATERAL)))
    assert.equal((await client.getAccount(target, proverA.account)).collateral, 5n * COLLATERAL)
  })

  test('an aborted call sends nothing, whether aborted before the call or before its turn to send', async () => {
    const before = await nonceOf(client.account)
    const aborted = AbortSignal.abort()
    await assert.rejects(
      client.openJob(await termsOf(), budgetOf(), { signal: aborted }),
      AbortError,
    )

    const controller = new AbortController()
    const first = client.openJob(await termsOf(), budgetOf())
    const second = client.openJob(await termsOf(), budgetOf(), { signal: controller.signal })
    controller.abort()
    await assert.rejects(second, AbortError)
    await first
    assert.equal(await nonceOf(client.account), before + 1)
  })

  test('a call the escrow would refuse never takes a nonce: the next send still lands', async () => {
    await assert.rejects(client.refund(randomDigest()), refusedWith('UnknownJob'))
    await assert.rejects(
      client.openJob({ ...(await termsOf()), quorum: 1 }, budgetOf()),
      refusedWith('InvalidTerms', ['quorum']),
    )
    const { jobKey } = await client.openJob(await termsOf(), budgetOf())
    assert.ok(await client.getJob(jobKey))
  })
})

describe('payments-evm: key and chain', () => {
  test('the key is created on first use in an owner-only Web3 Secret Storage file and opened on the next start', async () => {
    const file = join(dir, 'client.json')
    const keystore = JSON.parse(await readFile(file, 'utf8'))
    assert.equal(keystore.version, 3)
    assert.equal(keystore.crypto.kdf, 'scrypt')
    assert.equal(keystore.crypto.cipher, 'aes-128-ctr')
    assert.equal(openKeystore(keystore, PASSWORD).address, client.account)
    if (process.platform !== 'win32') assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.equal(client.keyCreated, true)
    const again = await node('client', { fund: false })
    assert.equal(again.account, client.account)
    assert.equal(again.keyCreated, false)
  })

  test('a wrong password is refused with a clear error naming the keystore', async () => {
    await assert.rejects(node('client', { fund: false, password: 'wrong' }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError)
      assert.match(err.message, /^wrong password for the EVM keystore /)
      assert.ok(err.message.includes(join(dir, 'client.json')))
      return true
    })
  })

  test('a wrong chain ID, an address without the escrow and an unreachable RPC are refused at start, naming the URL or address', async () => {
    const base = {
      rpcUrl: chain.anvil.rpcUrl,
      chainId: chain.anvil.chainId,
      escrow: chain.escrow,
      keystoreFile: join(dir, 'never.json'),
      password: PASSWORD,
      newKeyScryptN: 1024,
    }
    await assert.rejects(createEvmPayments({ ...base, chainId: 1 }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError)
      assert.equal(
        err.message,
        `the EVM RPC at ${chain.anvil.rpcUrl} serves chain ${chain.anvil.chainId}, not the configured chain 1`,
      )
      return true
    })
    const nowhere = relayer.account // an account: no code there
    await assert.rejects(createEvmPayments({ ...base, escrow: nowhere }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError)
      assert.match(
        err.message,
        new RegExp(`^no contract at the escrow address ${nowhere} on chain`),
      )
      return true
    })
    await assert.rejects(
      createEvmPayments({ ...base, rpcUrl: 'http://127.0.0.1:9/some/api-key' }),
      (err: unknown) => {
        assert.ok(err instanceof UnavailableError)
        assert.match(err.message, /^cannot reach the EVM RPC at http:\/\/127\.0\.0\.1:9\/…: /)
        assert.ok(!err.message.includes('api-key'), 'the path (where keys live) is not shown')
        return true
      },
    )
    await assert.rejects(stat(base.keystoreFile), /ENOENT/, 'no key is made for a chain refused')
  })

  test("signBinding is the account's half of a PeerBinding that checkBinding accepts", async () => {
    const peerKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(peerKey).toString()
    const issuedAt = 1_767_225_600
    const accountSignature = await proverA.signBinding(peerId, issuedAt)
    const digest = hashTypedData({
      domain: BINDING_DOMAIN,
      types: BINDING_TYPES,
      primaryType: 'PeerBinding',
      message: { peerId, account: proverA.account, issuedAt: BigInt(issuedAt) },
    })
    const peerSignature = await peerKey.sign(toBytes(digest))
    const binding = {
      peerId,
      account: proverA.account,
      issuedAt,
      accountSignature,
      peerSignature: `0x${Buffer.from(peerSignature).toString('hex')}` as Hex,
    }
    assert.equal(await checkBinding(binding), undefined)
    assert.match(
      (await checkBinding({ ...binding, account: proverB.account })) ?? '',
      /account signature is by/,
    )
  })

  test('malformed input is an InvalidInputError, not a viem error', async () => {
    await assert.rejects(client.getJob('0x1234'), InvalidInputError)
    await assert.rejects(client.postCollateral('0x1234', 1n), InvalidInputError)
    await assert.rejects(
      client.signAcceptance({ jobKey: randomDigest(), segment: 0, prover: '0xnope', amount: 1n }),
      InvalidInputError,
    )
    assert.throws(() => client.jobKey('0xnope', randomDigest()), InvalidInputError)
  })
})
