// The embedded IPFS store against the storage conformance suite every storage plugin runs.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { storageConformance } from '@wholesum/plugin-api/testing'
import { startIpfsNode } from './node.ts'
import { IpfsStore } from './store.ts'

/** Every block file under a blockstore-fs directory. */
async function blockFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

storageConformance('storage-ipfs (Helia, embedded)', {
  // CIDv0 over sha256("wholesum-absent"): well-formed, never stored.
  absentCid: 'Qmc5QgwHkL1wBpNnc3AKfKBd8edYLfzZheZXUqaaRCvEWx',
  missingTimeoutMs: 1000,
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'storage-ipfs-conformance-'))
    const node = await startIpfsNode({ dir })
    return {
      store: new IpfsStore(node.helia, { timeoutMs: 1000 }),
      // The fresh store holds only the object under test: flip a byte in each of its blocks.
      async corrupt() {
        for (const file of await blockFiles(join(dir, 'blocks'))) {
          const bytes = await readFile(file)
          bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff
          await writeFile(file, bytes)
        }
      },
      async close() {
        await node.stop()
        await rm(dir, { recursive: true, force: true })
      },
    }
  },
})
