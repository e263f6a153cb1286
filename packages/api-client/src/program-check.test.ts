// The program check against the sample guests (real risc0 program binaries), this machine's own
// x86-64 binaries, and files cut or made up to be wrong.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { checkProgram, isProgramProblem } from './program-check.ts'

const dist = fileURLToPath(new URL('../../../plugins/prover-risc0/guests/dist/', import.meta.url))
const MAX = 32 * 2 ** 20
const hello = () => readFile(`${dist}hello.bin`)

function refused(bytes: Uint8Array, max = MAX): string {
  const verdict = checkProgram(bytes, max)
  assert.ok(isProgramProblem(verdict), `expected a refusal, got ${JSON.stringify(verdict)}`)
  return verdict.message
}

describe('checkProgram', () => {
  test('the sample guests are RISC Zero program binaries whose ELFs are whole', async () => {
    for (const guest of ['hello', 'hashchain', 'l2-batch']) {
      const verdict = checkProgram(await readFile(`${dist}${guest}.bin`), MAX)
      assert.ok(!isProgramProblem(verdict), `${guest}: ${JSON.stringify(verdict)}`)
      assert.equal(verdict.kind, 'program-binary')
    }
  })

  test("a plain guest ELF (the program binary's user ELF) passes as an ELF", async () => {
    const bytes = await hello()
    const view = new DataView(bytes.buffer, bytes.byteOffset)
    const headerLength = view.getUint32(8, true)
    const userLength = view.getUint32(12 + headerLength, true)
    const user = bytes.subarray(16 + headerLength, 16 + headerLength + userLength)
    const verdict = checkProgram(user, MAX)
    assert.ok(!isProgramProblem(verdict), JSON.stringify(verdict))
    assert.equal(verdict.kind, 'elf')
  })

  test(
    'an x86-64 ELF (this machine’s own node binary) is named as such',
    { skip: !existsSync('/bin/ls') },
    async () => {
      assert.match(
        refused(await readFile('/bin/ls')),
        /64-bit ELF for x86-64; the zkVM runs 32-bit/,
      )
    },
  )

  test('a program binary cut short anywhere is truncated, never accepted', async () => {
    const bytes = await hello()
    for (const cut of [6, 10, 20, 400, Math.floor(bytes.length / 2), bytes.length - 1]) {
      assert.match(refused(bytes.subarray(0, cut)), /truncated/, `cut at ${cut}`)
    }
  })

  test('empty, text, oversized and unknown format versions get their own messages', async () => {
    assert.match(refused(new Uint8Array()), /empty/)
    assert.match(
      refused(new TextEncoder().encode('hello world')),
      /neither .* nor an ELF \(it starts with 68656c6c\)/,
    )
    const bytes = await hello()
    const verdict = checkProgram(bytes, 1000)
    assert.ok(isProgramProblem(verdict) && verdict.code === 'INPUT_TOO_LARGE')
    const future = Uint8Array.from(bytes)
    future[4] = 2
    assert.match(refused(future), /format version 2; this node reads version 1/)
  })

  test('an ELF for another machine or class inside a program binary is refused', async () => {
    const bytes = Uint8Array.from(await hello())
    const view = new DataView(bytes.buffer)
    const userAt = 16 + view.getUint32(8, true)
    view.setUint16(userAt + 18, 62, true) // x86-64
    assert.match(refused(bytes), /user ELF is a 32-bit ELF for x86-64/)
  })
})
