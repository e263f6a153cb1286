// The checks a payee runs before it trusts a leaf or a signature: what the contract would refuse.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { leafInRoot, settlementTree } from './settlement.ts'
import { signatureProblem } from './typed-data.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

describe('leafInRoot', () => {
  const a = privateKeyToAccount(generatePrivateKey()).address
  const b = privateKeyToAccount(generatePrivateKey()).address
  const tree = settlementTree([
    { payee: a, amount: 5n },
    { payee: b, amount: 7n },
  ])

  it('holds for each payee with its amount and proof, whatever the address case', () => {
    const { amount, proof } = tree.proof(a)
    assert.ok(leafInRoot(tree.root, a, amount, proof))
    assert.ok(leafInRoot(tree.root, a.toLowerCase() as typeof a, amount, proof))
  })

  it('fails for another amount, another payee, or a garbage proof', () => {
    const { proof } = tree.proof(a)
    assert.equal(leafInRoot(tree.root, a, 50n, proof), false)
    assert.equal(leafInRoot(tree.root, b, 5n, proof), false)
    assert.equal(leafInRoot(tree.root, a, 5n, [`0x${'00'.repeat(32)}`]), false)
    assert.equal(leafInRoot(tree.root, a, 5n, ['0x1234']), false)
  })
})

describe('signatureProblem', () => {
  it('takes what a viem account signs', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const signature = await account.signMessage({ message: 'x' })
    assert.equal(signatureProblem(signature), undefined)
  })

  it('refuses v of 0 or 1, a high s, and the wrong length', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const signature = await account.signMessage({ message: 'x' })
    const v = Number.parseInt(signature.slice(130), 16)
    assert.match(
      signatureProblem(signature.slice(0, 130) + (v - 27).toString(16).padStart(2, '0'))!,
      /v is/,
    )
    const s = BigInt(`0x${signature.slice(66, 130)}`)
    const high = (N - s).toString(16).padStart(64, '0')
    assert.match(
      signatureProblem(signature.slice(0, 66) + high + signature.slice(130))!,
      /lower half/,
    )
    assert.equal(signatureProblem(signature.slice(0, 128)), 'not 65 bytes')
  })
})
