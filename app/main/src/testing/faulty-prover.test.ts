// The lying provers lie as documented: checked against the receipt double's own verifier.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VerificationError, WorkerError } from '@wholesum/plugin-api'
import { faultyProver } from './faulty-prover.ts'
import { ReceiptDouble } from './receipt-double.ts'

let work = ''
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wholesum-faulty-'))
})
after(() => (work === '' ? undefined : rm(work, { recursive: true, force: true })))

async function segmentsOf(plugin: ReceiptDouble, dir: string) {
  const program = join(work, 'program.bin')
  const input = join(work, 'input.bin')
  await writeFile(program, 'program')
  await writeFile(input, 'input')
  return (await plugin.execute({ program, input, po2: 16, outDir: dir })).segments
}

describe('faulty provers', () => {
  test('corrupt: every segment receipt it makes fails verification; the honest plugin would pass', async () => {
    const honest = new ReceiptDouble({ segments: 3, proveMs: 0 })
    const liar = faultyProver(honest, 'corrupt')
    const dir = join(work, 'corrupt')
    for (const segment of await segmentsOf(honest, dir)) {
      const out = join(dir, `segment-${segment.index}.receipt`)
      await liar.proveSegment({ segment: segment.path, out })
      await assert.rejects(
        liar.verifySegment({
          receipt: out,
          expectedClaim: segment.claimDigest,
          index: segment.index,
        }),
        VerificationError,
      )
      // The same segment proved honestly verifies: the lie is the decorator's, not the double's.
      const honestOut = `${out}.check`
      await honest.proveSegment({ segment: segment.path, out: honestOut })
      await honest.verifySegment({
        receipt: honestOut,
        expectedClaim: segment.claimDigest,
        index: segment.index,
      })
    }
  })

  test('wrong-segment: withholds its first receipt, then hands in each previous segment for the next', async () => {
    const honest = new ReceiptDouble({ segments: 3, proveMs: 0 })
    const liar = faultyProver(honest, 'wrong-segment')
    const dir = join(work, 'wrong')
    const [first, second, third] = await segmentsOf(honest, dir)
    await assert.rejects(
      liar.proveSegment({ segment: first!.path, out: join(dir, 'a.receipt') }),
      (err: unknown) => err instanceof WorkerError && /withheld/.test(err.message),
    )
    for (const [segment, swapped] of [
      [second!, first!],
      [third!, second!],
    ] as const) {
      const out = join(dir, `segment-${segment.index}.receipt`)
      const result = await liar.proveSegment({ segment: segment.path, out })
      assert.equal(result.claimDigest, swapped.claimDigest)
      await assert.rejects(
        liar.verifySegment({
          receipt: out,
          expectedClaim: segment.claimDigest,
          index: segment.index,
        }),
        new RegExp(`is for segment ${swapped.index}, not ${segment.index}`),
      )
    }
  })
})
