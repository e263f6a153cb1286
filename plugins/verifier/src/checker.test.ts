// The receipt checker against a real receipt from the risc0 worker: verdicts and digests, refusals
// as `valid: false`, limits, aborts and time limits that take the worker thread down and a fresh
// one that answers the next check.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import {
  AbortError,
  InvalidInputError,
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
  WorkerError,
} from '@wholesum/plugin-api'
import { createReceiptChecker, DEFAULT_MAX_RECEIPT_BYTES, readLimits } from './index.ts'
import type { ReceiptChecker } from './checker.ts'
import {
  ENDLESS_RECEIPT,
  misbehavingVerifier,
  REFUSAL,
  TRAP_RECEIPT,
} from './testing/misbehaving-verifier.ts'
import { proveHello, type ProvedReceipt } from './testing/receipts.ts'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

let hello: ProvedReceipt
let checker: ReceiptChecker
let otherImage: string

before(async () => {
  hello = await proveHello()
  checker = await createReceiptChecker()
  otherImage = (BigInt(`0x${hello.imageId}`) ^ 1n).toString(16).padStart(64, '0')
})

after(() => checker?.close())

describe('a real receipt', () => {
  test('valid: the digests are SHA-256 of the receipt bytes and of the journal', async () => {
    const check = await checker.checkReceipt({ receipt: hello.receipt, imageId: hello.imageId })
    assert.deepEqual(
      { ...check, verifyMs: 0 },
      {
        valid: true,
        receiptDigest: sha256(hello.receipt),
        journalDigest: sha256(hello.journal),
        claimDigest: hello.claimDigest,
        kind: 'composite',
        segments: 1,
        verifyMs: 0,
      },
    )
    assert.ok(check.verifyMs >= 0)
  })

  test('for another image ID: invalid, with the reason and the receipt digest', async () => {
    const check = await checker.checkReceipt({ receipt: hello.receipt, imageId: otherImage })
    assert.equal(check.valid, false)
    assert.match(check.reason ?? '', /does not verify for image/)
    assert.equal(check.receiptDigest, sha256(hello.receipt))
    assert.equal(check.journalDigest, undefined)
  })

  test('with a byte of its seal flipped: invalid', async () => {
    const forged = Uint8Array.from(hello.receipt)
    forged[Math.floor(forged.length / 2)]! ^= 0xff
    const check = await checker.checkReceipt({ receipt: forged, imageId: hello.imageId })
    assert.equal(check.valid, false)
    // Which reason depends on whether the byte lands in a length or in proof data.
    assert.match(check.reason ?? '', /does not verify|not a risc0 receipt/)
    assert.equal(check.receiptDigest, sha256(forged))
  })

  test('checked through a view into a larger buffer: only the view is checked', async () => {
    const padded = new Uint8Array(hello.receipt.length + 16)
    padded.set(hello.receipt, 8)
    const view = padded.subarray(8, 8 + hello.receipt.length)
    const check = await checker.checkReceipt({ receipt: view, imageId: hello.imageId })
    assert.equal(check.valid, true)
    assert.equal(view.length, hello.receipt.length, 'the caller’s bytes are not transferred away')
  })
})

describe('what is not a receipt', () => {
  test('garbage, empty and truncated bytes are invalid, each with its reason', async () => {
    const garbage = new TextEncoder().encode('{"receipt": "trust me"}')
    const cases: Array<[Uint8Array, RegExp]> = [
      [garbage, /not a risc0 receipt/],
      [new Uint8Array(), /the receipt is empty/],
      [hello.receipt.subarray(0, 1000), /not a risc0 receipt/],
    ]
    for (const [receipt, reason] of cases) {
      const check = await checker.checkReceipt({ receipt, imageId: hello.imageId })
      assert.equal(check.valid, false)
      assert.match(check.reason ?? '', reason)
      assert.equal(check.receiptDigest, sha256(receipt))
    }
  })

  test('an image ID that is not 64 hex characters, or a receipt that is not bytes, is refused', async () => {
    await assert.rejects(
      checker.checkReceipt({ receipt: hello.receipt, imageId: 'abc' }),
      (err) => err instanceof InvalidInputError && /64 hex characters/.test(err.message),
    )
    await assert.rejects(
      checker.checkReceipt({
        receipt: 'receipt.bin' as unknown as Uint8Array,
        imageId: hello.imageId,
      }),
      InvalidInputError,
    )
  })
})

describe('limits', () => {
  test('a receipt over maxReceiptBytes is refused with ResourceLimitError before verifying', async () => {
    const small = await createReceiptChecker({ maxReceiptBytes: hello.receipt.length - 1 })
    try {
      await assert.rejects(
        small.checkReceipt({ receipt: hello.receipt, imageId: hello.imageId }),
        (err) =>
          err instanceof ResourceLimitError &&
          err.message.includes(`${hello.receipt.length} bytes`) &&
          /maxReceiptBytes/.test(err.message),
      )
      const fits = hello.receipt.subarray(0, hello.receipt.length - 1)
      assert.equal(
        (await small.checkReceipt({ receipt: fits, imageId: hello.imageId })).valid,
        false,
      )
    } finally {
      await small.close()
    }
  })

  test('defaults: 256 MiB and two minutes; out-of-range settings are refused', () => {
    assert.deepEqual(readLimits({}), {
      timeoutMs: 120_000,
      maxReceiptBytes: DEFAULT_MAX_RECEIPT_BYTES,
    })
    assert.equal(DEFAULT_MAX_RECEIPT_BYTES, 256 * 1024 * 1024)
    assert.throws(() => readLimits({ maxReceiptBytes: 1024 ** 3 }), /maxReceiptBytes .* 536870912/)
    assert.throws(() => readLimits({ timeoutMs: '5s' }), InvalidInputError)
    assert.throws(() => readLimits({ timeoutMs: 0 }), /timeoutMs/)
  })
})

describe('aborts, parallel checks and a misbehaving verifier', () => {
  test('two checks in parallel are both answered, each with its own verdict', async () => {
    const [good, wrongImage] = await Promise.all([
      checker.checkReceipt({ receipt: hello.receipt, imageId: hello.imageId }),
      checker.checkReceipt({ receipt: hello.receipt, imageId: otherImage }),
    ])
    assert.equal(good.valid, true)
    assert.equal(wrongImage.valid, false)
  })

  test('an aborted check rejects with AbortError, and the next check works', async () => {
    const controller = new AbortController()
    const running = checker.checkReceipt({
      receipt: hello.receipt,
      imageId: hello.imageId,
      signal: controller.signal,
    })
    controller.abort()
    await assert.rejects(running, AbortError)
    await assert.rejects(
      checker.checkReceipt({
        receipt: hello.receipt,
        imageId: hello.imageId,
        signal: controller.signal,
      }),
      AbortError,
      'an already aborted signal',
    )
    const check = await checker.checkReceipt({ receipt: hello.receipt, imageId: hello.imageId })
    assert.equal(check.valid, true)
  })

  test('aborting a queued check leaves the running one alone', async () => {
    const controller = new AbortController()
    const first = checker.checkReceipt({ receipt: hello.receipt, imageId: hello.imageId })
    const queued = checker.checkReceipt({
      receipt: hello.receipt,
      imageId: hello.imageId,
      signal: controller.signal,
    })
    controller.abort()
    await assert.rejects(queued, AbortError)
    assert.equal((await first).valid, true)
  })

  test('a check that never ends: the event loop stays free, abort ends it, the next check works', async () => {
    const stuck = await createReceiptChecker({ wasm: misbehavingVerifier() })
    try {
      const controller = new AbortController()
      const endless = stuck.checkReceipt({
        receipt: ENDLESS_RECEIPT,
        imageId: hello.imageId,
        signal: controller.signal,
      })
      // Timers still fire while the verifier spins: it runs on another thread.
      let ticks = 0
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (++ticks === 5) {
            clearInterval(timer)
            resolve()
          }
        }, 10)
      })
      controller.abort()
      await assert.rejects(endless, AbortError)
      const next = await stuck.checkReceipt({
        receipt: Uint8Array.of(1, 2, 3),
        imageId: hello.imageId,
      })
      assert.deepEqual([next.valid, next.reason], [false, REFUSAL])
    } finally {
      await stuck.close()
    }
  })

  test('a check past timeoutMs rejects with TimeoutError, and the next check works', async () => {
    const stuck = await createReceiptChecker({ wasm: misbehavingVerifier(), timeoutMs: 200 })
    try {
      const started = performance.now()
      await assert.rejects(
        stuck.checkReceipt({ receipt: ENDLESS_RECEIPT, imageId: hello.imageId }),
        (err) => err instanceof TimeoutError && /longer than 200 ms/.test(err.message),
      )
      assert.ok(performance.now() - started >= 190)
      const next = await stuck.checkReceipt({
        receipt: Uint8Array.of(1, 2, 3),
        imageId: hello.imageId,
      })
      assert.equal(next.reason, REFUSAL)
    } finally {
      await stuck.close()
    }
  })

  test('a trap in the verifier rejects with WorkerError, and the next check works', async () => {
    const trapping = await createReceiptChecker({ wasm: misbehavingVerifier() })
    try {
      await assert.rejects(
        trapping.checkReceipt({ receipt: TRAP_RECEIPT, imageId: hello.imageId }),
        (err) => err instanceof WorkerError && /verifier crashed on this receipt/.test(err.message),
      )
      const next = await trapping.checkReceipt({
        receipt: Uint8Array.of(1, 2, 3),
        imageId: hello.imageId,
      })
      assert.equal(next.reason, REFUSAL)
    } finally {
      await trapping.close()
    }
  })

  test('close rejects pending checks with AbortError and later ones with UnavailableError', async () => {
    const closing = await createReceiptChecker({ wasm: misbehavingVerifier() })
    const running = closing.checkReceipt({ receipt: ENDLESS_RECEIPT, imageId: hello.imageId })
    const queued = closing.checkReceipt({ receipt: Uint8Array.of(1, 2, 3), imageId: hello.imageId })
    const pending = Promise.all([
      assert.rejects(running, AbortError),
      assert.rejects(queued, AbortError),
    ])
    await closing.close()
    await pending
    await assert.rejects(
      closing.checkReceipt({ receipt: Uint8Array.of(1, 2, 3), imageId: hello.imageId }),
      UnavailableError,
    )
  })

  test('a module that is not the verifier is refused when the checker is created', async () => {
    const empty = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)
    await assert.rejects(
      createReceiptChecker({ wasm: empty }),
      (err) => err instanceof UnavailableError && /missing exports memory/.test(err.message),
    )
    await assert.rejects(
      createReceiptChecker({ wasm: '/nonexistent/receipt_verifier.wasm' }),
      (err) => err instanceof UnavailableError && /cannot read .*nonexistent/.test(err.message),
    )
  })
})
