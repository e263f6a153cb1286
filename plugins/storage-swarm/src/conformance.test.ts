// The Swarm store against the storage conformance suite, on a real Bee (`bee dev`, Go) on loopback.

import { test } from 'node:test'
import { storageConformance } from '@wholesum/plugin-api/testing'
import { parseSwarmId, referenceToCid } from './reference.ts'
import { beeBinary, INSTALL_HINT } from './testing/bee-dev.ts'
import { openSwarm } from './testing/harness.ts'

if (beeBinary() === undefined) {
  test('storage conformance: storage-swarm (real Bee, bee dev)', { skip: INSTALL_HINT }, () => {})
} else {
  storageConformance('storage-swarm (real Bee, bee dev)', {
    // A well-formed reference that nothing in these tests stores.
    absentCid: referenceToCid('0c6e1d03cb0bad3a7b4a29e72e4cc3bc0d0c29e7b0c0f1a0c1d6a4b5a8f3e201'),
    missingTimeoutMs: 2000,
    async open() {
      const swarm = await openSwarm()
      return {
        store: swarm.store,
        // Bee keeps chunks in memory in dev mode, so the damage is done on the way: the proxy
        // flips a byte of every answer for this reference (its root chunk and its /bytes data).
        async corrupt(cid) {
          const reference = parseSwarmId(cid)
          swarm.proxy.tamper('chunks', reference, { kind: 'flip' })
          swarm.proxy.tamper('bytes', reference, { kind: 'flip' })
        },
        close: () => swarm.close(),
      }
    },
  })
}
