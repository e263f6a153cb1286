// Specification of the payments ledger in the job store: earnings per job and party, the client's
// acceptances, the verifiers' attestations, and the upgrade of a version 3 file that adds them.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, afterEach, beforeEach, describe, test } from 'node:test'
import { InvalidInputError, NotFoundError } from '@wholesum/plugin-api'
import { JobStore, JobStoreError, SCHEMA_VERSION, type EarningKey } from './index.ts'
import { migrate } from './schema.ts'
import { newJob, newSegments, peerId, sha256Hex } from './testing/fixtures.ts'

const work = mkdtempSync(join(tmpdir(), 'wholesum-store-earnings-'))
after(() => rmSync(work, { recursive: true, force: true }))
let files = 0
const fresh = (): string => join(work, `case-${files++}`, 'jobs.sqlite')

const invalid = (pattern: RegExp) => (err: unknown) =>
  err instanceof InvalidInputError && err.code === 'INVALID_INPUT' && pattern.test(err.message)

const JOB = sha256Hex('job:ledger')
const OTHER_JOB = sha256Hex('job:other')
const PROVER = `0x${'ab'.repeat(20)}`
const VERIFIER = `0x${'cd'.repeat(20)}`
const CLIENT = `0x${'ef'.repeat(20)}`
const ESCROW = `0x${'12'.repeat(20)}`
const tx = (n: number): string => `0x${sha256Hex(`tx:${n}`)}`
const sig = (n: number): string => `0x${sha256Hex(`r:${n}`)}${sha256Hex(`s:${n}`)}1b`

let now = 1_000
let store: JobStore
beforeEach(() => {
  now = 1_000
  store = JobStore.open(':memory:', { now: () => now })
})
afterEach(() => store.close())

const prover = (jobId = JOB): EarningKey => ({ jobId, role: 'prover', account: PROVER })

describe('migration 4', () => {
  test('a version 3 file is upgraded and keeps its jobs and pins; the new tables work', () => {
    const file = fresh()
    mkdirSync(join(file, '..'), { recursive: true })
    const db = new DatabaseSync(file)
    assert.equal(migrate(db, file, 111, 3), 3)
    const job = newJob('v3', 0)
    db.prepare(
      `INSERT INTO jobs (jobId, role, imageId, programCid, inputCid, po2, segments, status,
         rewardPerSegment, deadline, createdAt, updatedAt, nonce)
       VALUES (?, 'client', ?, ?, ?, 20, 0, 'done', '7', 99, 10, 10, 'n1')`,
    ).run(job.jobId, job.imageId, job.programCid, job.inputCid)
    db.prepare(`INSERT INTO pins (jobId, cid, class, pinnedAt) VALUES (?, ?, 'output', 5)`).run(
      job.jobId,
      job.programCid,
    )
    db.close()

    const upgraded = JobStore.open(file, { now: () => 222 })
    try {
      assert.equal(upgraded.schemaVersion, SCHEMA_VERSION)
      assert.equal(SCHEMA_VERSION, 4)
      assert.equal(upgraded.getJob(job.jobId)?.rewardPerSegment, '7')
      assert.deepEqual(
        upgraded.getPins(job.jobId).map((p) => [p.cid, p.class, p.pinnedAt]),
        [[job.programCid, 'output', 5]],
      )
      upgraded.upsertEarning(
        { jobId: job.jobId, role: 'client', account: CLIENT },
        { earnedWei: '7' },
      )
      assert.equal(upgraded.addAcceptances(job.jobId, PROVER, []), 0)
      assert.deepEqual(upgraded.getAttestations(job.jobId), [])
      assert.equal(upgraded.getEarnings()[0]?.createdAt, 222)
    } finally {
      upgraded.close()
    }
    const check = new DatabaseSync(file)
    assert.deepEqual(
      check
        .prepare('SELECT version, appliedAt FROM schema_version WHERE version > 2 ORDER BY version')
        .all()
        .map((r) => ({ ...r })),
      [
        { version: 3, appliedAt: 111 },
        { version: 4, appliedAt: 222 },
      ],
    )
    check.close()
  })

  test('the ledger outlives the job row it is about', () => {
    const job = store.createJob(newJob('gone', 1), newSegments('gone', 1))
    store.upsertEarning({ jobId: job.jobId, role: 'client', account: CLIENT }, { earnedWei: '100' })
    store.addAcceptances(job.jobId, PROVER, [{ segment: 0, amountWei: '5', signature: sig(0) }])
    assert.equal(store.deleteJob(job.jobId), true)
    assert.equal(store.getEarnings({ jobId: job.jobId }).length, 1)
    assert.equal(store.getAcceptances(job.jobId).length, 1)
  })
})

describe('earnings', () => {
  test('an upsert creates a row with defaults, then patches only what it is given', () => {
    const created = store.upsertEarning(prover(), {
      peer: peerId('prover'),
      counterparty: peerId('client'),
      chainId: 31337,
      escrow: ESCROW.toUpperCase().replace('0X', '0x'),
    })
    assert.deepEqual(created, {
      jobId: JOB,
      role: 'prover',
      account: PROVER,
      peer: peerId('prover'),
      counterparty: peerId('client'),
      chainId: 31337,
      escrow: ESCROW,
      segments: 0,
      earnedWei: '0',
      paidWei: '0',
      slashedWei: '0',
      status: 'earning',
      txHashes: [],
      createdAt: 1_000,
      updatedAt: 1_000,
    })

    now = 2_000
    const patched = store.upsertEarning(
      { ...prover(), account: PROVER.toUpperCase().replace('0X', '0x') },
      { segments: 3, earnedWei: '4500', status: 'pending', reason: 'waiting for the settlement' },
    )
    assert.equal(patched.account, PROVER, 'a checksummed address names the same row')
    assert.equal(patched.segments, 3)
    assert.equal(patched.earnedWei, '4500')
    assert.equal(patched.status, 'pending')
    assert.equal(patched.reason, 'waiting for the settlement')
    assert.equal(patched.peer, peerId('prover'), 'fields not in the patch stay')
    assert.equal(patched.createdAt, 1_000)
    assert.equal(patched.updatedAt, 2_000)

    now = 3_000
    const paid = store.upsertEarning(prover(), { paidWei: '4500', status: 'paid', reason: null })
    assert.equal(paid.reason, undefined, 'null clears the reason')
    assert.equal('reason' in paid, false)
    assert.equal(store.getEarnings().length, 1)
  })

  test("a client's row starts locked, with no segments; a verifier's starts earning", () => {
    const client = store.upsertEarning(
      { jobId: JOB, role: 'client', account: CLIENT },
      { earnedWei: '10000' },
    )
    assert.equal(client.status, 'locked')
    assert.equal(client.segments, undefined)
    const verifier = store.upsertEarning(
      { jobId: JOB, role: 'verifier', account: VERIFIER },
      { earnedWei: '50' },
    )
    assert.equal(verifier.status, 'earning')
    assert.equal(verifier.segments, undefined)
  })

  test('bad amounts, statuses, addresses and fields are refused, and nothing is written', () => {
    const refused: [string, () => unknown, RegExp][] = [
      [
        'a fraction of wei',
        () => store.upsertEarning(prover(), { earnedWei: '1.5' }),
        /patch\.earnedWei must be a whole number of wei/,
      ],
      [
        'a negative amount',
        () => store.upsertEarning(prover(), { paidWei: '-1' }),
        /patch\.paidWei/,
      ],
      [
        'a leading zero',
        () => store.upsertEarning(prover(), { slashedWei: '01' }),
        /patch\.slashedWei/,
      ],
      [
        'a number, not a string',
        () => store.upsertEarning(prover(), { earnedWei: 5 as unknown as string }),
        /patch\.earnedWei .*got 5/,
      ],
      [
        'more than a uint256',
        () => store.upsertEarning(prover(), { earnedWei: (1n << 256n).toString() }),
        /at most 2\^256 - 1/,
      ],
      [
        'an unknown status',
        () => store.upsertEarning(prover(), { status: 'lost' as 'paid' }),
        /patch\.status must be one of earning, pending, paid/,
      ],
      [
        "a client's status on a prover",
        () => store.upsertEarning(prover(), { status: 'locked' }),
        /patch\.status must be one of/,
      ],
      [
        "a prover's status on the client",
        () =>
          store.upsertEarning({ jobId: JOB, role: 'client', account: CLIENT }, { status: 'paid' }),
        /patch\.status must be one of locked, refunded/,
      ],
      [
        'a short address',
        () => store.upsertEarning({ ...prover(), account: '0x1234' }, {}),
        /key\.account must be an EVM address/,
      ],
      [
        'an address without 0x',
        () => store.upsertEarning({ ...prover(), account: 'ab'.repeat(20) }, {}),
        /key\.account/,
      ],
      [
        'a bad escrow address',
        () => store.upsertEarning(prover(), { escrow: `0x${'zz'.repeat(20)}` }),
        /patch\.escrow must be an EVM address/,
      ],
      [
        'an unknown role',
        () => store.upsertEarning({ ...prover(), role: 'miner' as 'prover' }, {}),
        /key\.role must be one of prover, verifier, client/,
      ],
      [
        'a job ID that is not hex',
        () => store.upsertEarning({ ...prover(), jobId: 'job-1' }, {}),
        /key\.jobId must be lowercase hex/,
      ],
      [
        'a field the ledger does not have',
        () => store.upsertEarning(prover(), { fee: '1' } as object),
        /patch\.fee cannot be set \(settable: peer, counterparty/,
      ],
      [
        "segments on a verifier's row",
        () =>
          store.upsertEarning({ jobId: JOB, role: 'verifier', account: VERIFIER }, { segments: 1 }),
        /a verifier's row has none/,
      ],
      [
        "a counterparty on the client's row",
        () =>
          store.upsertEarning(
            { jobId: JOB, role: 'client', account: CLIENT },
            { counterparty: peerId('x') },
          ),
        /a client's own row has none/,
      ],
      [
        'chain ID 0',
        () => store.upsertEarning(prover(), { chainId: 0 }),
        /patch\.chainId must be a chain ID/,
      ],
      [
        'a bad peer ID',
        () => store.upsertEarning(prover(), { peer: 'not a peer' }),
        /patch\.peer must be a peer ID/,
      ],
      [
        'a bad tx hash',
        () => store.upsertEarning(prover(), { addTx: { kind: 'claim', hash: '0x12' } }),
        /patch\.addTx\.hash must be a transaction hash/,
      ],
      [
        'a bad tx kind',
        () => store.upsertEarning(prover(), { addTx: { kind: 'Claim!', hash: tx(1) } }),
        /patch\.addTx\.kind/,
      ],
      [
        'a status filter that is not a list',
        () => store.getEarnings({ status: 'paid' as unknown as ['paid'] }),
        /filter\.status must be an array/,
      ],
      [
        'an unknown status in a filter',
        () => store.getEarnings({ status: ['paid', 'gone' as 'paid'] }),
        /filter\.status\[1\] must be one of/,
      ],
    ]
    for (const [what, call, message] of refused) assert.throws(call, invalid(message), what)
    assert.deepEqual(store.getEarnings(), [])

    store.upsertEarning(prover(), { earnedWei: '10' })
    assert.throws(
      () => store.upsertEarning(prover(), { earnedWei: '20', paidWei: 'x' }),
      invalid(/patch\.paidWei/),
    )
    assert.equal(store.getEarnings()[0]?.earnedWei, '10', 'a refused patch changes nothing')
  })

  test('a transaction is appended once; the same hash under another kind is refused', () => {
    store.upsertEarning(prover(), { addTx: { kind: 'collateral', hash: tx(1) } })
    now = 2_000
    store.upsertEarning(prover(), {
      addTx: { kind: 'claim', hash: tx(2).toUpperCase().replace('0X', '0x') },
    })
    const again = store.upsertEarning(prover(), {
      status: 'paid',
      addTx: { kind: 'claim', hash: tx(2) },
    })
    assert.deepEqual(again.txHashes, [
      { kind: 'collateral', hash: tx(1) },
      { kind: 'claim', hash: tx(2) },
    ])
    assert.equal(again.status, 'paid', 'the rest of the patch applies')
    assert.throws(
      () => store.upsertEarning(prover(), { addTx: { kind: 'refund', hash: tx(1) } }),
      invalid(
        /transaction 0x[0-9a-f]{64} is already recorded as collateral .* cannot also be refund/,
      ),
    )
    assert.equal(store.getEarnings()[0]?.txHashes.length, 2)
  })

  test('rows are listed newest first and filtered by job, role and any of some statuses', () => {
    store.upsertEarning(prover(OTHER_JOB), { status: 'paid' })
    now = 2_000
    store.upsertEarning({ jobId: JOB, role: 'client', account: CLIENT }, {})
    now = 3_000
    store.upsertEarning(prover(), { status: 'pending' })
    store.upsertEarning({ jobId: JOB, role: 'verifier', account: VERIFIER }, { status: 'refused' })
    const key = (r: { jobId: string; role: string }) =>
      `${r.jobId === JOB ? 'job' : 'other'} ${r.role}`
    assert.deepEqual(store.getEarnings().map(key), [
      'job prover',
      'job verifier',
      'job client',
      'other prover',
    ])
    assert.deepEqual(store.getEarnings({ jobId: JOB, role: 'prover' }).map(key), ['job prover'])
    assert.deepEqual(store.getEarnings({ status: ['paid', 'refused'] }).map(key), [
      'job verifier',
      'other prover',
    ])
    assert.deepEqual(store.getEarnings({ status: [] }), [])
    assert.deepEqual(store.getEarnings({ jobId: sha256Hex('nothing') }), [])
  })

  test('totals per role are exact bigint sums past 2^53; only open rows count as pending', () => {
    const big = 2n ** 53n + 1n // 9007199254740993: a double would round it
    const wei = (n: bigint) => n.toString()
    store.upsertEarning(prover(), {
      earnedWei: wei(big * 3n),
      paidWei: wei(big),
      status: 'partly-paid',
    })
    store.upsertEarning(
      { ...prover(OTHER_JOB), account: `0x${'01'.repeat(20)}` },
      { earnedWei: wei(10n ** 30n), status: 'pending' },
    )
    store.upsertEarning(
      { jobId: OTHER_JOB, role: 'prover', account: PROVER },
      { earnedWei: wei(big), slashedWei: wei(big), status: 'slashed' },
    )
    store.upsertEarning(
      { jobId: JOB, role: 'verifier', account: VERIFIER },
      { earnedWei: '50', status: 'unpaid', reason: 'the claim window closed' },
    )
    store.upsertEarning(
      { jobId: JOB, role: 'client', account: CLIENT },
      { earnedWei: wei(10n ** 30n), paidWei: '7', status: 'refunded' },
    )
    // paid more than earned (the larger of leaf and acceptances): nothing pending, never negative
    store.upsertEarning(
      { jobId: OTHER_JOB, role: 'verifier', account: VERIFIER },
      { earnedWei: '10', paidWei: '15', status: 'partly-paid' },
    )

    assert.deepEqual(store.earningTotals(), {
      prover: {
        entries: 3,
        earnedWei: wei(big * 4n + 10n ** 30n),
        paidWei: wei(big),
        slashedWei: wei(big),
        pendingWei: wei(big * 2n + 10n ** 30n),
      },
      verifier: { entries: 2, earnedWei: '60', paidWei: '15', slashedWei: '0', pendingWei: '0' },
      client: {
        entries: 1,
        earnedWei: wei(10n ** 30n),
        paidWei: '7',
        slashedWei: '0',
        pendingWei: '0',
      },
    })
    assert.deepEqual(store.earningTotals({ jobId: JOB, role: 'prover' }).prover, {
      entries: 1,
      earnedWei: wei(big * 3n),
      paidWei: wei(big),
      slashedWei: '0',
      pendingWei: wei(big * 2n),
    })
    assert.equal(store.earningTotals({ role: 'client' }).prover.entries, 0)
  })

  test('a row holding a status no version writes is reported as corrupt', () => {
    const file = fresh()
    const onDisk = JobStore.open(file)
    onDisk.upsertEarning(prover(), {})
    const db = new DatabaseSync(file)
    db.prepare(`UPDATE earnings SET status = 'stolen'`).run()
    db.close()
    assert.throws(
      () => onDisk.getEarnings(),
      (err) =>
        err instanceof JobStoreError &&
        err.code === 'CORRUPT' &&
        /earnings\.status should be one of earning.*holds "stolen"/.test(err.message),
    )
    onDisk.close()
  })
})

describe('acceptances', () => {
  const accept = (segment: number, amountWei = '1500') => ({
    segment,
    amountWei,
    signature: sig(segment),
  })

  test('new acceptances are kept, ones already held are ignored; they come back by segment', () => {
    assert.equal(store.addAcceptances(JOB, PROVER, [accept(2), accept(0), accept(1)]), 3)
    now = 2_000
    assert.equal(
      store.addAcceptances(JOB, PROVER.toUpperCase().replace('0X', '0x'), [
        accept(1, '9'),
        accept(3),
        accept(3),
      ]),
      1,
      'segment 1 was held, segment 3 is new once',
    )
    store.addAcceptances(JOB, VERIFIER, [accept(1)])
    store.addAcceptances(OTHER_JOB, PROVER, [accept(0)])
    const mine = store.getAcceptances(JOB, PROVER)
    assert.deepEqual(
      mine.map((a) => [a.segment, a.amountWei, a.receivedAt]),
      [
        [0, '1500', 1_000],
        [1, '1500', 1_000],
        [2, '1500', 1_000],
        [3, '1500', 2_000],
      ],
    )
    assert.deepEqual(mine[0], {
      jobId: JOB,
      segment: 0,
      account: PROVER,
      amountWei: '1500',
      signature: sig(0),
      receivedAt: 1_000,
    })
    assert.deepEqual(
      store.getAcceptances(JOB).map((a) => `${a.segment}:${a.account.slice(2, 4)}`),
      ['0:ab', '1:ab', '1:cd', '2:ab', '3:ab'],
    )
    assert.deepEqual(
      store.getAcceptances(JOB, PROVER, { after: 0, limit: 2 }).map((a) => a.segment),
      [1, 2],
    )
    assert.deepEqual(store.getAcceptances(JOB, PROVER, { after: 3 }), [])
  })

  test('bad acceptances are refused, and none of the list is kept', () => {
    const refused: [string, () => unknown, RegExp][] = [
      [
        'a short signature',
        () => store.addAcceptances(JOB, PROVER, [accept(0), { ...accept(1), signature: '0x1234' }]),
        /acceptances\[1\]\.signature must be a 65-byte signature/,
      ],
      [
        'a fractional amount',
        () => store.addAcceptances(JOB, PROVER, [accept(0, '1.5')]),
        /acceptances\[0\]\.amountWei/,
      ],
      [
        'an amount past a uint128',
        () => store.addAcceptances(JOB, PROVER, [accept(0, (1n << 128n).toString())]),
        /must fit a uint128/,
      ],
      [
        'a segment past a uint32',
        () => store.addAcceptances(JOB, PROVER, [accept(2 ** 32)]),
        /must fit a uint32/,
      ],
      [
        'a negative segment',
        () => store.addAcceptances(JOB, PROVER, [accept(-1)]),
        /acceptances\[0\]\.segment must be a whole number/,
      ],
      [
        'a bad account',
        () => store.addAcceptances(JOB, 'prover', [accept(0)]),
        /account must be an EVM address/,
      ],
      [
        'not a list',
        () => store.addAcceptances(JOB, PROVER, accept(0) as unknown as []),
        /acceptances must be an array/,
      ],
    ]
    for (const [what, call, message] of refused) assert.throws(call, invalid(message), what)
    assert.deepEqual(store.getAcceptances(JOB), [])
  })
})

describe('attestations', () => {
  const digest = (text: string) => sha256Hex(text)
  const envelope = new Uint8Array([0xa2, 0x61, 0x76, 0x00, 0xff, 0x10])
  const attestation = (name: string) => ({
    jobId: JOB,
    verifier: peerId(name),
    account: VERIFIER,
    verdict: 'valid' as const,
    receiptDigest: digest('receipt'),
    journalDigest: `0x${sha256Hex('journal').toUpperCase()}`,
    envelope,
    agrees: true,
  })

  test('an attestation reads back with its envelope byte for byte; unknowns stay absent', () => {
    const kept = store.putAttestation(attestation('v1'))
    assert.deepEqual(kept, {
      jobId: JOB,
      verifier: peerId('v1'),
      account: VERIFIER,
      verdict: 'valid',
      receiptDigest: digest('receipt'),
      journalDigest: digest('journal'),
      envelope,
      agrees: true,
      receivedAt: 1_000,
    })
    now = 2_000
    store.putAttestation({
      jobId: JOB,
      verifier: peerId('v2'),
      verdict: 'invalid',
      receiptDigest: sha256Hex('receipt'),
      reason: 'the receipt does not verify against the image ID',
      envelope: new Uint8Array([1]),
      agrees: false,
    })
    store.putAttestation({ ...attestation('v0'), agrees: null, account: null, receivedAt: 1_500 })
    const all = store.getAttestations(JOB)
    assert.deepEqual(
      all.map((a) => [a.verifier, a.verdict, a.agrees, a.account]),
      [
        [peerId('v1'), 'valid', true, VERIFIER],
        [peerId('v0'), 'valid', undefined, undefined],
        [peerId('v2'), 'invalid', false, undefined],
      ],
    )
    assert.equal(all[2]?.reason, 'the receipt does not verify against the image ID')
    assert.ok(all[0]?.envelope instanceof Uint8Array)
    assert.deepEqual(store.getAttestations(OTHER_JOB), [])
  })

  test('a settlement signature is set later, and survives a repeat of the same verdict', () => {
    store.putAttestation(attestation('v1'))
    assert.throws(
      () => store.setAttestationSignature(JOB, peerId('nobody'), sig(1)),
      (err) => err instanceof NotFoundError && /no attestation of 12D3KooW/.test(err.message),
    )
    const signed = store.setAttestationSignature(
      JOB,
      peerId('v1'),
      sig(1).toUpperCase().replace('0X', '0x'),
    )
    assert.equal(signed.settlementSignature, sig(1))
    now = 2_000
    const repeated = store.putAttestation(attestation('v1'))
    assert.equal(repeated.settlementSignature, sig(1), 'same digests: the signature stands')
    assert.equal(repeated.receivedAt, 2_000)
    const changed = store.putAttestation({ ...attestation('v1'), receiptDigest: digest('another') })
    assert.equal(changed.settlementSignature, undefined, 'another receipt: the old signature goes')
    const given = store.putAttestation({ ...attestation('v1'), settlementSignature: sig(2) })
    assert.equal(given.settlementSignature, sig(2))
  })

  test('bad attestations are refused naming the field', () => {
    const refused: [string, () => unknown, RegExp][] = [
      [
        'an unknown verdict',
        () => store.putAttestation({ ...attestation('v'), verdict: 'maybe' as 'valid' }),
        /attestation\.verdict must be one of valid, invalid/,
      ],
      [
        'a short digest',
        () => store.putAttestation({ ...attestation('v'), receiptDigest: '0x12' }),
        /attestation\.receiptDigest must be 32 bytes/,
      ],
      [
        'an empty envelope',
        () => store.putAttestation({ ...attestation('v'), envelope: new Uint8Array() }),
        /attestation\.envelope must be 1 to 65536 bytes.*got 0 bytes/,
      ],
      [
        'an envelope as text',
        () =>
          store.putAttestation({
            ...attestation('v'),
            envelope: 'signed' as unknown as Uint8Array,
          }),
        /attestation\.envelope/,
      ],
      [
        'a bad verifier peer ID',
        () => store.putAttestation({ ...attestation('v'), verifier: 'x' }),
        /attestation\.verifier must be a peer ID/,
      ],
      [
        'a bad signature',
        () =>
          store.putAttestation({ ...attestation('v'), settlementSignature: sig(1).slice(0, 20) }),
        /attestation\.settlementSignature/,
      ],
      [
        'agrees as a number',
        () => store.putAttestation({ ...attestation('v'), agrees: 1 as unknown as boolean }),
        /attestation\.agrees must be true or false/,
      ],
    ]
    for (const [what, call, message] of refused) assert.throws(call, invalid(message), what)
    assert.deepEqual(store.getAttestations(JOB), [])
  })
})
