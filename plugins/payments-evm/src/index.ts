// Plugin entry: payments through the Wholesum escrow contract on an EVM chain (viem).
//
// Settings (the plugin's section):
// - rpcUrl (required): the chain's http(s) JSON-RPC endpoint. There is no default: nothing is
//   contacted unless configured.
// - chainId (required): the chain the RPC must serve; checked at start.
// - escrow (required): the WholesumEscrow's address; checked at start (code and EIP-712 domain).
// - keystoreFile (default <dataDir>/evm-key.json; relative to dataDir): the node's key, a Web3
//   Secret Storage keystore, created with a fresh key on first start.
// - passwordFile: a file whose first line is the keystore's password; without it the password
//   comes from the environment variable WHOLESUM_EVM_PASSWORD.
// - confirmations (default 1): blocks a transaction needs before a call resolves.
// - pollingIntervalMs (default 1000): how often receipts are polled for.

import { definePlugin } from '@wholesum/plugin-api'
import { shownUrl } from './connect.ts'
import { createEvmPayments } from './evm-payments.ts'
import { readPassword, readSettings } from './settings.ts'

export {
  createEvmPayments,
  EvmPayments,
  DEFAULT_POLLING_INTERVAL_MS,
  DEFAULT_RECEIPT_TIMEOUT_MS,
  type EvmPaymentsOptions,
} from './evm-payments.ts'
export { openNodeKey, type NodeKey, type OpenNodeKeyOptions } from './keystore-file.ts'
export {
  readSettings,
  readPassword,
  PASSWORD_ENV,
  DEFAULT_KEYSTORE_FILE,
  type EvmPaymentsSettings,
} from './settings.ts'
export { escrowRevertOf } from './reverts.ts'

export default definePlugin(async (ctx) => {
  const settings = readSettings(ctx.settings, ctx.dataDir)
  const { password, source } = await readPassword(settings.passwordFile, process.env)
  const payments = await createEvmPayments({
    rpcUrl: settings.rpcUrl,
    chainId: settings.chainId,
    escrow: settings.escrow,
    keystoreFile: settings.keystoreFile,
    password,
    confirmations: settings.confirmations,
    ...(settings.pollingIntervalMs !== undefined
      ? { pollingIntervalMs: settings.pollingIntervalMs }
      : {}),
  })
  const fields = {
    rpc: shownUrl(settings.rpcUrl),
    chainId: payments.chainId,
    escrow: payments.escrow,
    account: payments.account,
    keystoreFile: settings.keystoreFile,
    password: `from ${source}`,
    confirmations: settings.confirmations,
  }
  if (payments.keyCreated) {
    ctx.logger.warn(
      'created a new EVM key: fund its account before it pays or posts collateral',
      fields,
    )
  } else {
    ctx.logger.info('EVM payments ready', fields)
  }
  return { payments }
})
