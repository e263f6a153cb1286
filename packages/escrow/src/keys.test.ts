// Keystores as other tools write them (the Web3 Secret Storage definition's own test vector) and
// as we write them; bindings of an EVM account to a libp2p peer ID, and every way one can be false.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { bindPeer, checkBinding, newKeystore, openKeystore, KeystoreError } from './keys.ts'

/** The definition's PBKDF2-SHA-256 vector: password "testpassword". */
const VECTOR = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}

const codeOf = (run: () => unknown) => {
  try {
    run()
    return undefined
  } catch (err) {
    return err instanceof KeystoreError ? err.code : err
  }
}

describe('keystores', () => {
  test('the definition’s test vector opens to its key and address', () => {
    const account = openKeystore(VECTOR, 'testpassword')
    assert.equal(account.address, '0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b')
    assert.equal(
      codeOf(() => openKeystore(VECTOR, 'testpassworD')),
      'WRONG_PASSWORD',
    )
  })

  test('a key we encrypt opens with its password and only with it; the file holds no key in the clear', () => {
    const privateKey = generatePrivateKey()
    const { keystore, address } = newKeystore('correct horse', { privateKey, scryptN: 1024 })
    assert.equal(address, privateKeyToAccount(privateKey).address)
    assert.equal(keystore.crypto.kdf, 'scrypt')
    assert.ok(!JSON.stringify(keystore).includes(privateKey.slice(2)))
    const reread = JSON.parse(JSON.stringify(keystore)) as unknown
    assert.equal(openKeystore(reread, 'correct horse').address, address)
    assert.equal(
      codeOf(() => openKeystore(reread, 'wrong horse')),
      'WRONG_PASSWORD',
    )
    const a = newKeystore('pw', { scryptN: 1024 })
    const b = newKeystore('pw', { scryptN: 1024 })
    assert.notEqual(a.address, b.address, 'a fresh key each time')
  })

  test('damaged or foreign files are refused with what is wrong', () => {
    const cases: [string, unknown, string][] = [
      ['not an object', 'keystore', 'MALFORMED'],
      ['version 1', { ...VECTOR, version: 1 }, 'MALFORMED'],
      [
        'another cipher',
        { ...VECTOR, crypto: { ...VECTOR.crypto, cipher: 'aes-128-cbc' } },
        'UNSUPPORTED',
      ],
      ['another kdf', { ...VECTOR, crypto: { ...VECTOR.crypto, kdf: 'argon2' } }, 'UNSUPPORTED'],
      [
        'a short iv',
        { ...VECTOR, crypto: { ...VECTOR.crypto, cipherparams: { iv: '00' } } },
        'MALFORMED',
      ],
      [
        'a mac that is not hex',
        { ...VECTOR, crypto: { ...VECTOR.crypto, mac: 'zz' } },
        'MALFORMED',
      ],
      [
        'one ciphertext byte changed',
        {
          ...VECTOR,
          crypto: { ...VECTOR.crypto, ciphertext: `6${VECTOR.crypto.ciphertext.slice(1)}` },
        },
        'WRONG_PASSWORD',
      ],
    ]
    for (const [what, file, code] of cases) {
      assert.equal(
        codeOf(() => openKeystore(file, 'testpassword')),
        code,
        what,
      )
    }
    assert.equal(
      codeOf(() => newKeystore('')),
      'MALFORMED',
    )
  })
})

describe('the binding of an EVM account to a peer ID', () => {
  const setup = async () => {
    const peerKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(peerKey).toString()
    const account = privateKeyToAccount(generatePrivateKey())
    return { peerKey, peerId, account }
  }

  test('signed by both keys, it holds', async () => {
    const { peerKey, peerId, account } = await setup()
    const binding = await bindPeer(peerKey, peerId, account, 1_800_000_000)
    assert.equal(await checkBinding(binding), undefined)
    // It travels as JSON.
    assert.equal(await checkBinding(JSON.parse(JSON.stringify(binding))), undefined)
  })

  test('another account, another peer, another time, or either signature swapped: it does not', async () => {
    const { peerKey, peerId, account } = await setup()
    const other = await setup()
    const binding = await bindPeer(peerKey, peerId, account, 1_800_000_000)
    const theirs = await bindPeer(other.peerKey, other.peerId, other.account, 1_800_000_000)
    const cases: [string, typeof binding, RegExp][] = [
      [
        'another account named',
        { ...binding, account: other.account.address },
        /account signature is by/,
      ],
      ['another peer named', { ...binding, peerId: other.peerId }, /account signature is by/],
      ['another time', { ...binding, issuedAt: 1_800_000_001 }, /account signature is by/],
      [
        'the account signature of another binding',
        { ...binding, accountSignature: theirs.accountSignature },
        /account signature is by/,
      ],
      [
        'the peer signature of another binding',
        { ...binding, peerSignature: theirs.peerSignature },
        /peer signature does not verify/,
      ],
      // A peer that claims someone else's account cannot sign as that account, and the reverse.
      [
        'our peer claiming their account with their account signature',
        { ...theirs, peerId, peerSignature: binding.peerSignature },
        /account signature is by/,
      ],
      ['a peer ID that does not parse', { ...binding, peerId: 'not-a-peer' }, /does not parse/],
      [
        'an account that is not one',
        { ...binding, account: '0x1234' as `0x${string}` },
        /not an address/,
      ],
    ]
    for (const [what, forged, reason] of cases) {
      assert.match((await checkBinding(forged)) ?? 'holds', reason, what)
    }
  })
})
