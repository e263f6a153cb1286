// The `payments` capability: a node's account on the escrow contract (docs/payments.md). The
// network services open jobs, post collateral, sign and check acceptances, settlements and faults,
// and claim through it; the account's key never leaves the plugin.

import { WholesumError } from './errors.ts'

/** An EVM address: 20 bytes, 0x-prefixed hex (checksummed when it comes from the plugin). */
export type Address = `0x${string}`
export type Hex = `0x${string}`

export interface TxReceipt {
  readonly hash: Hex
  readonly gasUsed: bigint
  readonly blockNumber: bigint
}

/**
 * Options of every call that sends a transaction. The signal stops a transaction that was not
 * sent yet (AbortError, nothing spent); once it is sent the call waits for its receipt, since a
 * sent transaction cannot be called back.
 */
export interface TxOptions {
  readonly signal?: AbortSignal
}

/** What a client commits to when it opens a job. */
export interface EscrowTerms {
  /** The core's job ID, 32 bytes. */
  readonly jobId: Hex
  /** Unix seconds; at most a year away. */
  readonly deadline: number
  /** Seconds claims stay open after the deadline (or after a later settlement). */
  readonly claimWindow: number
  readonly segments: number
  readonly quorum: number
  readonly pricePerSegment: bigint
  readonly verifierFee: bigint
  /** Registered verifiers, at most 16, the client not among them; any order (sent ascending). */
  readonly verifiers: readonly Address[]
}

export interface EscrowJob {
  readonly client: Address
  readonly deadline: number
  readonly quorum: number
  readonly claimWindow: number
  /** Unix seconds of the settlement; 0 while unsettled. */
  readonly settledAt: number
  readonly segments: number
  /** Refunded: nothing more can be claimed. */
  readonly closed: boolean
  readonly budget: bigint
  readonly paid: bigint
  readonly pricePerSegment: bigint
  readonly verifierFee: bigint
  readonly paidToProvers: bigint
  /** The settlement's Merkle root; zero while unsettled. */
  readonly root: Hex
}

/** One account's standing in one job. */
export interface EscrowAccount {
  readonly collateral: bigint
  readonly paid: bigint
  /** The sum of the distinct acceptances it has shown on chain. */
  readonly accepted: bigint
  /** Posted collateral in this job: a dealt prover. */
  readonly prover: boolean
  readonly slashed: boolean
}

/** The client's EIP-712 acceptance of one segment, as a prover holds it. */
export interface SignedAcceptance {
  readonly segment: number
  readonly amount: bigint
  readonly signature: Hex
}

export interface Acceptance {
  readonly jobKey: Hex
  readonly segment: number
  readonly prover: Address
  readonly amount: bigint
}

/** The job's payouts (a settlement tree's root and total) and the receipt the quorum checked. */
export interface Settlement {
  readonly jobKey: Hex
  readonly root: Hex
  readonly total: bigint
  /** SHA-256 of the final receipt's bytes. */
  readonly receiptDigest: Hex
  /** SHA-256 of its journal. */
  readonly journalDigest: Hex
}

/** A verifier's statement that the receipt `prover` delivered for `segment` failed verification. */
export interface Fault {
  readonly jobKey: Hex
  readonly prover: Address
  readonly segment: number
  readonly receiptDigest: Hex
}

export interface SignerSignature {
  readonly signer: Address
  readonly signature: Hex
}

export interface PaymentsPlugin {
  readonly chainId: number
  readonly escrow: Address
  /** This node's account (its key stays inside the plugin). */
  readonly account: Address

  /** The account's EIP-712 signature of the PeerBinding statement (the node adds its peer key's half). */
  signBinding(peerId: string, issuedAt: number): Promise<Hex>
  /** keccak256(abi.encode(client, jobId)): the key the escrow keeps a client's job under. */
  jobKey(client: Address, jobId: Hex): Hex

  openJob(
    terms: EscrowTerms,
    budget: bigint,
    options?: TxOptions,
  ): Promise<TxReceipt & { readonly jobKey: Hex }>
  /** Undefined when no job is kept under `jobKey`. */
  getJob(jobKey: Hex): Promise<EscrowJob | undefined>
  getAccount(jobKey: Hex, who: Address): Promise<EscrowAccount>
  isJobVerifier(jobKey: Hex, who: Address): Promise<boolean>
  isActiveVerifier(who: Address): Promise<boolean>
  /** Unix seconds when claims close; EscrowRevertError `UnknownJob` for a job that does not exist. */
  claimsCloseAt(jobKey: Hex): Promise<number>
  postCollateral(jobKey: Hex, amount: bigint, options?: TxOptions): Promise<TxReceipt>

  /** The client signs that `prover` proved `segment` and earned `amount`. */
  signAcceptance(a: Acceptance): Promise<Hex>
  /** The client, and each verifier of the quorum, sign the job's payouts. */
  signSettlement(s: Settlement): Promise<Hex>
  /** A verifier signs that a prover's segment receipt failed verification. */
  signFault(f: Fault): Promise<Hex>
  /** Who signed (the recovered address): to check signatures before sending them on chain. */
  acceptanceSigner(a: Acceptance & { readonly signature: Hex }): Promise<Address>
  settlementSigner(s: Settlement & { readonly signature: Hex }): Promise<Address>
  faultSigner(f: Fault & { readonly signature: Hex }): Promise<Address>

  /**
   * Records the settlement. `verifierSignatures` may come in any order (they are sent ascending by
   * signer); a signature that was not made by the signer it is listed under is refused
   * (InvalidInputError) before anything is sent.
   */
  settle(
    s: Settlement & {
      readonly clientSignature: Hex
      readonly verifierSignatures: readonly SignerSignature[]
    },
    options?: TxOptions,
  ): Promise<TxReceipt>
  /** Pays `payee` its leaf of the settlement root (anyone may send it). */
  claim(
    c: {
      readonly jobKey: Hex
      readonly payee: Address
      readonly amount: bigint
      readonly proof: readonly Hex[]
    },
    options?: TxOptions,
  ): Promise<TxReceipt>
  /** The dispute path: a dealt prover is paid what its acceptances exceed what it received. */
  claimAccepted(
    c: {
      readonly jobKey: Hex
      readonly prover: Address
      readonly acceptances: readonly SignedAcceptance[]
    },
    options?: TxOptions,
  ): Promise<TxReceipt>
  /** Slashes a prover's collateral on a quorum-signed fault (any signature order). */
  slash(
    s: Fault & { readonly verifierSignatures: readonly SignerSignature[] },
    options?: TxOptions,
  ): Promise<TxReceipt>
  /** After the claims close: the client gets back what was not paid out. */
  refund(jobKey: Hex, options?: TxOptions): Promise<TxReceipt>
  /** After the claims close: this account, if not slashed, takes its collateral back. */
  withdrawCollateral(jobKey: Hex, options?: TxOptions): Promise<TxReceipt>
  registerVerifier(bond: bigint, options?: TxOptions): Promise<TxReceipt>
  minVerifierBond(): Promise<bigint>
  /**
   * The chain's clock: the latest block's timestamp, unix seconds. Deadlines on the escrow are in
   * the chain's time, which may differ from this machine's clock.
   */
  chainTime(): Promise<number>
  /** Wei held by `who` (this account by default). */
  balance(who?: Address): Promise<bigint>
}

/**
 * The escrow refused a call: `reason` is the contract's custom error (e.g. 'AlreadyClaimed'),
 * `args` its arguments. Without `transactionHash` it was refused by simulation, before anything
 * was sent (no gas spent); with it, the transaction was mined and reverted.
 */
export class EscrowRevertError extends WholesumError {
  readonly reason: string
  readonly args: readonly unknown[]
  readonly transactionHash: Hex | undefined
  constructor(
    call: string,
    reason: string,
    args: readonly unknown[],
    options: { transactionHash?: Hex; cause?: unknown } = {},
  ) {
    const shown = `${reason}(${args.map(String).join(', ')})`
    super(
      'REVERTED',
      options.transactionHash === undefined
        ? `the escrow refuses ${call}: ${shown}`
        : `the escrow reverted ${call} in transaction ${options.transactionHash}: ${shown}`,
      { cause: options.cause },
    )
    this.name = 'EscrowRevertError'
    this.reason = reason
    this.args = args
    this.transactionHash = options.transactionHash
  }
}
