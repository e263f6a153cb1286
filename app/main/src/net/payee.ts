// A node's EVM account on the wire: built from both keys' signatures, checked against the peer ID
// of whoever sent it. An account is taken from a peer only with a binding that checks out.

import type { PrivateKey } from '@libp2p/interface'
import { bindingDigest, checkBinding } from '@wholesum/escrow'
import { toBytes } from 'viem'
import type { PayeeBody } from '../protocol/messages.ts'

/** The account's half of a binding: the payments plugin signs with the key it keeps. */
export interface BindingSigner {
  readonly account: `0x${string}`
  signBinding(peerId: string, issuedAt: number): Promise<`0x${string}`>
}

/** This node's payee: its account's and its peer key's signatures of the same statement. */
export async function makePayee(
  peerKey: PrivateKey,
  peerId: string,
  signer: BindingSigner,
  issuedAt: number = Math.floor(Date.now() / 1000),
): Promise<PayeeBody> {
  const account = signer.account.toLowerCase() as `0x${string}`
  const accountSignature = await signer.signBinding(peerId, issuedAt)
  const peerSignature = await peerKey.sign(toBytes(bindingDigest(peerId, account, issuedAt)))
  return {
    account,
    issuedAt,
    accountSignature: accountSignature.toLowerCase(),
    peerSignature: `0x${Buffer.from(peerSignature).toString('hex')}`,
  }
}

/** Why `payee` is not `peer`'s account, or undefined when both signatures hold. */
export async function payeeProblem(peer: string, payee: PayeeBody): Promise<string | undefined> {
  return await checkBinding({
    peerId: peer,
    account: payee.account as `0x${string}`,
    issuedAt: payee.issuedAt,
    accountSignature: payee.accountSignature as `0x${string}`,
    peerSignature: payee.peerSignature as `0x${string}`,
  })
}
