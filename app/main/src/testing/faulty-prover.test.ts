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

  test('wrong-segment: two proofs at once swap receipts; each is valid, for the other segment', async () => {
    const honest = new ReceiptDouble({ segments: 3, proveMs: 0 })
    const liar = faultyProver(honest, 'wrong-segment')
    const dir = join(work, 'wrong')
    const [first, second] = await segmentsOf(honest, dir)
    const out = (i: number) => join(dir, `segment-${i}.receipt`)
    const [a, b] = await Promise.all([
      liar.proveSegment({ segment: first!.path, out: out(0) }),
      liar.proveSegment({ segment: second!.path, out: out(1) }),
    ])
    assert.equal(a.claimDigest, second!.claimDigest)
    assert.equal(b.claimDigest, first!.claimDigest)
    await assert.rejects(
      liar.verifySegment({ receipt: out(0), expectedClaim: first!.claimDigest, index: 0 }),
      /is for segment 1, not 0/,
    )
    await assert.rejects(
      liar.verifySegment({ receipt: out(1), expectedClaim: second!.claimDigest, index: 1 }),
      /is for segment 0, not 1/,
    )
    // Valid receipts all the same: each verifies as the segment it really is.
    await liar.verifySegment({ receipt: out(0), expectedClaim: second!.claimDigest, index: 1 })
  })

  test('wrong-segment: a proof without a partner delivers nothing and ends when aborted', async () => {
    const honest = new ReceiptDouble({ segments: 3, proveMs: 0 })
    const liar = faultyProver(honest, 'wrong-segment')
    const dir = join(work, 'alone')
    const [only] = await segmentsOf(honest, dir)
    const controller = new AbortController()
    const pending = liar.proveSegment({
      segment: only!.path,
      out: join(dir, 'alone.receipt'),
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 50)
    await assert.rejects(
      pending,
      (err: unknown) => err instanceof WorkerError && /partner/.test(err.message),
    )
  })
})
