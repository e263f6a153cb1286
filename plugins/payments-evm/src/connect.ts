// Connects to the configured chain and checks, before anything is signed or sent, that it is the
// configured one and that the escrow is there: the RPC's chain ID, code at the address, and the
// contract's EIP-712 domain (WholesumEscrow, version 1, this chain, this address), which is what
// every signature the plugin makes is bound to.

import { escrowAbi, escrowDomain } from '@wholesum/escrow'
import { InvalidInputError, UnavailableError } from '@wholesum/plugin-api'
import {
  createPublicClient,
  defineChain,
  domainSeparator,
  http,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
} from 'viem'

export interface EscrowConnection {
  readonly chain: Chain
  readonly transport: Transport
  readonly publicClient: PublicClient<Transport, Chain>
}

/**
 * The RPC URL as errors and logs show it: scheme, host and port only, since providers put API
 * keys in the path or the query.
 */
export function shownUrl(rpcUrl: string): string {
  try {
    const url = new URL(rpcUrl)
    const more = (url.pathname !== '/' && url.pathname !== '') || url.search !== ''
    return `${url.origin}${more ? '/…' : ''}`
  } catch {
    return '(an unparsable URL)'
  }
}

export async function connectEscrow(options: {
  readonly rpcUrl: string
  readonly chainId: number
  readonly escrow: Address
  readonly pollingIntervalMs: number
}): Promise<EscrowConnection> {
  const url = shownUrl(options.rpcUrl)
  const chain = defineChain({
    id: options.chainId,
    name: `EVM chain ${options.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  })
  const transport = http(options.rpcUrl)
  const publicClient = createPublicClient({
    chain,
    transport,
    pollingInterval: options.pollingIntervalMs,
  })

  let actual: number
  try {
    actual = await publicClient.getChainId()
  } catch (err) {
    throw new UnavailableError(
      `cannot reach the EVM RPC at ${url}: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    )
  }
  if (actual !== options.chainId) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `the EVM RPC at ${url} serves chain ${actual}, not the configured chain ${options.chainId}`,
    )
  }
  const code = await publicClient.getCode({ address: options.escrow })
  if (code === undefined || code === '0x') {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `no contract at the escrow address ${options.escrow} on chain ${options.chainId} (RPC ${url})`,
    )
  }
  const expected = domainSeparator({ domain: escrowDomain(options.chainId, options.escrow) })
  const actualDomain = await publicClient
    .readContract({ address: options.escrow, abi: escrowAbi, functionName: 'domainSeparator' })
    .catch(() => undefined)
  if (actualDomain !== expected) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `the contract at ${options.escrow} on chain ${options.chainId} is not a WholesumEscrow (version 1): its EIP-712 domain differs`,
    )
  }
  return { chain, transport, publicClient }
}
