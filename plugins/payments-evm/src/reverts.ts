// Turns what viem throws when the escrow refuses a call into EscrowRevertError, with the contract's
// custom error decoded from the revert data (its ABI knows every error the contract can raise).

import { escrowAbi } from '@wholesum/escrow'
import { EscrowRevertError, type Hex } from '@wholesum/plugin-api'
import { BaseError, decodeErrorResult, ExecutionRevertedError, isHex } from 'viem'

/** The revert data somewhere in viem's chain of causes, if the node returned any. */
function revertData(err: BaseError): Hex | undefined {
  let found: Hex | undefined
  err.walk((cause) => {
    const data = (cause as { data?: unknown }).data
    if (typeof data === 'string' && isHex(data)) {
      found = data
      return true
    }
    return false
  })
  return found
}

function isRevert(err: BaseError): boolean {
  return err.walk((cause) => cause instanceof ExecutionRevertedError) !== null
}

/**
 * The EscrowRevertError `err` stands for, or undefined when it is no revert (a network failure, an
 * account without funds). `call` names the refused call in the message.
 */
export function escrowRevertOf(
  err: unknown,
  call: string,
  transactionHash?: Hex,
): EscrowRevertError | undefined {
  if (!(err instanceof BaseError)) return undefined
  const data = revertData(err)
  const options = { cause: err, ...(transactionHash !== undefined ? { transactionHash } : {}) }
  if (data !== undefined && data !== '0x') {
    try {
      const decoded = decodeErrorResult({ abi: escrowAbi, data })
      return new EscrowRevertError(call, decoded.errorName, decoded.args ?? [], options)
    } catch {
      return new EscrowRevertError(call, 'unknown', [data], options)
    }
  }
  if (data === '0x' || isRevert(err)) return new EscrowRevertError(call, 'unknown', [], options)
  return undefined
}
