// The client's JOIN stage on the network: drives the sans-IO ClientJoin for one job whose provers
// lift and join. Join bit fields go out on the job's topic (stage `join`, one per open round);
// join claims and notices arrive as `claim`/`proof` requests with stage `join`; every join receipt
// is fetched from its prover and checked by the prover plugin's `verifySuccinct` against the claim
// it must prove (risc0's ReceiptClaim::join of its two inputs' claims); the last one becomes the
// job's receipt with `finalizeSuccinct`.

import { join as joinPath } from 'node:path'
import {
  joinClaims,
  type ClaimParts,
  type CidString,
  type ProverPlugin,
  type StoragePlugin,
} from '@wholesum/plugin-api'
import type { ComponentLogger } from '../log/logger.ts'
import { ClientJoin, type ClientJoinCommand } from '../pipeline/client-join.ts'
import { Bitfield } from '../protocol/bitfield.ts'
import { pipelineTopic } from '../protocol/messages.ts'
import { checkDeliveredReceipt } from './transfer.ts'
import type { Reply, Wire } from './wire.ts'

/** What a job's JOIN stage reports, for the job's event stream. */
export type JoinEvent =
  | {
      readonly type: 'join-claim'
      readonly prover: string
      readonly round: number
      readonly index: number
    }
  | {
      readonly type: 'join-credit'
      readonly prover: string
      readonly round: number
      readonly index: number
    }
  | {
      readonly type: 'join-strike'
      readonly prover: string
      readonly round: number
      readonly index: number
      readonly reason: string
    }

export interface JoinDriverOptions {
  readonly jobId: string
  readonly wire: Wire
  readonly storage: StoragePlugin
  readonly prover: ProverPlugin
  readonly logger: ComponentLogger
  readonly clock: () => number
  /** Where join receipts are kept while the stage runs. */
  readonly dir: string
  /** The PROVE stage's credited (lifted) receipts, in segment order: CID, claim, local file. */
  readonly inputs: readonly {
    readonly receiptCid: CidString
    readonly claim: ClaimParts
    readonly file: string
  }[]
  readonly claimTtlMs: number
  readonly maxStrikes: number
  readonly strikes: Readonly<Record<string, number>>
  readonly bitfieldIntervalMs: number
  readonly hasDeal: (prover: string) => boolean
  readonly onEvent: (event: JoinEvent) => void
  /** The last receipt (a file here), once every join verified. */
  readonly onDone: (receipt: string) => void
}

/** Claims travel through the state machine as canonical JSON of their parts. */
const encodeClaim = (claim: ClaimParts): string =>
  JSON.stringify({
    pre: claim.pre,
    post: claim.post,
    input: claim.input,
    output: claim.output,
    exitCode: { kind: claim.exitCode.kind, code: claim.exitCode.code },
  })
const decodeClaim = (text: string): ClaimParts => JSON.parse(text) as ClaimParts

export class JoinDriver {
  private readonly options: JoinDriverOptions
  private readonly machine: ClientJoin
  /** The inputs' files by CID; a join's receipt is kept under its own CID in `dir`. */
  private readonly inputFiles: ReadonlyMap<string, string>
  private finished = false

  constructor(options: JoinDriverOptions) {
    this.options = options
    this.inputFiles = new Map(options.inputs.map((i) => [i.receiptCid, i.file]))
    this.machine = new ClientJoin(
      // Open pairs go out at once, but a burst of finished joins becomes one gossip round.
      { bitfieldIntervalMs: options.bitfieldIntervalMs, bitfieldGapMs: 250 },
      {
        inputs: options.inputs.map((i) => ({
          receiptCid: i.receiptCid,
          claim: encodeClaim(i.claim),
        })),
        joinClaim: (left, right) => encodeClaim(joinClaims(decodeClaim(left), decodeClaim(right))),
        claimTtlMs: options.claimTtlMs,
        maxStrikes: options.maxStrikes,
        strikes: options.strikes,
      },
      options.hasDeal,
    )
  }

  start(): void {
    this.run(this.machine.start(this.options.clock()))
  }

  tick(): void {
    if (!this.finished) this.run(this.machine.tick(this.options.clock()))
  }

  claim(prover: string, round: number, index: number): Reply {
    const { jobId } = this.options
    const reply = this.machine.claim(prover, round, index, this.options.clock())
    if (!reply.granted) {
      return { type: 'claim-ack', body: { jobId, index, granted: false, ttlMs: 0 } }
    }
    if (!reply.renewal) this.options.onEvent({ type: 'join-claim', prover, round, index })
    return {
      type: 'claim-ack',
      body: { jobId, index, granted: true, ttlMs: reply.ttlMs, inputs: [reply.left, reply.right] },
    }
  }

  proof(prover: string, round: number, index: number, receiptCid: CidString): Reply {
    const { jobId } = this.options
    const { reply, commands } = this.machine.proof(prover, round, index, receiptCid)
    this.run(commands)
    return {
      type: 'proof-ack',
      body: reply.accepted
        ? { jobId, index, accepted: true }
        : { jobId, index, accepted: false, reason: reply.reason },
    }
  }

  /** Strikes of the whole job so far (PROVE's carried over), for the job's outcome. */
  strikesOf(prover: string): number {
    return this.machine.stage.strikesOf(prover)
  }

  credits(): ReadonlyMap<string, number> {
    return this.machine.stage.credits()
  }

  private run(commands: readonly ClientJoinCommand[]): void {
    for (const command of commands) {
      switch (command.type) {
        case 'publish-join-bitfield': {
          const bits = new Bitfield(command.total)
          for (const i of command.indexes) bits.set(i)
          void this.options.wire
            .publish(pipelineTopic(this.options.jobId), 'bitfield', {
              jobId: this.options.jobId,
              stage: 'join',
              round: command.round,
              total: command.total,
              bits: bits.toBytes(),
              endgame: command.endgame,
            })
            .catch((err) =>
              this.options.logger.warn('join bit field not published', {
                jobId: this.options.jobId,
                error: (err as Error).message,
              }),
            )
          break
        }
        case 'verify-join':
          void this.verify(command)
          break
        case 'join-credit':
          this.options.onEvent({ ...command, type: 'join-credit' })
          break
        case 'join-strike':
          this.options.onEvent({ ...command, type: 'join-strike' })
          break
        case 'all-joined':
          this.finished = true
          this.options.onDone(this.receiptFile(command.receiptCid))
          break
        default:
          break
      }
    }
  }

  /** Where a receipt of this stage is (or will be) on disk: an input's own file, or a join's. */
  private receiptFile(receiptCid: string): string {
    return (
      this.inputFiles.get(receiptCid) ?? joinPath(this.options.dir, `join-${receiptCid}.receipt`)
    )
  }

  private async verify(
    command: Extract<ClientJoinCommand, { type: 'verify-join' }>,
  ): Promise<void> {
    const { prover, round, index, receiptCid } = command
    const outcome = await checkDeliveredReceipt(
      this.options.storage,
      this.options.wire,
      prover,
      receiptCid,
      this.receiptFile(receiptCid),
      (file) =>
        this.options.prover.verifySuccinct({
          receipt: file,
          expectedClaim: decodeClaim(command.expectedClaim),
        }),
    )
    if (!outcome.ok) {
      this.options.logger.warn('join receipt rejected', {
        jobId: this.options.jobId,
        round,
        index,
        prover,
        receiptCid,
        reason: outcome.reason,
      })
    }
    if (this.finished) return
    this.run(
      this.machine.joinVerified(prover, round, index, receiptCid, outcome, this.options.clock()),
    )
  }
}
