// How `wholesum earnings` shows the ledger: amounts in ETH, the table's columns, the totals line.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Earning, EarningList, EarningSums } from '@wholesum/api-client'
import { formatEarnings, formatEth } from './earnings.ts'

const zero: EarningSums = {
  entries: 0,
  earnedWei: '0',
  paidWei: '0',
  slashedWei: '0',
  pendingWei: '0',
}

const JOB = 'a1b2c3d4e5f6'.padEnd(64, '0')

function entry(overrides: Partial<Earning>): Earning {
  return {
    jobId: JOB,
    role: 'prover',
    account: `0x${'ab'.repeat(20)}`,
    segments: 4,
    earnedWei: '0',
    paidWei: '0',
    slashedWei: '0',
    status: 'earning',
    txHashes: [],
    createdAt: 1,
    updatedAt: 1,
    ...overrides,
  }
}

describe('formatEth', () => {
  const cases: [string, string][] = [
    ['0', '0'],
    ['1000000000000000000', '1'],
    ['1500000000000000000', '1.5'],
    ['1000000000000', '0.000001'],
    ['999999999999', '<0.000001'],
    ['1', '<0.000001'],
    ['1234567891234567891', '1.234567'],
    ['123456789000000000000000000000', '123456789000'],
  ]
  for (const [wei, eth] of cases) {
    test(`${wei} wei is ${eth} ETH`, () => assert.equal(formatEth(wei), eth))
  }
})

describe('formatEarnings', () => {
  test('no rows', () => {
    const list: EarningList = {
      entries: [],
      totals: { prover: zero, verifier: zero, client: zero },
    }
    assert.equal(formatEarnings(list), 'no earnings\n')
  })

  test('one line per row in aligned columns, then the totals of the roles shown', () => {
    const list: EarningList = {
      entries: [
        entry({
          earnedWei: '3000000000000000000',
          paidWei: '1000000000000000000',
          status: 'partly-paid',
          reason: 'the escrow could pay only part of the claim; claim again once the budget grows',
          txHashes: [
            { kind: 'collateral', hash: `0x${'11'.repeat(32)}` },
            { kind: 'claim', hash: `0x${'22'.repeat(32)}` },
          ],
        }),
        entry({
          role: 'client',
          account: `0x${'ef'.repeat(20)}`,
          segments: undefined,
          earnedWei: '5000000000000000000',
          status: 'locked',
        }),
      ],
      totals: {
        prover: {
          entries: 1,
          earnedWei: '3000000000000000000',
          paidWei: '1000000000000000000',
          slashedWei: '0',
          pendingWei: '2000000000000000000',
        },
        verifier: zero,
        client: { ...zero, entries: 1, earnedWei: '5000000000000000000' },
      },
    }
    const lines = formatEarnings(list).split('\n')
    assert.deepEqual(lines, [
      'JOB           ROLE    ACCOUNT     SEGMENTS  EARNED  PAID  SLASHED  STATUS       REASON                                    LAST TX',
      'a1b2c3d4e5f6  prover  0xabababab  4         3       1     0        partly-paid  the escrow could pay only part of the c…  claim 0x22222222',
      'a1b2c3d4e5f6  client  0xefefefef  -         5       0     0        locked       -                                         -',
      'total (ETH): prover earned 3, paid 1, slashed 0, pending 2; client budget 5, refunded 0',
      '',
    ])
  })
})
