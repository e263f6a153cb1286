import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parsePaymentsSettings } from './payments-settings.ts'

describe('payments settings', () => {
  it('absent: the node pays and is paid nothing', () => {
    assert.equal(parsePaymentsSettings(undefined), undefined)
  })

  it('defaults: three verifiers, a majority quorum, a day to claim, 0.001 ether of collateral', () => {
    assert.deepEqual(parsePaymentsSettings({}), {
      collateral: 10n ** 15n,
      claimWindowS: 86_400,
      verifiers: 3,
      quorum: 2,
    })
  })

  it('reads wei from decimal strings, past 2^53', () => {
    const s = parsePaymentsSettings({ collateral: '123456789012345678901', registerBond: '1' })
    assert.equal(s?.collateral, 123456789012345678901n)
    assert.equal(s?.registerBond, 1n)
  })

  it('refuses numbers for wei, a quorum over the verifiers, and unknown keys, naming them', () => {
    assert.throws(() => parsePaymentsSettings({ collateral: 5 }), /payments.collateral/)
    assert.throws(
      () => parsePaymentsSettings({ collateral: '0' }),
      /payments.collateral must be above 0/,
    )
    assert.throws(() => parsePaymentsSettings({ verifiers: 2, quorum: 3 }), /payments.quorum/)
    assert.throws(() => parsePaymentsSettings({ colateral: '1' }), /payments.colateral/)
    assert.throws(() => parsePaymentsSettings('yes'), /must be an object/)
  })
})
