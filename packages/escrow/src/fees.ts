// What an account paid for gas: summed from every transaction it sent on the chain. For a local
// chain (a devnet, tests), where balances are checked to the wei with gas taken out.

import type { Address, PublicClient } from 'viem'

export async function feesPaidBy(
  client: Pick<PublicClient, 'getBlockNumber' | 'getBlock' | 'getTransactionReceipt'>,
  address: Address,
): Promise<bigint> {
  const latest = await client.getBlockNumber()
  let fees = 0n
  for (let n = 0n; n <= latest; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true })
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== address.toLowerCase()) continue
      const receipt = await client.getTransactionReceipt({ hash: tx.hash })
      fees += receipt.gasUsed * receipt.effectiveGasPrice
    }
  }
  return fees
}
