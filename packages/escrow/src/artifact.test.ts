// The committed artifact (resources/contracts/WholesumEscrow.json) and the typed ABI (src/abi.ts)
// are what the sources compile to: nobody deploys bytecode that the sources do not give.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { escrowAbi } from './abi.ts'
import { ESCROW_ARTIFACT, compileEscrow } from './compile.ts'

test('the artifact and the typed ABI match a fresh compilation of the sources (npm run build:contracts)', () => {
  const fresh = compileEscrow()
  const committed = JSON.parse(readFileSync(ESCROW_ARTIFACT, 'utf8')) as typeof fresh
  assert.equal(
    committed.sourcesDigest,
    fresh.sourcesDigest,
    'the sources changed since the artifact was built',
  )
  assert.equal(committed.compiler.version, fresh.compiler.version)
  assert.deepEqual(committed.compiler.settings, fresh.compiler.settings)
  assert.equal(committed.bytecode, fresh.bytecode)
  assert.equal(committed.deployedBytecode, fresh.deployedBytecode)
  assert.deepEqual(committed.abi, fresh.abi)
  assert.deepEqual(escrowAbi, fresh.abi)
  // EIP-170: a contract over 24,576 bytes cannot be deployed on mainnet or the usual L2s.
  assert.ok((fresh.deployedBytecode.length - 2) / 2 <= 24_576)
})
