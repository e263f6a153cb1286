import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InvalidInputError } from '@wholesum/plugin-api'
import { DEFAULT_RETENTION } from './retention.ts'
import { parseStorageSettings } from './settings.ts'

describe('storage settings', () => {
  test('absent: no quota, the default retention', () => {
    assert.deepEqual(parseStorageSettings(undefined), {
      quotaBytes: undefined,
      retention: DEFAULT_RETENTION,
    })
  })

  test('hours and days become ms; outputsDays null keeps outputs', () => {
    assert.deepEqual(
      parseStorageSettings({ quotaBytes: 1024, retention: { workHours: 0.5, outputsDays: 2 } }),
      { quotaBytes: 1024, retention: { workMs: 1_800_000, outputsMs: 172_800_000 } },
    )
    assert.equal(
      parseStorageSettings({ retention: { outputsDays: null } }).retention.outputsMs,
      undefined,
    )
  })

  test('bad values and unknown keys are refused, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ quotaBytes: -1 }, /storage\.quotaBytes must be a whole number/],
      [{ quotaBytes: 1.5 }, /storage\.quotaBytes/],
      [{ retention: { workHours: '1' } }, /storage\.retention\.workHours must be a number/],
      [{ retention: { outputsDays: -2 } }, /storage\.retention\.outputsDays/],
      [{ retention: { keep: 1 } }, /storage\.retention has an unknown key "keep"/],
      [{ quota: 1 }, /storage has an unknown key "quota"/],
      [[], /storage must be an object/],
    ]
    for (const [raw, message] of cases) {
      assert.throws(
        () => parseStorageSettings(raw),
        (err: unknown) => err instanceof InvalidInputError && message.test(err.message),
        JSON.stringify(raw),
      )
    }
  })
})
