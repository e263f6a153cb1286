// Plugin entry: the verify-only receipt checker, risc0's verifier as WebAssembly in a worker
// thread. It needs no prover, no child process and no files of its own.
//
// Settings (all optional):
// - timeoutMs (ms, default 120000): longest one check may spend verifying; past it the worker is
//   terminated and the check rejects with TimeoutError.
// - maxReceiptBytes (bytes, default 268435456 = 256 MiB, at most 512 MiB): larger receipts are
//   refused with ResourceLimitError.

import { definePlugin } from '@wholesum/plugin-api'
import { createReceiptChecker } from './checker.ts'
import { readLimits } from './limits.ts'

export { createReceiptChecker, type ReceiptChecker, type ReceiptCheckerOptions } from './checker.ts'
export {
  readLimits,
  DEFAULT_MAX_RECEIPT_BYTES,
  DEFAULT_TIMEOUT_MS,
  VERIFIER_MAX_RECEIPT_BYTES,
  type CheckerLimits,
} from './limits.ts'

export default definePlugin(async (ctx) => {
  const limits = readLimits({
    timeoutMs: ctx.settings.timeoutMs,
    maxReceiptBytes: ctx.settings.maxReceiptBytes,
  })
  const checker = await createReceiptChecker(limits)
  ctx.signal.addEventListener('abort', () => void checker.close(), { once: true })
  ctx.logger.info('receipt verifier ready', { ...limits })
  return {
    verifier: { checkReceipt: (request) => checker.checkReceipt(request) },
    deactivate: () => checker.close(),
  }
})
