// Identifiers: our CID form, the plain hex form, and the forms that are refused.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Bytes, Reference } from '@ethersphere/bee-js'
import { InvalidInputError } from '@wholesum/plugin-api'
import { parseSwarmId, referenceToCid } from './reference.ts'

// Bee's reference for the 11 bytes "hello world" (POST /bytes).
const HELLO = '92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f'

test('a reference becomes a base32 CIDv1: raw codec, keccak-256 multihash, 32-byte digest', () => {
  const cid = referenceToCid(HELLO)
  assert.match(cid, /^b[a-z2-7]+$/)
  // Decoded independently with bee-js's own base32 (cafe-utility), not ours.
  const expected = new Bytes(
    Uint8Array.from([0x01, 0x55, 0x1b, 0x20, ...Buffer.from(HELLO, 'hex')]),
  )
  assert.equal(cid, 'b' + expected.toBase32().replace(/=+$/, '').toLowerCase())
  assert.equal(parseSwarmId(cid), HELLO)
})

test('the plain 64-hex reference is accepted, in either case, and normalised to lower case', () => {
  assert.equal(parseSwarmId(HELLO), HELLO)
  assert.equal(parseSwarmId(HELLO.toUpperCase()), HELLO)
})

test('every reference round-trips through its CID', () => {
  for (const fill of ['00', 'ff', 'a5', '5a']) {
    const reference = fill.repeat(32)
    assert.equal(parseSwarmId(referenceToCid(reference)), reference)
  }
})

test('identifiers that do not parse are InvalidInputError, thrown at once', () => {
  const manifestCid = new Reference(HELLO).toCid('manifest')
  const feedCid = new Reference(HELLO).toCid('feed')
  const ipfsCid = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
  const cases: Array<[unknown, RegExp]> = [
    ['not-a-cid!', /expected a 64-hex reference or a base32 CIDv1/],
    ['', /not a Swarm identifier/],
    [42, /not a Swarm identifier/],
    [HELLO.slice(1), /expected a 64-hex/],
    [HELLO + HELLO, /encrypted reference/],
    [manifestCid, /swarm-manifest CID names a \/bzz collection/],
    [feedCid, /swarm-feed CID names a feed/],
    [ipfsCid, /codec raw \(0x55\), multihash keccak-256/],
    ['b' + 'A'.repeat(58), /not valid base32/],
    [referenceToCid(HELLO) + 'a', /not valid base32|expected CIDv1/],
    ['QmRF2NiRwwQaZN4Nz1pyGoTN5cW3gjcSC1GurPpjLi1jmj', /expected a 64-hex/],
  ]
  for (const [id, message] of cases) {
    assert.throws(
      () => parseSwarmId(id),
      (err: unknown) => {
        assert.ok(err instanceof InvalidInputError, `${String(id)} gave ${String(err)}`)
        assert.equal(err.code, 'INVALID_INPUT')
        assert.match(err.message, message)
        return true
      },
    )
  }
})
