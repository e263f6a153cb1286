// The escrow contract on a real EVM (anvil from npm), driven through viem: every path, every
// refusal by its custom error, balances checked to the wei, and the gas of every call printed.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Address, Hex } from 'viem'
import type { HDAccount } from 'viem/accounts'
import {
  compareAddresses,
  jobKeyOf,
  quorumSignatures,
  settlementTree,
  signAcceptance,
  signFault,
  signSettlement,
  type Fault,
  type SettlementTree,
} from './index.ts'
import { LocalChain } from './testing/local-chain.ts'

const HOUR = 3600
const BOND = 10n ** 18n
const PARAMETERS = {
  minQuorum: 2,
  minVerifierBond: BOND,
  minClaimWindowS: HOUR,
  retireDelayS: 24 * HOUR,
}
const PRICE = 1_000_000n // wei per accepted segment
const FEE = 100_000n // wei per attesting verifier
const COLLATERAL = 500_000n

let chain: LocalChain
// anvil's funded accounts, by role: 0 deployed the escrow.
let client: HDAccount
let otherClient: HDAccount
let proverA: HDAccount
let proverB: HDAccount
let proverC: HDAccount
let v1: HDAccount
let v2: HDAccount
let v3: HDAccount
let v4: HDAccount // registered, named by no job below
let outsider: HDAccount
let relayer: HDAccount
let retiree: HDAccount
/** The verifier set every job below names, in ascending address order. */
let jobVerifiers: HDAccount[]

const randomDigest = (): Hex => `0x${randomBytes(32).toString('hex')}`
const ascending = (list: HDAccount[]) =>
  [...list].sort((a, b) => compareAddresses(a.address, b.address))

before(async () => {
  chain = await LocalChain.start(PARAMETERS, 14)
  const a = chain.accounts
  const role = (i: number): HDAccount => a[i]!
  client = role(1)
  otherClient = role(2)
  proverA = role(3)
  proverB = role(4)
  proverC = role(5)
  v1 = role(6)
  v2 = role(7)
  v3 = role(8)
  v4 = role(9)
  outsider = role(10)
  relayer = role(11)
  retiree = role(12)
  for (const v of [v1, v2, v3, v4]) await chain.send(v, 'registerVerifier', [], { value: BOND })
  jobVerifiers = ascending([v1, v2, v3])
})

after(async () => {
  if (chain === undefined) return
  const rows = [...chain.gas].map(([call, gas]) => {
    const sorted = [...gas].sort((x, y) => (x < y ? -1 : 1))
    const range = sorted[0] === sorted.at(-1) ? `${sorted[0]}` : `${sorted[0]} .. ${sorted.at(-1)}`
    return `  ${call.padEnd(40)} ${range.padStart(18)}   (${gas.length} call${gas.length === 1 ? '' : 's'})`
  })
  console.log(`escrow: gas per successful call\n${rows.join('\n')}`)
  await chain.stop()
})

interface Terms {
  segments?: number
  price?: bigint
  fee?: bigint
  quorum?: number
  verifiers?: HDAccount[]
  budget?: bigint
  deadlineS?: number
  claimWindowS?: number
  by?: HDAccount
  jobId?: Hex
}

function termsOf(t: Terms, now: bigint) {
  const verifiers = t.verifiers ?? jobVerifiers
  return {
    jobId: t.jobId ?? randomDigest(),
    deadline: now + BigInt(t.deadlineS ?? HOUR),
    claimWindow: BigInt(t.claimWindowS ?? HOUR),
    segments: t.segments ?? 3,
    quorum: t.quorum ?? 2,
    pricePerSegment: t.price ?? PRICE,
    verifierFee: t.fee ?? FEE,
    verifiers: verifiers.map((v) => v.address),
  }
}

/** What a job's terms oblige the client to lock: every segment at the price, every verifier's fee. */
const owed = (t: Terms) =>
  BigInt(t.segments ?? 3) * (t.price ?? PRICE) +
  BigInt((t.verifiers ?? jobVerifiers).length) * (t.fee ?? FEE)

/** Opens a job (deadline an hour away, claims closing an hour after); returns its key. */
async function openJob(t: Terms = {}): Promise<Hex> {
  const terms = termsOf(t, await chain.now())
  const by = t.by ?? client
  await chain.send(by, 'openJob', [terms], { value: t.budget ?? owed(t) })
  return jobKeyOf(by.address, terms.jobId)
}

async function openRefusal(t: Terms) {
  return chain.revertOf(
    t.by ?? client,
    'openJob',
    [termsOf(t, await chain.now())],
    t.budget ?? owed(t),
  )
}

async function acceptance(
  jobKey: Hex,
  segment: number,
  prover: HDAccount,
  amount = PRICE,
  signer = client,
) {
  const a = { jobKey, segment, prover: prover.address, amount }
  return { ...a, signature: await signAcceptance(signer, chain.domain, a) }
}

type Signed = Awaited<ReturnType<typeof acceptance>>

function acceptedArgs(jobKey: Hex, prover: HDAccount | Address, list: Signed[]) {
  return [
    jobKey,
    typeof prover === 'string' ? prover : prover.address,
    list.map((a) => a.segment),
    list.map((a) => a.amount),
    list.map((a) => a.signature),
  ] as const
}

/** A settlement of `payouts`, signed by the client and by `verifiers`. */
async function settlement(
  jobKey: Hex,
  payouts: [HDAccount, bigint][],
  verifiers: HDAccount[] = [v1, v2],
  clientSigner: HDAccount = client,
) {
  const tree = settlementTree(payouts.map(([payee, amount]) => ({ payee: payee.address, amount })))
  const message = {
    jobKey,
    root: tree.root,
    total: tree.total,
    receiptDigest: randomDigest(),
    journalDigest: randomDigest(),
  }
  const clientSignature = await signSettlement(clientSigner, chain.domain, message)
  const verifierSignatures = await quorumSignatures(verifiers, (v) =>
    signSettlement(v, chain.domain, message),
  )
  const args = [
    jobKey,
    message.root,
    message.total,
    message.receiptDigest,
    message.journalDigest,
    clientSignature,
    verifierSignatures,
  ] as const
  return { tree, message, clientSignature, verifierSignatures, args }
}

function claimArgs(jobKey: Hex, tree: SettlementTree, payee: HDAccount) {
  const { amount, proof } = tree.proof(payee.address)
  return [jobKey, payee.address, amount, proof] as const
}

async function faultArgs(jobKey: Hex, prover: HDAccount, verifiers: HDAccount[]) {
  const fault: Fault = { jobKey, prover: prover.address, segment: 1, receiptDigest: randomDigest() }
  const signatures = await quorumSignatures(verifiers, (v) => signFault(v, chain.domain, fault))
  return [jobKey, fault.prover, fault.segment, fault.receiptDigest, signatures] as const
}

/** Runs `send` and returns how much `who`'s balance moved, less the gas `who` paid meanwhile. */
async function moved(who: HDAccount, send: () => Promise<unknown>): Promise<bigint> {
  const balance = await chain.balance(who.address)
  const fees = chain.feesOf(who.address)
  await send()
  return (await chain.balance(who.address)) - balance + (chain.feesOf(who.address) - fees)
}

const errorOf = async (p: Promise<{ name: string } | undefined>) => (await p)?.name

describe('the escrow: a job paid as designed', () => {
  test('3 segments, 2 provers, a quorum of 2 of 3 verifiers: the root pays each prover per accepted segment and each attesting verifier its fee, to the wei; the client gets the rest, the provers their collateral', async () => {
    let jobKey: Hex = '0x'
    let tree: SettlementTree | undefined
    const clientMoved = await moved(client, async () => {
      jobKey = await openJob()
      await chain.send(proverA, 'postCollateral', [jobKey], { value: COLLATERAL })
      await chain.send(proverB, 'postCollateral', [jobKey], { value: COLLATERAL })
      // A proved segments 0 and 2, B segment 1; v1 and v2 attested (v3 did not: no fee).
      const s = await settlement(jobKey, [
        [proverA, PRICE],
        [proverB, PRICE],
        [proverA, PRICE],
        [v1, FEE],
        [v2, FEE],
      ])
      tree = s.tree
      assert.equal(s.tree.total, 3n * PRICE + 2n * FEE)
      assert.equal(s.tree.payouts.length, 4, 'one leaf per payee, amounts summed')
      await chain.send(relayer, 'settle', s.args)
      for (const [payee, due] of [
        [proverA, 2n * PRICE],
        [proverB, PRICE],
        [v1, FEE],
        [v2, FEE],
      ] as const) {
        // Anyone may send a claim; the money goes to the payee, to the wei.
        const paid = await moved(payee, () =>
          chain.send(relayer, 'claim', claimArgs(jobKey, s.tree, payee)),
        )
        assert.equal(paid, due)
      }
      assert.deepEqual(await chain.revertOf(relayer, 'claim', claimArgs(jobKey, s.tree, proverA)), {
        name: 'AlreadyClaimed',
        args: [proverA.address],
      })
      assert.equal(await errorOf(chain.revertOf(relayer, 'refund', [jobKey])), 'ClaimsOpen')
      assert.equal(
        await errorOf(chain.revertOf(proverA, 'withdrawCollateral', [jobKey])),
        'ClaimsOpen',
      )
      await chain.advance(2 * HOUR)
      await chain.send(relayer, 'refund', [jobKey])
    })
    assert.equal(clientMoved, -(3n * PRICE + 2n * FEE), 'the client paid exactly the settlement')
    for (const prover of [proverA, proverB]) {
      const back = await moved(prover, () => chain.send(prover, 'withdrawCollateral', [jobKey]))
      assert.equal(back, COLLATERAL)
      assert.equal(
        await errorOf(chain.revertOf(prover, 'withdrawCollateral', [jobKey])),
        'NothingToWithdraw',
      )
    }
    assert.equal(await errorOf(chain.revertOf(relayer, 'refund', [jobKey])), 'JobClosed')
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'claim', claimArgs(jobKey, tree!, v1))),
      'JobClosed',
    )
    const job = await chain.read('getJob', [jobKey])
    assert.equal(job.closed, true)
    assert.equal(job.paid, job.budget)
  })

  test('a job nobody settles: a dealt prover claims with the acceptances it holds; the client takes back the rest after the deadline and the claim window', async () => {
    const jobKey = await openJob()
    const held = [await acceptance(jobKey, 0, proverC), await acceptance(jobKey, 1, proverC)]
    // Only a prover that posted collateral (a deal) can be paid through acceptances.
    assert.deepEqual(
      await chain.revertOf(relayer, 'claimAccepted', acceptedArgs(jobKey, proverC, held)),
      { name: 'NotAProver', args: [proverC.address] },
    )
    await chain.send(proverC, 'postCollateral', [jobKey], { value: COLLATERAL })
    const paid = await moved(proverC, () =>
      chain.send(relayer, 'claimAccepted', acceptedArgs(jobKey, proverC, held)),
    )
    assert.equal(paid, 2n * PRICE)
    await chain.advance(HOUR) // past the deadline: claims still open, no refund yet
    assert.equal(await errorOf(chain.revertOf(relayer, 'refund', [jobKey])), 'ClaimsOpen')
    await chain.advance(HOUR)
    const refunded = await moved(client, () => chain.send(relayer, 'refund', [jobKey]))
    assert.equal(refunded, owed({}) - 2n * PRICE)
  })

  test('a settlement made early does not cut the claim window short: claims stay open until the deadline plus the window', async () => {
    const jobKey = await openJob({ deadlineS: 4 * HOUR })
    await chain.send(proverA, 'postCollateral', [jobKey], { value: COLLATERAL })
    const s = await settlement(jobKey, [
      [proverA, PRICE],
      [v1, FEE],
    ])
    await chain.send(relayer, 'settle', s.args)
    await chain.advance(2 * HOUR) // past settlement + window, before deadline + window
    assert.equal(await errorOf(chain.revertOf(relayer, 'refund', [jobKey])), 'ClaimsOpen')
    const leaf = await moved(proverA, () =>
      chain.send(relayer, 'claim', claimArgs(jobKey, s.tree, proverA)),
    )
    assert.equal(leaf, PRICE)
    // It proved two segments after that settlement: its acceptances pay the difference.
    const late = [await acceptance(jobKey, 0, proverA), await acceptance(jobKey, 2, proverA)]
    const more = await moved(proverA, () =>
      chain.send(relayer, 'claimAccepted', acceptedArgs(jobKey, proverA, late)),
    )
    assert.equal(more, PRICE)
  })
})

describe('the escrow: the dispute path', () => {
  test('a prover the client left out of the root claims with its acceptances; a prover in the root is never paid twice', async () => {
    const jobKey = await openJob()
    await chain.send(proverA, 'postCollateral', [jobKey], { value: COLLATERAL })
    await chain.send(proverB, 'postCollateral', [jobKey], { value: COLLATERAL })
    const ofA = [await acceptance(jobKey, 0, proverA), await acceptance(jobKey, 2, proverA)]
    const ofB = [await acceptance(jobKey, 1, proverB)]
    // The client leaves B out; the quorum signed the root it was shown.
    const { tree, args } = await settlement(jobKey, [
      [proverA, 2n * PRICE],
      [v1, FEE],
      [v2, FEE],
    ])
    await chain.send(relayer, 'settle', args)
    const paidB = await moved(proverB, () =>
      chain.send(relayer, 'claimAccepted', acceptedArgs(jobKey, proverB, ofB), {
        label: 'claimAccepted (1 acceptance)',
      }),
    )
    assert.equal(paidB, PRICE)
    const paidA = await moved(proverA, () =>
      chain.send(relayer, 'claim', claimArgs(jobKey, tree, proverA)),
    )
    assert.equal(paidA, 2n * PRICE)
    // A's acceptances after its leaf: nothing more is due.
    assert.deepEqual(
      await chain.revertOf(relayer, 'claimAccepted', acceptedArgs(jobKey, proverA, ofA)),
      { name: 'AlreadyClaimed', args: [proverA.address] },
    )
    assert.equal((await chain.read('getAccount', [jobKey, proverA.address])).paid, 2n * PRICE)
  })

  test('acceptances paid first, the leaf after: only the difference', async () => {
    const jobKey = await openJob()
    await chain.send(proverA, 'postCollateral', [jobKey], { value: COLLATERAL })
    const first = [await acceptance(jobKey, 0, proverA)]
    const paid = await moved(proverA, () =>
      chain.send(relayer, 'claimAccepted', acceptedArgs(jobKey, proverA, first)),
    )
    assert.equal(paid, PRICE)
    const { tree, args } = await settlement(jobKey, [
      [proverA, 3n * PRICE],
      [v1, FEE],
      [v2, FEE],
    ])
    await chain.send(relayer, 'settle', args)
    const rest = await moved(proverA, () =>
      chain.send(relayer, 'claim', claimArgs(jobKey, tree, proverA)),
    )
    assert.equal(rest, 2n * PRICE)
  })

  test('replayed, forged, wrong-prover, other-job, overpriced, out-of-range and after-close acceptances are refused; a batch pays what it has new', async () => {
    const jobKey = await openJob({ segments: 8 })
    const other = await openJob()
    for (const p of [proverB, proverC]) {
      await chain.send(p, 'postCollateral', [jobKey], { value: COLLATERAL })
    }
    const good = await acceptance(jobKey, 3, proverB)
    await chain.send(relayer, 'claimAccepted', acceptedArgs(jobKey, proverB, [good]))
    assert.deepEqual(
      await chain.revertOf(relayer, 'claimAccepted', acceptedArgs(jobKey, proverB, [good])),
      { name: 'AcceptanceUsed', args: [3] },
    )
    // A batch holding the used one and a new one: the new one is paid, the used one skipped.
    const batch = [good, await acceptance(jobKey, 4, proverB)]
    const paid = await moved(proverB, () =>
      chain.send(relayer, 'claimAccepted', acceptedArgs(jobKey, proverB, batch), {
        label: 'claimAccepted (1 new, 1 skipped)',
      }),
    )
    assert.equal(paid, PRICE)
    // A client that signed segment 3 to C as well: the segment was paid once already.
    const twice = await acceptance(jobKey, 3, proverC)
    assert.equal(
      await errorOf(
        chain.revertOf(relayer, 'claimAccepted', acceptedArgs(jobKey, proverC, [twice])),
      ),
      'AcceptanceUsed',
    )
    const refused: [string, Awaited<ReturnType<typeof acceptedArgs>>, string][] = [
      [
        'signed by the prover itself',
        acceptedArgs(jobKey, proverB, [await acceptance(jobKey, 5, proverB, PRICE, proverB)]),
        'BadClientSignature',
      ],
      [
        "B's acceptance shown for C",
        acceptedArgs(jobKey, proverC, [await acceptance(jobKey, 5, proverB)]),
        'BadClientSignature',
      ],
      [
        "another job's acceptance",
        acceptedArgs(jobKey, proverB, [await acceptance(other, 5, proverB)]),
        'BadClientSignature',
      ],
      [
        'an amount lowered after signing',
        acceptedArgs(jobKey, proverB, [{ ...(await acceptance(jobKey, 5, proverB)), amount: 1n }]),
        'BadClientSignature',
      ],
      [
        'an amount over the job’s price, even signed',
        acceptedArgs(jobKey, proverB, [await acceptance(jobKey, 5, proverB, PRICE + 1n)]),
        'InvalidTerms',
      ],
      [
        'a segment the job does not have',
        acceptedArgs(jobKey, proverB, [await acceptance(jobKey, 8, proverB)]),
        'InvalidTerms',
      ],
      [
        'an address that never dealt (the client’s alias)',
        acceptedArgs(jobKey, outsider, [await acceptance(jobKey, 6, outsider)]),
        'NotAProver',
      ],
      [
        'the client itself',
        acceptedArgs(jobKey, client, [await acceptance(jobKey, 6, client)]),
        'NotAProver',
      ],
      ['no acceptances', [jobKey, proverB.address, [], [], []], 'InvalidTerms'],
      [
        'uneven lists',
        [jobKey, proverB.address, [6, 7], [PRICE], [good.signature]],
        'InvalidTerms',
      ],
    ]
    for (const [what, args, error] of refused) {
      assert.equal(await errorOf(chain.revertOf(relayer, 'claimAccepted', args)), error, what)
    }
    await chain.advance(2 * HOUR)
    const late = await acceptance(jobKey, 7, proverB)
    assert.equal(
      await errorOf(
        chain.revertOf(relayer, 'claimAccepted', acceptedArgs(jobKey, proverB, [late])),
      ),
      'ClaimsClosed',
    )
  })
})

describe('the escrow: what a root can pay', () => {
  test('only dealt provers and the job’s verifiers; a verifier at most the fee; provers together at most segments × price, paid in part when that is what is left', async () => {
    const jobKey = await openJob({ budget: owed({}) + 10n * PRICE })
    await chain.send(proverA, 'postCollateral', [jobKey], { value: COLLATERAL })
    await chain.send(proverB, 'postCollateral', [jobKey], { value: COLLATERAL })
    // The client's root gives A all three segments (B proved segment 1), a verifier 5 fees, and
    // its own alias a share.
    const { tree, args } = await settlement(jobKey, [
      [proverA, 3n * PRICE],
      [v1, 5n * FEE],
      [outsider, PRICE],
    ])
    await chain.send(relayer, 'settle', args)
    assert.deepEqual(await chain.revertOf(relayer, 'claim', claimArgs(jobKey, tree, outsider)), {
      name: 'NotAPayee',
      args: [outsider.address],
    })
    const fee = await moved(v1, () => chain.send(relayer, 'claim', claimArgs(jobKey, tree, v1)))
    assert.equal(fee, FEE, 'a verifier gets at most the fee the job named')
    const ofB = [await acceptance(jobKey, 1, proverB)]
    const b = await moved(proverB, () =>
      chain.send(relayer, 'claimAccepted', acceptedArgs(jobKey, proverB, ofB)),
    )
    assert.equal(b, PRICE)
    // What is left of the provers' share is 2 segments: A is paid that much, then nothing.
    const a = await moved(proverA, () =>
      chain.send(relayer, 'claim', claimArgs(jobKey, tree, proverA)),
    )
    assert.equal(a, 2n * PRICE)
    assert.deepEqual(await chain.revertOf(relayer, 'claim', claimArgs(jobKey, tree, proverA)), {
      name: 'InsufficientEscrow',
      args: [PRICE, 0n],
    })
    assert.equal((await chain.read('getJob', [jobKey])).paidToProvers, 3n * PRICE)
  })
})

describe('the escrow: settlements the quorum did not sign are refused', () => {
  test('too few verifiers, one counted twice, out of order, one the job did not name, the wrong client, a tampered root, over the budget, a second settlement, a claim before one', async () => {
    const jobKey = await openJob()
    await chain.send(proverA, 'postCollateral', [jobKey], { value: COLLATERAL })
    const payouts: [HDAccount, bigint][] = [
      [proverA, PRICE],
      [v1, FEE],
      [v2, FEE],
    ]
    const refusal = async (s: Awaited<ReturnType<typeof settlement>>) =>
      chain.revertOf(relayer, 'settle', s.args)
    const withSignatures = (s: Awaited<ReturnType<typeof settlement>>, sigs: Hex[]) => {
      const args = [...s.args] as unknown as [Hex, Hex, bigint, Hex, Hex, Hex, Hex[]]
      args[6] = sigs
      return args as never
    }

    assert.deepEqual(await refusal(await settlement(jobKey, payouts, [v1])), {
      name: 'QuorumNotMet',
      args: [1n, 2],
    })
    const one = await settlement(jobKey, payouts, [v1])
    const doubled = withSignatures(one, [one.verifierSignatures[0]!, one.verifierSignatures[0]!])
    assert.equal(await errorOf(chain.revertOf(relayer, 'settle', doubled)), 'SignersNotAscending')
    const two = await settlement(jobKey, payouts, [v1, v2])
    const reversed = withSignatures(two, [...two.verifierSignatures].reverse())
    assert.equal(await errorOf(chain.revertOf(relayer, 'settle', reversed)), 'SignersNotAscending')
    // v4 is a registered verifier, but not one this job named.
    assert.deepEqual(await refusal(await settlement(jobKey, payouts, [v1, v4])), {
      name: 'NotAVerifier',
      args: [v4.address],
    })
    assert.deepEqual(await refusal(await settlement(jobKey, payouts, [v1, v2], outsider)), {
      name: 'BadClientSignature',
      args: [outsider.address],
    })
    // The signatures were made over another root: they recover other signers.
    const signed = await settlement(jobKey, payouts)
    const other = await settlement(jobKey, [[proverA, 2n * PRICE]])
    const swapped = [...signed.args] as unknown as [Hex, Hex, bigint, Hex, Hex, Hex, Hex[]]
    swapped[1] = other.message.root
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'settle', swapped as never)),
      'BadClientSignature',
    )
    assert.equal(
      await errorOf(refusal(await settlement(jobKey, [[proverA, 100n * PRICE]]))),
      'InsufficientEscrow',
    )
    assert.deepEqual(
      await chain.revertOf(relayer, 'claim', claimArgs(jobKey, signed.tree, proverA)),
      {
        name: 'NotSettled',
        args: [jobKey],
      },
    )

    await chain.send(relayer, 'settle', signed.args)
    assert.equal(await errorOf(refusal(await settlement(jobKey, payouts))), 'AlreadySettled')
    // A leaf with a changed amount, or for someone not in the root, has no valid proof.
    const { proof } = signed.tree.proof(proverA.address)
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'claim', [jobKey, proverA.address, 2n * PRICE, proof])),
      'InvalidProof',
    )
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'claim', [jobKey, outsider.address, PRICE, proof])),
      'InvalidProof',
    )
    await chain.advance(2 * HOUR)
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'claim', claimArgs(jobKey, signed.tree, proverA))),
      'ClaimsClosed',
    )
  })

  test('a job unsettled until its claims close cannot be settled after', async () => {
    const jobKey = await openJob()
    const s = await settlement(jobKey, [[v1, FEE]])
    await chain.advance(2 * HOUR)
    assert.equal(await errorOf(chain.revertOf(relayer, 'settle', s.args)), 'ClaimsClosed')
  })
})

describe('the escrow: slashing on the quorum’s evidence', () => {
  test('a prover whose delivered receipt failed verification: half its collateral burned, half to the client; its other accepted work is still paid; its collateral never comes back', async () => {
    const jobKey = await openJob()
    await chain.send(proverC, 'postCollateral', [jobKey], { value: 2n * COLLATERAL })
    assert.deepEqual(
      await chain.revertOf(relayer, 'slash', await faultArgs(jobKey, proverC, [v1])),
      { name: 'QuorumNotMet', args: [1n, 2] },
    )
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'slash', await faultArgs(jobKey, proverC, [v1, v4]))),
      'NotAVerifier',
    )
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'slash', await faultArgs(jobKey, proverB, [v1, v2]))),
      'NothingToSlash',
    )
    const burnedBefore = await chain.read('totalBurned', [])
    await chain.send(relayer, 'slash', await faultArgs(jobKey, proverC, [v1, v3]))
    assert.equal((await chain.read('totalBurned', [])) - burnedBefore, COLLATERAL)
    assert.equal((await chain.read('getJob', [jobKey])).budget, owed({}) + COLLATERAL)
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'slash', await faultArgs(jobKey, proverC, [v1, v2]))),
      'ProverSlashed',
    )
    assert.equal(
      await errorOf(chain.revertOf(proverC, 'postCollateral', [jobKey], COLLATERAL)),
      'ProverSlashed',
    )
    const { tree, args } = await settlement(jobKey, [
      [proverC, PRICE],
      [v1, FEE],
      [v3, FEE],
    ])
    await chain.send(relayer, 'settle', args)
    const paid = await moved(proverC, () =>
      chain.send(relayer, 'claim', claimArgs(jobKey, tree, proverC)),
    )
    assert.equal(paid, PRICE)
    await chain.advance(2 * HOUR)
    assert.equal(
      await errorOf(chain.revertOf(relayer, 'slash', await faultArgs(jobKey, proverC, [v1, v2]))),
      'ClaimsClosed',
    )
    assert.equal(
      await errorOf(chain.revertOf(proverC, 'withdrawCollateral', [jobKey])),
      'NothingToWithdraw',
    )
    // The refund holds the slashed half and the fees nobody claimed in time.
    const refunded = await moved(client, () => chain.send(relayer, 'refund', [jobKey]))
    assert.equal(refunded, owed({}) + COLLATERAL - PRICE)
  })
})

describe('the escrow: terms and the verifier registry', () => {
  test('bad terms at opening are refused, each naming what is wrong', async () => {
    const jobId = randomDigest()
    await openJob({ jobId })
    const cases: [string, Terms, string, unknown[]?][] = [
      ['the same job ID twice', { jobId }, 'JobExists'],
      ['a deadline past', { deadlineS: -1 }, 'InvalidTerms', ['deadline']],
      ['a deadline over a year away', { deadlineS: 366 * 24 * HOUR }, 'InvalidTerms', ['deadline']],
      ['a claim window too short', { claimWindowS: 60 }, 'InvalidTerms', ['claimWindow']],
      [
        'a claim window over a year',
        { claimWindowS: 366 * 24 * HOUR },
        'InvalidTerms',
        ['claimWindow'],
      ],
      ['no segments', { segments: 0 }, 'InvalidTerms', ['segments']],
      ['a quorum under the minimum', { quorum: 1 }, 'InvalidTerms', ['quorum']],
      ['a quorum over the verifier set', { quorum: 4 }, 'InvalidTerms', ['quorum']],
      [
        'a budget short of segments × price + fees',
        { budget: owed({}) - 1n },
        'InvalidTerms',
        ['budget'],
      ],
      ['verifiers out of order', { verifiers: [...jobVerifiers].reverse() }, 'SignersNotAscending'],
      ['an unregistered verifier', { verifiers: ascending([v1, outsider]) }, 'NotAVerifier'],
      ['the client among its verifiers', { verifiers: ascending([v1, client]) }, 'NotAVerifier'],
    ]
    for (const [what, terms, error, args] of cases) {
      const got = await openRefusal(terms)
      assert.equal(got?.name, error, what)
      if (args !== undefined) assert.deepEqual(got?.args, args, what)
    }
    // The client registered as a verifier still cannot judge its own job.
    await chain.send(otherClient, 'registerVerifier', [], { value: BOND })
    assert.equal(
      (await openRefusal({ by: otherClient, verifiers: ascending([v1, otherClient]) }))?.name,
      'VerifierConflict',
    )
    // The same job ID from another client is another job: nobody can squat a client's key.
    const theirs = await openJob({ jobId, by: otherClient })
    assert.notEqual(theirs, jobKeyOf(client.address, jobId))
    assert.equal((await chain.read('getJob', [theirs])).client, otherClient.address)
  })

  test('who may post collateral and add budget', async () => {
    const jobKey = await openJob()
    assert.equal(
      await errorOf(chain.revertOf(client, 'postCollateral', [jobKey], COLLATERAL)),
      'VerifierConflict',
    )
    assert.equal(
      await errorOf(chain.revertOf(v1, 'postCollateral', [jobKey], COLLATERAL)),
      'VerifierConflict',
    )
    assert.deepEqual(await chain.revertOf(proverA, 'postCollateral', [jobKey], 0n), {
      name: 'InvalidTerms',
      args: ['collateral'],
    })
    assert.equal(
      await errorOf(chain.revertOf(proverA, 'postCollateral', [randomDigest()], COLLATERAL)),
      'UnknownJob',
    )
    assert.equal(await errorOf(chain.revertOf(proverA, 'addBudget', [jobKey], PRICE)), 'NotClient')
    await chain.send(client, 'addBudget', [jobKey], { value: PRICE })
    assert.equal((await chain.read('getJob', [jobKey])).budget, owed({}) + PRICE)
    await chain.advance(HOUR)
    assert.equal(
      await errorOf(chain.revertOf(proverA, 'postCollateral', [jobKey], COLLATERAL)),
      'PastDeadline',
    )
    await chain.advance(HOUR)
    await chain.send(relayer, 'refund', [jobKey])
    assert.equal(await errorOf(chain.revertOf(client, 'addBudget', [jobKey], PRICE)), 'JobClosed')
  })

  test('the registry: a bond at least the minimum, once; a retiring verifier is named by no new job, still counts for jobs that named it, and gets its bond back after the delay', async () => {
    assert.equal(
      await errorOf(chain.revertOf(retiree, 'registerVerifier', [], BOND - 1n)),
      'BondTooSmall',
    )
    await chain.send(retiree, 'registerVerifier', [], { value: BOND })
    assert.equal(
      await errorOf(chain.revertOf(retiree, 'registerVerifier', [], BOND)),
      'AlreadyRegistered',
    )
    assert.equal(await errorOf(chain.revertOf(retiree, 'withdrawVerifierBond', [])), 'NotRetiring')
    const jobKey = await openJob({ verifiers: ascending([v1, retiree]) })
    await chain.send(retiree, 'retireVerifier', [])
    assert.equal(await errorOf(chain.revertOf(retiree, 'retireVerifier', [])), 'NotAVerifier')
    assert.equal((await openRefusal({ verifiers: ascending([v1, retiree]) }))?.name, 'NotAVerifier')
    const s = await settlement(jobKey, [[v1, FEE]], [v1, retiree])
    await chain.send(relayer, 'settle', s.args)
    assert.equal(await errorOf(chain.revertOf(retiree, 'withdrawVerifierBond', [])), 'StillBonded')
    await chain.advance(24 * HOUR)
    const back = await moved(retiree, () => chain.send(retiree, 'withdrawVerifierBond', []))
    assert.equal(back, BOND)
  })
})
