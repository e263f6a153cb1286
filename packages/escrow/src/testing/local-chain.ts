// A local chain with the escrow deployed, for tests and benchmarks: anvil on loopback, viem
// clients, anvil's funded accounts, and a record of the gas every successful call used.

import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  type Hex,
  type PrivateKeyAccount,
} from 'viem'
import { mnemonicToAccount, type HDAccount } from 'viem/accounts'
import { escrowAbi } from '../abi.ts'
import { startAnvil, type Anvil } from '../anvil.ts'
import { deployEscrow, type EscrowParameters } from '../index.ts'
import { escrowDomain } from '../typed-data.ts'

type Writable = ContractFunctionName<typeof escrowAbi, 'nonpayable' | 'payable'>

export interface CallResult {
  readonly gasUsed: bigint
  /** What the sender paid for gas, in wei. */
  readonly fee: bigint
  readonly hash: Hex
}

export class LocalChain {
  readonly gas = new Map<string, bigint[]>()
  /** Gas fees each sender paid for the calls sent through `send`, in wei. */
  readonly fees = new Map<Address, bigint>()
  readonly anvil: Anvil
  readonly escrow: Address
  readonly accounts: readonly HDAccount[]
  readonly publicClient: ReturnType<typeof createPublicClient>
  readonly testClient: ReturnType<typeof createTestClient>
  readonly #chain: ReturnType<typeof defineChain>

  private constructor(parts: {
    anvil: Anvil
    escrow: Address
    accounts: readonly HDAccount[]
    publicClient: ReturnType<typeof createPublicClient>
    testClient: ReturnType<typeof createTestClient>
    chain: ReturnType<typeof defineChain>
  }) {
    this.anvil = parts.anvil
    this.escrow = parts.escrow
    this.accounts = parts.accounts
    this.publicClient = parts.publicClient
    this.testClient = parts.testClient
    this.#chain = parts.chain
  }

  static async start(parameters: EscrowParameters, accounts = 12): Promise<LocalChain> {
    const anvil = await startAnvil({ accounts })
    try {
      const chain = defineChain({
        id: anvil.chainId,
        name: 'anvil',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [anvil.rpcUrl] } },
      })
      const transport = http(anvil.rpcUrl)
      // anvil mines each transaction as it arrives: poll for receipts often, not every 4 s.
      const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 })
      const testClient = createTestClient({ chain, transport, mode: 'anvil', pollingInterval: 50 })
      const all = Array.from({ length: accounts }, (_, i) =>
        mnemonicToAccount(anvil.mnemonic, { addressIndex: i }),
      )
      const deployer = createWalletClient({ chain, transport, account: all[0]! })
      const { address } = await deployEscrow(deployer, publicClient, parameters)
      return new LocalChain({
        anvil,
        escrow: address,
        accounts: all,
        publicClient,
        testClient,
        chain,
      })
    } catch (err) {
      await anvil.stop()
      throw err
    }
  }

  get domain() {
    return escrowDomain(this.anvil.chainId, this.escrow)
  }

  wallet(account: HDAccount | PrivateKeyAccount) {
    return createWalletClient({
      chain: this.#chain,
      transport: http(this.anvil.rpcUrl),
      account,
      pollingInterval: 50,
    })
  }

  /** Sends a call from `from`, waits for it, and records its gas under `label` (or its name). */
  async send<F extends Writable>(
    from: HDAccount | PrivateKeyAccount,
    functionName: F,
    args: ContractFunctionArgs<typeof escrowAbi, 'nonpayable' | 'payable', F>,
    options: { value?: bigint; label?: string } = {},
  ): Promise<CallResult> {
    const hash = await this.wallet(from).writeContract({
      address: this.escrow,
      abi: escrowAbi,
      functionName,
      args,
      ...(options.value !== undefined ? { value: options.value } : {}),
    } as never)
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`${functionName} reverted (${hash})`)
    const label = options.label ?? functionName
    this.gas.set(label, [...(this.gas.get(label) ?? []), receipt.gasUsed])
    const fee = receipt.gasUsed * receipt.effectiveGasPrice
    this.fees.set(from.address, (this.fees.get(from.address) ?? 0n) + fee)
    return { gasUsed: receipt.gasUsed, fee, hash }
  }

  /**
   * The custom error a call would revert with (by simulating it from `from`), or undefined when it
   * would succeed.
   */
  async revertOf<F extends Writable>(
    from: HDAccount | PrivateKeyAccount,
    functionName: F,
    args: ContractFunctionArgs<typeof escrowAbi, 'nonpayable' | 'payable', F>,
    value?: bigint,
  ): Promise<{ name: string; args: readonly unknown[] } | undefined> {
    try {
      await this.publicClient.simulateContract({
        address: this.escrow,
        abi: escrowAbi,
        functionName,
        args,
        account: from,
        ...(value !== undefined ? { value } : {}),
      } as never)
      return undefined
    } catch (err) {
      let cause: unknown = err
      while (cause !== undefined && cause !== null) {
        const data = (cause as { data?: { errorName?: string; args?: readonly unknown[] } }).data
        if (data?.errorName !== undefined) return { name: data.errorName, args: data.args ?? [] }
        cause = (cause as { cause?: unknown }).cause
      }
      throw err
    }
  }

  feesOf(address: Address): bigint {
    return this.fees.get(address) ?? 0n
  }

  async read<F extends ContractFunctionName<typeof escrowAbi, 'view' | 'pure'>>(
    functionName: F,
    args: ContractFunctionArgs<typeof escrowAbi, 'view' | 'pure', F>,
  ): Promise<ContractFunctionReturnType<typeof escrowAbi, 'view' | 'pure', F>> {
    return this.publicClient.readContract({
      address: this.escrow,
      abi: escrowAbi,
      functionName,
      args,
    } as never) as never
  }

  balance(address: Address): Promise<bigint> {
    return this.publicClient.getBalance({ address })
  }

  async now(): Promise<bigint> {
    return (await this.publicClient.getBlock()).timestamp
  }

  /** Moves the chain's clock forward and mines a block at the new time. */
  async advance(seconds: number): Promise<void> {
    await this.testClient.increaseTime({ seconds })
    await this.testClient.mine({ blocks: 1 })
  }

  async stop(): Promise<void> {
    await this.anvil.stop()
  }
}
