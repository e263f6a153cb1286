// The payments capability on an EVM chain: this node's account on the escrow contract, through
// viem. Every transaction is simulated first, so a call the escrow would refuse fails with its
// custom error (EscrowRevertError) before any gas is spent; sends from the account leave one at a
// time with nonces counted here; each call resolves once its receipt is in.

import {
  BINDING_DOMAIN,
  BINDING_TYPES,
  compareAddresses,
  escrowAbi,
  escrowDomain,
  ESCROW_TYPES,
  jobKeyOf,
  signAcceptance,
  signFault,
  signSettlement,
} from '@wholesum/escrow'
import {
  EscrowRevertError,
  InvalidInputError,
  TimeoutError,
  type Acceptance,
  type EscrowAccount,
  type EscrowJob,
  type EscrowTerms,
  type Fault,
  type PaymentsPlugin,
  type Settlement,
  type SignedAcceptance,
  type SignerSignature,
  type TxOptions,
  type TxReceipt,
} from '@wholesum/plugin-api'
import {
  BaseError,
  createWalletClient,
  decodeFunctionResult,
  encodeFunctionData,
  getAddress,
  isAddress,
  recoverTypedDataAddress,
  WaitForTransactionReceiptTimeoutError,
  zeroAddress,
  type Address,
  type Chain,
  type Hex,
  type LocalAccount,
  type TransactionReceipt,
  type Transport,
  type TypedDataDomain,
  type WalletClient,
} from 'viem'
import { connectEscrow, type EscrowConnection } from './connect.ts'
import { openNodeKey } from './keystore-file.ts'
import { escrowRevertOf } from './reverts.ts'
import { notSent, SerialQueue } from './serial-queue.ts'
import { checkRpcUrl } from './settings.ts'

export const DEFAULT_POLLING_INTERVAL_MS = 1_000
export const DEFAULT_RECEIPT_TIMEOUT_MS = 180_000

export interface EvmPaymentsOptions {
  /** An http(s) JSON-RPC endpoint of the chain. */
  readonly rpcUrl: string
  readonly chainId: number
  readonly escrow: Address
  /** The Web3 Secret Storage keystore of the node's key; created with a fresh key when absent. */
  readonly keystoreFile: string
  readonly password: string
  /** How often receipts are polled for (default 1000 ms). */
  readonly pollingIntervalMs?: number
  /** Blocks a transaction must have on top of it, its own included, before a call resolves (default 1). */
  readonly confirmations?: number
  /** How long a call waits for its receipt before TimeoutError (default 180 s). */
  readonly receiptTimeoutMs?: number
  /** scrypt's cost for a keystore created here: geth's 2^18 unless told (tests use less). */
  readonly newKeyScryptN?: number
}

/** Connects, checks the chain and the escrow, opens (or creates) the key. */
export async function createEvmPayments(options: EvmPaymentsOptions): Promise<EvmPayments> {
  checkRpcUrl(options.rpcUrl)
  if (!Number.isSafeInteger(options.chainId) || options.chainId <= 0) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `chainId must be a positive integer, not ${options.chainId}`,
    )
  }
  if (!isAddress(options.escrow, { strict: false })) {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `escrow must be an address, not ${JSON.stringify(options.escrow)}`,
    )
  }
  const escrow = getAddress(options.escrow)
  const pollingIntervalMs = options.pollingIntervalMs ?? DEFAULT_POLLING_INTERVAL_MS
  const connection = await connectEscrow({
    rpcUrl: options.rpcUrl,
    chainId: options.chainId,
    escrow,
    pollingIntervalMs,
  })
  const key = await openNodeKey(options.keystoreFile, options.password, {
    ...(options.newKeyScryptN !== undefined ? { scryptN: options.newKeyScryptN } : {}),
  })
  return new EvmPayments({
    connection,
    signer: key.account,
    keyCreated: key.created,
    escrow,
    pollingIntervalMs,
    confirmations: options.confirmations ?? 1,
    receiptTimeoutMs: options.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS,
  })
}

function malformed(call: string, err: unknown): InvalidInputError {
  const text =
    err instanceof BaseError ? err.shortMessage : err instanceof Error ? err.message : String(err)
  return new InvalidInputError('INVALID_INPUT', `${call}: ${text}`, { cause: err })
}

/** Runs work that fails only on malformed input (encoding, signing, recovering) as such. */
function checked<T>(call: string, work: () => T): T {
  try {
    return work()
  } catch (err) {
    throw malformed(call, err)
  }
}

async function checkedAsync<T>(call: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw malformed(call, err)
  }
}

const acceptanceOf = (a: Acceptance) => ({
  jobKey: a.jobKey,
  segment: a.segment,
  prover: a.prover,
  amount: a.amount,
})
const settlementOf = (s: Settlement) => ({
  jobKey: s.jobKey,
  root: s.root,
  total: s.total,
  receiptDigest: s.receiptDigest,
  journalDigest: s.journalDigest,
})
const faultOf = (f: Fault) => ({
  jobKey: f.jobKey,
  prover: f.prover,
  segment: f.segment,
  receiptDigest: f.receiptDigest,
})

export class EvmPayments implements PaymentsPlugin {
  readonly chainId: number
  readonly escrow: Address
  readonly account: Address
  /** The keystore did not exist when this started: a fresh key was made (and needs funds). */
  readonly keyCreated: boolean
  readonly #signer: LocalAccount
  readonly #client: EscrowConnection['publicClient']
  readonly #wallet: WalletClient<Transport, Chain, LocalAccount>
  readonly #domain: TypedDataDomain
  readonly #queue = new SerialQueue()
  readonly #confirmations: number
  readonly #receiptTimeoutMs: number
  /** The nonce of the account's next transaction; undefined: ask the node. */
  #nextNonce: number | undefined

  constructor(parts: {
    connection: EscrowConnection
    signer: LocalAccount
    keyCreated: boolean
    escrow: Address
    pollingIntervalMs: number
    confirmations: number
    receiptTimeoutMs: number
  }) {
    const { chain, transport, publicClient } = parts.connection
    this.chainId = chain.id
    this.escrow = parts.escrow
    this.account = parts.signer.address
    this.keyCreated = parts.keyCreated
    this.#signer = parts.signer
    this.#client = publicClient
    this.#wallet = createWalletClient({
      account: parts.signer,
      chain,
      transport,
      pollingInterval: parts.pollingIntervalMs,
    })
    this.#domain = escrowDomain(chain.id, parts.escrow)
    this.#confirmations = parts.confirmations
    this.#receiptTimeoutMs = parts.receiptTimeoutMs
  }

  // ---- keys and messages ------------------------------------------------------------------

  async signBinding(peerId: string, issuedAt: number): Promise<Hex> {
    return checkedAsync('signBinding', () =>
      this.#signer.signTypedData({
        domain: BINDING_DOMAIN,
        types: BINDING_TYPES,
        primaryType: 'PeerBinding',
        message: { peerId, account: this.account, issuedAt: BigInt(issuedAt) },
      }),
    )
  }

  jobKey(client: Address, jobId: Hex): Hex {
    return checked('jobKey', () => jobKeyOf(client, jobId))
  }

  async signAcceptance(a: Acceptance): Promise<Hex> {
    return checkedAsync('signAcceptance', () =>
      signAcceptance(this.#signer, this.#domain, acceptanceOf(a)),
    )
  }

  async signSettlement(s: Settlement): Promise<Hex> {
    return checkedAsync('signSettlement', () =>
      signSettlement(this.#signer, this.#domain, settlementOf(s)),
    )
  }

  async signFault(f: Fault): Promise<Hex> {
    return checkedAsync('signFault', () => signFault(this.#signer, this.#domain, faultOf(f)))
  }

  async acceptanceSigner(a: Acceptance & { readonly signature: Hex }): Promise<Address> {
    return checkedAsync('acceptanceSigner', () =>
      recoverTypedDataAddress({
        domain: this.#domain,
        types: ESCROW_TYPES,
        primaryType: 'Acceptance',
        message: acceptanceOf(a),
        signature: a.signature,
      }),
    )
  }

  async settlementSigner(s: Settlement & { readonly signature: Hex }): Promise<Address> {
    return checkedAsync('settlementSigner', () =>
      recoverTypedDataAddress({
        domain: this.#domain,
        types: ESCROW_TYPES,
        primaryType: 'Settlement',
        message: settlementOf(s),
        signature: s.signature,
      }),
    )
  }

  async faultSigner(f: Fault & { readonly signature: Hex }): Promise<Address> {
    return checkedAsync('faultSigner', () =>
      recoverTypedDataAddress({
        domain: this.#domain,
        types: ESCROW_TYPES,
        primaryType: 'Fault',
        message: faultOf(f),
        signature: f.signature,
      }),
    )
  }

  // ---- reads ------------------------------------------------------------------------------

  async getJob(jobKey: Hex): Promise<EscrowJob | undefined> {
    const data = checked('getJob', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'getJob', args: [jobKey] }),
    )
    const job = decodeFunctionResult({
      abi: escrowAbi,
      functionName: 'getJob',
      data: await this.#view('getJob', data),
    })
    if (job.client === zeroAddress) return undefined
    return {
      client: job.client,
      deadline: Number(job.deadline),
      quorum: job.quorum,
      claimWindow: Number(job.claimWindow),
      settledAt: Number(job.settledAt),
      segments: job.segments,
      closed: job.closed,
      budget: job.budget,
      paid: job.paid,
      pricePerSegment: job.pricePerSegment,
      verifierFee: job.verifierFee,
      paidToProvers: job.paidToProvers,
      root: job.root,
    }
  }

  async getAccount(jobKey: Hex, who: Address): Promise<EscrowAccount> {
    const data = checked('getAccount', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'getAccount', args: [jobKey, who] }),
    )
    const account = decodeFunctionResult({
      abi: escrowAbi,
      functionName: 'getAccount',
      data: await this.#view('getAccount', data),
    })
    return {
      collateral: account.collateral,
      paid: account.paid,
      accepted: account.accepted,
      prover: account.prover,
      slashed: account.slashed,
    }
  }

  async isJobVerifier(jobKey: Hex, who: Address): Promise<boolean> {
    const data = checked('isJobVerifier', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'isJobVerifier', args: [jobKey, who] }),
    )
    return decodeFunctionResult({
      abi: escrowAbi,
      functionName: 'isJobVerifier',
      data: await this.#view('isJobVerifier', data),
    })
  }

  async isActiveVerifier(who: Address): Promise<boolean> {
    const data = checked('isActiveVerifier', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'isActiveVerifier', args: [who] }),
    )
    return decodeFunctionResult({
      abi: escrowAbi,
      functionName: 'isActiveVerifier',
      data: await this.#view('isActiveVerifier', data),
    })
  }

  async claimsCloseAt(jobKey: Hex): Promise<number> {
    const data = checked('claimsCloseAt', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'claimsCloseAt', args: [jobKey] }),
    )
    const closesAt = decodeFunctionResult({
      abi: escrowAbi,
      functionName: 'claimsCloseAt',
      data: await this.#view('claimsCloseAt', data),
    })
    return Number(closesAt)
  }

  async minVerifierBond(): Promise<bigint> {
    const data = encodeFunctionData({ abi: escrowAbi, functionName: 'minVerifierBond' })
    return decodeFunctionResult({
      abi: escrowAbi,
      functionName: 'minVerifierBond',
      data: await this.#view('minVerifierBond', data),
    })
  }

  async chainTime(): Promise<number> {
    return Number((await this.#client.getBlock()).timestamp)
  }

  async balance(who: Address = this.account): Promise<bigint> {
    const address = checked('balance', () => getAddress(who))
    return this.#client.getBalance({ address })
  }

  // ---- transactions -----------------------------------------------------------------------

  async openJob(
    terms: EscrowTerms,
    budget: bigint,
    options?: TxOptions,
  ): Promise<TxReceipt & { jobKey: Hex }> {
    const data = checked('openJob', () =>
      encodeFunctionData({
        abi: escrowAbi,
        functionName: 'openJob',
        args: [
          {
            jobId: terms.jobId,
            deadline: BigInt(terms.deadline),
            claimWindow: BigInt(terms.claimWindow),
            segments: terms.segments,
            quorum: terms.quorum,
            pricePerSegment: terms.pricePerSegment,
            verifierFee: terms.verifierFee,
            // The contract takes the set in ascending order (so it can see no verifier twice).
            verifiers: [...terms.verifiers].sort(compareAddresses),
          },
        ],
      }),
    )
    const receipt = await this.#transact('openJob', data, budget, options)
    return { ...receipt, jobKey: jobKeyOf(this.account, terms.jobId) }
  }

  async postCollateral(jobKey: Hex, amount: bigint, options?: TxOptions): Promise<TxReceipt> {
    const data = checked('postCollateral', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'postCollateral', args: [jobKey] }),
    )
    return this.#transact('postCollateral', data, amount, options)
  }

  async settle(
    s: Settlement & {
      readonly clientSignature: Hex
      readonly verifierSignatures: readonly SignerSignature[]
    },
    options?: TxOptions,
  ): Promise<TxReceipt> {
    const message = settlementOf(s)
    const signatures = await this.#quorum('settle', s.verifierSignatures, (signature) =>
      this.settlementSigner({ ...message, signature }),
    )
    const data = checked('settle', () =>
      encodeFunctionData({
        abi: escrowAbi,
        functionName: 'settle',
        args: [
          s.jobKey,
          s.root,
          s.total,
          s.receiptDigest,
          s.journalDigest,
          s.clientSignature,
          signatures,
        ],
      }),
    )
    return this.#transact('settle', data, undefined, options)
  }

  async claim(
    c: {
      readonly jobKey: Hex
      readonly payee: Address
      readonly amount: bigint
      readonly proof: readonly Hex[]
    },
    options?: TxOptions,
  ): Promise<TxReceipt> {
    const data = checked('claim', () =>
      encodeFunctionData({
        abi: escrowAbi,
        functionName: 'claim',
        args: [c.jobKey, c.payee, c.amount, c.proof],
      }),
    )
    return this.#transact('claim', data, undefined, options)
  }

  async claimAccepted(
    c: {
      readonly jobKey: Hex
      readonly prover: Address
      readonly acceptances: readonly SignedAcceptance[]
    },
    options?: TxOptions,
  ): Promise<TxReceipt> {
    const data = checked('claimAccepted', () =>
      encodeFunctionData({
        abi: escrowAbi,
        functionName: 'claimAccepted',
        args: [
          c.jobKey,
          c.prover,
          c.acceptances.map((a) => a.segment),
          c.acceptances.map((a) => a.amount),
          c.acceptances.map((a) => a.signature),
        ],
      }),
    )
    return this.#transact('claimAccepted', data, undefined, options)
  }

  async slash(
    s: Fault & { readonly verifierSignatures: readonly SignerSignature[] },
    options?: TxOptions,
  ): Promise<TxReceipt> {
    const fault = faultOf(s)
    const signatures = await this.#quorum('slash', s.verifierSignatures, (signature) =>
      this.faultSigner({ ...fault, signature }),
    )
    const data = checked('slash', () =>
      encodeFunctionData({
        abi: escrowAbi,
        functionName: 'slash',
        args: [s.jobKey, s.prover, s.segment, s.receiptDigest, signatures],
      }),
    )
    return this.#transact('slash', data, undefined, options)
  }

  async refund(jobKey: Hex, options?: TxOptions): Promise<TxReceipt> {
    const data = checked('refund', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'refund', args: [jobKey] }),
    )
    return this.#transact('refund', data, undefined, options)
  }

  async withdrawCollateral(jobKey: Hex, options?: TxOptions): Promise<TxReceipt> {
    const data = checked('withdrawCollateral', () =>
      encodeFunctionData({ abi: escrowAbi, functionName: 'withdrawCollateral', args: [jobKey] }),
    )
    return this.#transact('withdrawCollateral', data, undefined, options)
  }

  async registerVerifier(bond: bigint, options?: TxOptions): Promise<TxReceipt> {
    const data = encodeFunctionData({ abi: escrowAbi, functionName: 'registerVerifier' })
    return this.#transact('registerVerifier', data, bond, options)
  }

  // ---- internals --------------------------------------------------------------------------

  /**
   * The quorum's signatures as the contract takes them: ascending by signer, each checked to be
   * the listed signer's, so a mix-up is named here rather than refused on chain as NotAVerifier.
   */
  async #quorum(
    call: string,
    list: readonly SignerSignature[],
    recover: (signature: Hex) => Promise<Address>,
  ): Promise<Hex[]> {
    const listed = list.map((entry) => ({
      signer: checked(call, () => getAddress(entry.signer)),
      signature: entry.signature,
    }))
    for (const { signer, signature } of listed) {
      const by = await recover(signature)
      if (by !== signer) {
        throw new InvalidInputError(
          'INVALID_INPUT',
          `${call}: the signature listed for ${signer} was made by ${by}`,
        )
      }
    }
    return listed.sort((a, b) => compareAddresses(a.signer, b.signer)).map((v) => v.signature)
  }

  /** A view call's return data; the escrow's refusal as EscrowRevertError. */
  async #view(call: string, data: Hex): Promise<Hex> {
    let result: Hex | undefined
    try {
      result = (await this.#client.call({ to: this.escrow, data })).data
    } catch (err) {
      throw escrowRevertOf(err, call) ?? err
    }
    if (result === undefined) throw new Error(`${call}: the escrow returned no data`)
    return result
  }

  async #transact(
    call: string,
    data: Hex,
    value: bigint | undefined,
    options: TxOptions | undefined,
  ): Promise<TxReceipt> {
    const signal = options?.signal
    if (signal?.aborted) throw notSent(signal)
    await this.#simulate(call, data, value)
    const hash = await this.#queue.run(() => this.#broadcast(call, data, value), signal)
    const receipt = await this.#receipt(call, hash)
    if (receipt.status !== 'success') throw await this.#revertedOnChain(call, data, value, receipt)
    return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber }
  }

  /** Runs the call against the latest block: a refusal costs nothing and names its reason. */
  async #simulate(call: string, data: Hex, value: bigint | undefined): Promise<void> {
    try {
      await this.#client.call({ account: this.account, to: this.escrow, data, value })
    } catch (err) {
      throw escrowRevertOf(err, call) ?? err
    }
  }

  /** Signs and sends with the account's next nonce; only ever one at a time (the queue). */
  async #broadcast(call: string, data: Hex, value: bigint | undefined): Promise<Hex> {
    const nonce =
      this.#nextNonce ??
      (await this.#client.getTransactionCount({ address: this.account, blockTag: 'pending' }))
    try {
      const hash = await this.#wallet.sendTransaction({ to: this.escrow, data, value, nonce })
      this.#nextNonce = nonce + 1
      return hash
    } catch (err) {
      // Whether the nonce was used is unknown after a failure: ask the node next time.
      this.#nextNonce = undefined
      throw escrowRevertOf(err, call) ?? err
    }
  }

  async #receipt(call: string, hash: Hex): Promise<TransactionReceipt> {
    try {
      return await this.#client.waitForTransactionReceipt({
        hash,
        confirmations: this.#confirmations,
        timeout: this.#receiptTimeoutMs,
      })
    } catch (err) {
      if (err instanceof WaitForTransactionReceiptTimeoutError) {
        throw new TimeoutError(
          `${call}: no receipt for transaction ${hash} after ${this.#receiptTimeoutMs} ms (it was sent and may still be mined)`,
          { cause: err },
        )
      }
      throw err
    }
  }

  /**
   * Why a mined transaction reverted (it passed its simulation, so the state moved in between):
   * the call replayed at its block, which names the custom error the state now gives.
   */
  async #revertedOnChain(
    call: string,
    data: Hex,
    value: bigint | undefined,
    receipt: TransactionReceipt,
  ): Promise<EscrowRevertError> {
    const hash = receipt.transactionHash
    try {
      await this.#client.call({
        account: this.account,
        to: this.escrow,
        data,
        value,
        blockNumber: receipt.blockNumber,
      })
    } catch (err) {
      const revert = escrowRevertOf(err, call, hash)
      if (revert !== undefined) return revert
    }
    return new EscrowRevertError(call, 'unknown', [], { transactionHash: hash })
  }
}
