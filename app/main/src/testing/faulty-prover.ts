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
 * claimed one's.
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
 * Proves each segment honestly but delivers, in its place, the receipt of the segment it proved
 * before in the same job (one folder per job). Its first segment has nothing to swap with, so it
 * withholds that receipt and fails the attempt: it never delivers a receipt for the claimed
 * segment.
 */
function wrongSegmentProver(honest: ProverPlugin): ProverPlugin {
  const previous = new Map<string, { bytes: Buffer; claimDigest: string }>()
  return decorate(honest, {
    async proveSegment(request) {
      const result = await honest.proveSegment(request)
      const job = dirname(result.path)
      const mine = { bytes: await readFile(result.path), claimDigest: result.claimDigest }
      const swap = previous.get(job)
      previous.set(job, mine)
      if (swap === undefined) {
        throw new WorkerError(
          'fault injection (wrong-segment): first receipt withheld, to be handed in for another segment',
        )
      }
      await writeFile(result.path, swap.bytes)
      return { ...result, bytes: swap.bytes.length, claimDigest: swap.claimDigest }
    },
  })
}
