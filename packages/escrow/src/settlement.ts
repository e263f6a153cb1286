// A job's settlement: what each payee is owed, as one Merkle root that the client and the verifier
// quorum sign, and the proof each payee claims with. OpenZeppelin's StandardMerkleTree, whose leaf
// (double keccak of abi.encode(address, uint256)) is what the contract rebuilds.

import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { getAddress, type Address, type Hex } from 'viem'

export interface Payout {
  readonly payee: Address
  readonly amount: bigint
}

export interface SettlementTree {
  readonly root: Hex
  /** The sum of every leaf: what the contract sets aside for the root. */
  readonly total: bigint
  /** One leaf per payee, amounts summed, in the order given (first appearance). */
  readonly payouts: readonly Payout[]
  proof(payee: Address): { amount: bigint; proof: Hex[] }
}

export function settlementTree(payouts: readonly Payout[]): SettlementTree {
  if (payouts.length === 0) throw new RangeError('a settlement pays someone')
  const owed = new Map<Address, bigint>()
  for (const { payee, amount } of payouts) {
    if (amount < 0n) throw new RangeError(`negative payout to ${payee}`)
    const key = getAddress(payee)
    owed.set(key, (owed.get(key) ?? 0n) + amount)
  }
  const merged = [...owed].map(([payee, amount]) => ({ payee, amount }))
  const tree = StandardMerkleTree.of(
    merged.map((p) => [p.payee, p.amount.toString()]),
    ['address', 'uint256'],
  )
  const index = new Map(merged.map((p, i) => [p.payee, i]))
  return {
    root: tree.root as Hex,
    total: merged.reduce((sum, p) => sum + p.amount, 0n),
    payouts: merged,
    proof(payee) {
      const i = index.get(getAddress(payee))
      if (i === undefined) throw new RangeError(`${payee} is not in this settlement`)
      return { amount: merged[i]!.amount, proof: tree.getProof(i) as Hex[] }
    },
  }
}

/**
 * Whether `proof` shows (payee, amount) to be a leaf of `root`, as the contract will check it: a
 * payee checks the leaf its client sent before it spends gas on a claim, or trusts it.
 */
export function leafInRoot(
  root: Hex,
  payee: Address,
  amount: bigint,
  proof: readonly Hex[],
): boolean {
  try {
    return StandardMerkleTree.verify(
      root,
      ['address', 'uint256'],
      [getAddress(payee), amount.toString()],
      [...proof],
    )
  } catch {
    return false
  }
}
