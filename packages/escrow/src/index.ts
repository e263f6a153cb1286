// The escrow contract for viem: its compiled artifact, deployment, EIP-712 messages and
// settlement trees. The contract's source is resources/contracts/src/WholesumEscrow.sol.

import type { Address, Hex, PublicClient, WalletClient } from 'viem'
import artifactJson from '../../../resources/contracts/WholesumEscrow.json' with { type: 'json' }
import type { Artifact } from './compile.ts'
import { escrowAbi } from './abi.ts'

export const escrowArtifact = artifactJson as unknown as Artifact
export { escrowAbi }

export interface EscrowParameters {
  /** The fewest verifier signatures a job may ask for on its settlement and on a fault. */
  readonly minQuorum: number
  /** The least bond (wei) a verifier registers with. */
  readonly minVerifierBond: bigint
  /** The shortest claim window (seconds) a job may have. */
  readonly minClaimWindowS: number
  /** How long (seconds) a retiring verifier's bond stays locked. */
  readonly retireDelayS: number
}

export async function deployEscrow(
  wallet: WalletClient,
  publicClient: PublicClient,
  parameters: EscrowParameters,
): Promise<{ address: Address; transactionHash: Hex; gasUsed: bigint }> {
  const account = wallet.account
  if (account === undefined) throw new Error('deployEscrow needs a wallet with an account')
  const transactionHash = await wallet.deployContract({
    abi: escrowAbi,
    bytecode: escrowArtifact.bytecode,
    account,
    chain: wallet.chain,
    args: [
      parameters.minQuorum,
      parameters.minVerifierBond,
      BigInt(parameters.minClaimWindowS),
      BigInt(parameters.retireDelayS),
    ],
  })
  const receipt = await publicClient.waitForTransactionReceipt({ hash: transactionHash })
  if (receipt.status !== 'success' || receipt.contractAddress == null) {
    throw new Error(`the escrow's deployment failed (${transactionHash})`)
  }
  return { address: receipt.contractAddress, transactionHash, gasUsed: receipt.gasUsed }
}

export * from './typed-data.ts'
export * from './settlement.ts'
export * from './keys.ts'
export * from './fees.ts'
