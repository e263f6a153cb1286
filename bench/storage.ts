// Benchmark: the embedded IPFS store's put and cross-node get against a plain loopback TCP copy.
//
// usage: node bench/storage.ts [--mib 64] [--rounds 3]
// Baseline, in the same process: the same bytes sent over one plain TCP connection on 127.0.0.1.
// Reported: put (chunk, hash, write blocks on node A), get (node B fetches by CID over bitswap,
// verifying every block), each as MiB/s and as a ratio of the TCP copy's time.

import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect, type AddressInfo } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { IpfsStore, startIpfsNode } from '../plugins/storage-ipfs/src/index.ts'

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' } },
})
const MiB = 2 ** 20
const size = Number(values.mib) * MiB
const rounds = Number(values.rounds)
const CHUNK = MiB

/** Deterministic, incompressible bytes, one chunk at a time (a fresh seed gives fresh CIDs). */
function* bytes(seed: number): Generator<Buffer> {
  let counter = 0
  for (let sent = 0; sent < size; sent += CHUNK) {
    const chunk = Buffer.alloc(Math.min(CHUNK, size - sent))
    for (let at = 0; at < chunk.length; at += 32) {
      createHash('sha256').update(`${seed}:${counter++}`).digest().copy(chunk, at)
    }
    yield chunk
  }
}

/** The baseline: one TCP connection on loopback, receiver hashes what arrives. */
async function tcpCopy(seed: number): Promise<{ ms: number; sha: string }> {
  const chunks = [...bytes(seed)] // generated up front: only the transfer is timed
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      const hash = createHash('sha256')
      socket.on('data', (data) => hash.update(data))
      socket.on('end', () => {
        resolve({ ms: performance.now() - started, sha: hash.digest('hex') })
        server.close()
      })
    })
    let started = 0
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      const client = connect(port, '127.0.0.1', async () => {
        started = performance.now()
        for (const chunk of chunks)
          if (!client.write(chunk)) await new Promise((r) => client.once('drain', r))
        client.end()
      })
    })
  })
}

const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-storage-'))
const a = await startIpfsNode({ dir: join(work, 'a') })
const b = await startIpfsNode({ dir: join(work, 'b') })
const rate = (ms: number) => (size / MiB / (ms / 1000)).toFixed(1)
try {
  const storeA = new IpfsStore(a.helia)
  const storeB = new IpfsStore(b.helia)
  console.log(
    `storage: ${values.mib} MiB, ${rounds} rounds, ${cpus().length} cores; embedded IPFS (Helia, Kubo-compatible UnixFS) vs plain loopback TCP`,
  )
  let tcpMs = 0
  let putMs = 0
  let getMs = 0
  for (let round = 0; round < rounds; round++) {
    const seed = 1000 + round
    const tcp = await tcpCopy(seed)
    const chunks = [...bytes(seed)]
    let t = performance.now()
    const cid = await storeA.put(
      (async function* () {
        yield* chunks
      })(),
    )
    const put = performance.now() - t
    // Bitswap asks the peers it is connected to when it wants a block: connect once A has it.
    await b.dial(a.addresses()[0]!)
    t = performance.now()
    const hash = createHash('sha256')
    for await (const piece of storeB.get(cid)) hash.update(piece)
    const get = performance.now() - t
    if (hash.digest('hex') !== tcp.sha)
      throw new Error('bytes fetched over bitswap differ from the source')
    tcpMs += tcp.ms
    putMs += put
    getMs += get
    console.log(
      `  round ${round + 1}: tcp ${tcp.ms.toFixed(0)} ms (${rate(tcp.ms)} MiB/s)  put ${put.toFixed(0)} ms (${rate(put)} MiB/s)  get ${get.toFixed(0)} ms (${rate(get)} MiB/s)`,
    )
  }
  console.log(
    `mean: tcp ${rate(tcpMs / rounds)} MiB/s, put ${rate(putMs / rounds)} MiB/s (${(putMs / tcpMs).toFixed(1)}x tcp time), ` +
      `get over bitswap ${rate(getMs / rounds)} MiB/s (${(getMs / tcpMs).toFixed(1)}x tcp time)`,
  )
} finally {
  await b.stop()
  await a.stop()
  await rm(work, { recursive: true, force: true })
}
