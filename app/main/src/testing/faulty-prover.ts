// Lying provers for tests of the client's defences: decorators of a real prover plugin, so the
// prover service stays free of fault branches and proves whatever plugin it is handed. Only the
// test-only `wholesum node --fault` flag (used by the devnet's liars) wraps a plugin in one.

import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { WorkerError, type ProverPlugin } from '@wholesum/plugin-api'
import { decorate } from './receipt-double.ts'

/**
 * `corrupt` flips bytes in every receipt it makes (segment, lifted and joined), so none
 * verifies; `wrong-segment` hands in a valid receipt of another segment of the same job as the
 * claimed one's (it swaps receipts between two proofs running at once).
 */
export const PROVER_FAULTS = ['corrupt', 'wrong-segment'] as const
export type ProverFault = (typeof PROVER_FAULTS)[number]

export function faultyProver(honest: ProverPlugin, fault: ProverFault): ProverPlugin {
  return fault === 'corrupt' ? corruptingProver(honest) : wrongSegmentProver(honest)
}

/** Flips 16 bytes around the middle of a file, in place. */
async function corrupt(file: string): Promise<void> {
  const bytes = await readFile(file)
  for (let i = 0; i < 16; i++) {
    const at = (Math.floor(bytes.length / 2) + i * 97) % bytes.length
    bytes[at] = bytes[at]! ^ 0xff
  }
  await writeFile(file, bytes)
}

const honestCopy = (file: string): string => `${file}.honest`

function corruptingProver(honest: ProverPlugin): ProverPlugin {
  return decorate(honest, {
    async proveSegment(request) {
      const result = await honest.proveSegment(request)
      // Kept so that a succinct job's lift can start from the true receipt and lie only after.
      await copyFile(result.path, honestCopy(result.path))
      await corrupt(result.path)
      return result
    },
    async lift(request) {
      const source = honestCopy(request.receipt)
      const pristine = await stat(source).then(
        () => source,
        () => request.receipt,
      )
      const result = await honest.lift({ ...request, receipt: pristine })
      await rm(source, { force: true })
      await corrupt(result.path)
      return result
    },
    async join(request) {
      const result = await honest.join(request)
      await corrupt(result.path)
      return result
    },
  })
}

/**
 * Proves each segment honestly, then swaps receipts between two proofs of the same job (one
 * folder per job) that run at once: each is handed in as the other's, so every receipt it
 * delivers is valid but for the wrong segment, and it never delivers one for the segment claimed.
 * A proof waits for a partner; it needs two claims at a time (`maxConcurrentSegments` 2 or more),
 * and a proof left without a partner ends only when its request is aborted.
 */
function wrongSegmentProver(honest: ProverPlugin): ProverPlugin {
  interface Proved {
    readonly bytes: Buffer
    readonly claimDigest: string
  }
  const waiting = new Map<string, { mine: Proved; swap: (theirs: Proved) => void }>()
  return decorate(honest, {
    async proveSegment(request) {
      const result = await honest.proveSegment(request)
      const job = dirname(result.path)
      const mine = { bytes: await readFile(result.path), claimDigest: result.claimDigest }
      const partner = waiting.get(job)
      let theirs: Proved
      if (partner !== undefined && partner.mine.claimDigest !== mine.claimDigest) {
        waiting.delete(job)
        partner.swap(mine)
        theirs = partner.mine
      } else {
        theirs = await new Promise<Proved>((resolve, reject) => {
          waiting.set(job, { mine, swap: resolve })
          request.signal?.addEventListener(
            'abort',
            () => {
              if (waiting.get(job)?.mine === mine) waiting.delete(job)
              reject(
                new WorkerError(
                  'fault injection (wrong-segment): aborted while waiting for a partner',
                ),
              )
            },
            { once: true },
          )
        })
      }
      await writeFile(result.path, theirs.bytes)
      return { ...result, bytes: theirs.bytes.length, claimDigest: theirs.claimDigest }
    },
  })
}
