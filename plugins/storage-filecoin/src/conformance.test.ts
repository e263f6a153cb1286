// FilecoinStore, through the real Lighthouse SDK, against the FAKE Lighthouse: the shared suite.

import { storageConformance } from '@wholesum/plugin-api/testing'
import { FilecoinStore } from './store.ts'
import { startFakeLighthouse } from './testing/fake-lighthouse.ts'

const API_KEY = 'conformance-test-key'

storageConformance('storage-filecoin (Lighthouse SDK against a FAKE Lighthouse on 127.0.0.1)', {
  // CIDv0 over sha256("wholesum-absent"): well-formed, never stored.
  absentCid: 'Qmc5QgwHkL1wBpNnc3AKfKBd8edYLfzZheZXUqaaRCvEWx',
  missingTimeoutMs: 1000,
  async open() {
    const fake = await startFakeLighthouse({ apiKeys: [API_KEY] })
    const store = new FilecoinStore({
      apiKey: API_KEY,
      apiUrl: fake.apiUrl,
      uploadUrl: fake.uploadUrl,
      gatewayUrl: fake.gatewayUrl,
      timeoutMs: 10_000,
    })
    return {
      store,
      // Damage what the fake's gateway serves; the fake's own records stay as they were.
      corrupt: async (cid) => fake.corrupt(cid),
      close: () => fake.close(),
    }
  },
})
