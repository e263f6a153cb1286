// The devnet's chain: anvil from npm on loopback with the escrow deployed, and a funded account
// per node, its key written as an encrypted keystore in the node's home (the node's payments
// plugin opens it as it would on a real network). Nothing here talks to anything but loopback.

import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { deployEscrow, feesPaidBy, newKeystore } from '@wholesum/escrow'
import { startAnvil, type Anvil } from '@wholesum/escrow/anvil'
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  type Address,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'

/** The devnet's escrow: short windows, so that a devnet shows a whole job's money in minutes. */
export const DEVNET_ESCROW = {
  minQuorum: 1,
  minVerifierBond: 10n ** 18n,
  minClaimWindowS: 10,
  retireDelayS: 60,
} as const

export interface DevnetAccount {
  readonly address: Address
  /** The node's `plugins.payments-evm` settings section. */
  readonly plugin: Record<string, unknown>
}

export interface DevnetChain {
  readonly rpcUrl: string
  readonly chainId: number
  readonly escrow: Address
  /** A new key for the node at `home`, encrypted there, and its account funded. */
  account(home: string, ether?: bigint): Promise<DevnetAccount>
  balance(address: Address): Promise<bigint>
  /** Gas every transaction from `address` cost it, summed over the whole chain (wei). */
  feesPaidBy(address: Address): Promise<bigint>
  /** The chain's clock, unix seconds. */
  now(): Promise<number>
  /** Moves the chain's clock forward (a devnet only: claim windows pass in a moment). */
  advance(seconds: number): Promise<void>
  stop(): Promise<void>
}

const ETHER = 10n ** 18n
/** A devnet key is not worth geth's full scrypt cost: it opens in milliseconds. */
const DEVNET_SCRYPT_N = 4096
const DEVNET_PASSWORD = 'wholesum devnet'

export async function startDevnetChain(): Promise<DevnetChain> {
  const anvil: Anvil = await startAnvil({ accounts: 1 })
  try {
    const chain = defineChain({
      id: anvil.chainId,
      name: 'devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    })
    const transport = http(anvil.rpcUrl)
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 })
    const testClient = createTestClient({ chain, transport, mode: 'anvil' })
    const deployer = createWalletClient({
      chain,
      transport,
      account: mnemonicToAccount(anvil.mnemonic, { addressIndex: 0 }),
    })
    const { address: escrow } = await deployEscrow(deployer, publicClient, DEVNET_ESCROW)
    return {
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      escrow,
      async account(home, ether = 100n) {
        await mkdir(home, { recursive: true })
        const { keystore, address } = newKeystore(DEVNET_PASSWORD, { scryptN: DEVNET_SCRYPT_N })
        const keystoreFile = join(home, 'evm-key.json')
        const passwordFile = join(home, 'evm-password')
        await writeFile(keystoreFile, JSON.stringify(keystore), { mode: 0o600 })
        await writeFile(passwordFile, DEVNET_PASSWORD + '\n', { mode: 0o600 })
        await testClient.setBalance({ address, value: ether * ETHER })
        return {
          address,
          plugin: {
            rpcUrl: anvil.rpcUrl,
            chainId: anvil.chainId,
            escrow,
            keystoreFile,
            passwordFile,
            pollingIntervalMs: 100,
          },
        }
      },
      balance: (address) => publicClient.getBalance({ address }),
      feesPaidBy: (address) => feesPaidBy(publicClient, address),
      async now() {
        return Number((await publicClient.getBlock()).timestamp)
      },
      async advance(seconds) {
        await testClient.increaseTime({ seconds })
        await testClient.mine({ blocks: 1 })
      },
      stop: () => anvil.stop(),
    }
  } catch (err) {
    await anvil.stop()
    throw err
  }
}
