// The bodies that carry payments and verification: what their validators refuse.

import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MessageError } from './errors.ts'
import type { Bodies, MessageType } from './messages.ts'
import { validateBody } from './schema.ts'
import { sampleBodies } from './test-support.ts'

let bodies: Bodies

before(async () => {
  const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  bodies = sampleBodies(a, b)
})

/** `type`'s sample body, altered; the validator must refuse it naming `field`. */
function refuses<T extends MessageType>(
  type: T,
  field: string,
  alter: (body: Record<string, unknown>) => void,
): void {
  const body = structuredClone(bodies[type]) as unknown as Record<string, unknown>
  alter(body)
  assert.throws(
    () => validateBody(type, body),
    (err: unknown) => {
      assert.ok(err instanceof MessageError)
      assert.equal(err.code, 'bad-schema')
      assert.ok(err.message.includes(field), `${err.message} should name ${field}`)
      return true
    },
  )
}

describe('payment and verification bodies', () => {
  it('accept the samples', () => {
    for (const type of ['need', 'offer', 'verifier-ad', 'verify', 'attestation', 'payout'] as const)
      validateBody(type, bodies[type])
  })

  it('refuse a malformed or mixed-case EVM address', () => {
    refuses('need', 'escrow.contract', (b) => {
      ;(b.escrow as Record<string, unknown>).contract = '0x' + 'AB'.repeat(20)
    })
    refuses('offer', 'payee.account', (b) => {
      ;(b.payee as Record<string, unknown>).account = '0x1234'
    })
  })

  it("refuse a job's verifiers out of order, repeated or too many", () => {
    const v = (n: number): string => `0x${n.toString(16).padStart(2, '0').repeat(20)}`
    refuses('need', 'escrow.verifiers[1]', (b) => {
      ;(b.escrow as Record<string, unknown>).verifiers = [v(2), v(1)]
    })
    refuses('need', 'escrow.verifiers[1]', (b) => {
      ;(b.escrow as Record<string, unknown>).verifiers = [v(1), v(1)]
    })
    refuses('need', 'escrow.verifiers', (b) => {
      ;(b.escrow as Record<string, unknown>).verifiers = Array.from({ length: 17 }, (_, i) =>
        v(i + 1),
      )
    })
  })

  it('refuse an invalid verdict without a reason, or with a settlement signature', () => {
    refuses('attestation', 'reason', (b) => {
      b.verdict = 'invalid'
      delete b.settlementSignature
    })
    refuses('attestation', 'settlementSignature', (b) => {
      b.verdict = 'invalid'
      b.reason = 'seal does not verify'
    })
    refuses('attestation', 'verdict', (b) => {
      b.verdict = 'probably'
    })
  })

  it('refuse a short signature, acceptances out of order, and an overlong proof', () => {
    refuses('payout', 'acceptances[0].signature', (b) => {
      ;(b.acceptances as Record<string, unknown>[])[0]!.signature = '0x' + '00'.repeat(64)
    })
    refuses('payout', 'acceptances[1].segment', (b) => {
      ;(b.acceptances as Record<string, unknown>[])[1]!.segment = 0
    })
    refuses('payout', 'settlement.proof', (b) => {
      ;(b.settlement as Record<string, unknown>).proof = Array(33).fill('00'.repeat(32))
    })
  })
})
