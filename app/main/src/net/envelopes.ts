// One node's envelopes: signed on the way out (its key, its sequence numbers), checked on the way
// in (size, schema, signature, sender, topic, author, replay) with one log line per drop. Every
// wire, real or in memory, goes through this, so a test wire enforces what the network does.

import type { Ed25519PrivateKey } from '@libp2p/interface'
import type { ComponentLogger } from '../log/logger.ts'
import {
  decodeVerified,
  encodeSigned,
  MessageError,
  type MessageErrorCode,
} from '../protocol/codec.ts'
import {
  DIRECT_TYPES,
  gossipOf,
  type Message,
  type MessageOf,
  type MessageType,
  type ProtocolId,
} from '../protocol/messages.ts'
import { ReplayGuard } from '../protocol/replay.ts'
import { SeqCounter } from '../protocol/seq.ts'

/** Checks that fail for messages that are well formed and genuine, only not new. */
export const NOT_NEW: ReadonlySet<MessageErrorCode> = new Set([
  'stale',
  'future',
  'replay',
  'duplicate',
])

/** Where a message came in and what it must be. */
export interface CheckContext {
  readonly via: string
  readonly topic?: string
  readonly protocol?: string
  readonly expectedFrom?: string
  readonly expectedType?: MessageType | readonly MessageType[] | undefined
  /** On a job's own topic: the job every message must be about. */
  readonly expectedJob?: string
  /** The one peer whose messages the topic carries. */
  readonly expectedAuthor?: string
}

export class Envelopes {
  readonly #key: Ed25519PrivateKey
  private readonly clock: () => number
  private readonly logger: ComponentLogger
  private readonly guard: ReplayGuard
  /** seq = max(previous + 1, ts × 1000): increasing across restarts, never below its own ts. */
  readonly #seq = new SeqCounter()

  constructor(key: Ed25519PrivateKey, logger: ComponentLogger, clock: () => number = Date.now) {
    this.#key = key
    this.logger = logger
    this.clock = clock
    // Built with the start time: messages made before this node started are never accepted.
    this.guard = new ReplayGuard({ now: clock() })
  }

  sign<T extends MessageType>(type: T, body: MessageOf<T>['body']): Uint8Array {
    // One clock reading for both, so seq is never below ts × 1000.
    const now = this.clock()
    return encodeSigned(type, body as never, {
      privateKey: this.#key,
      seq: this.#seq.next(now),
      now,
    })
  }

  /**
   * A gossip message on `topic`: of the topic's types, about its job, from its `author` when the
   * subscription names one, and signed by `from` (the gossip layer's author) when known.
   */
  checkGossip(
    bytes: Uint8Array,
    gossip: { topic: string; via: string; from?: string; author?: string },
    onDrop?: (code: MessageErrorCode) => void,
  ): Message | undefined {
    const carries = gossipOf(gossip.topic)
    if (carries === undefined) return undefined
    return this.check(
      bytes,
      {
        via: gossip.via,
        topic: gossip.topic,
        expectedType: carries.types,
        ...(carries.jobId !== undefined ? { expectedJob: carries.jobId } : {}),
        ...(gossip.author !== undefined ? { expectedAuthor: gossip.author } : {}),
        ...(gossip.from !== undefined ? { expectedFrom: gossip.from } : {}),
      },
      onDrop,
    )
  }

  /** A request on a direct protocol: its request type, signed by the peer at the other end. */
  checkRequest(bytes: Uint8Array, protocol: string, from: string): Message | undefined {
    return this.check(bytes, {
      via: from,
      protocol,
      expectedFrom: from,
      expectedType: DIRECT_TYPES[protocol as ProtocolId]?.request,
    })
  }

  /** A reply on a direct protocol: one of its response types, signed by the peer asked. */
  checkReply(bytes: Uint8Array, protocol: string, peer: string): Message | undefined {
    return this.check(bytes, {
      via: peer,
      protocol,
      expectedFrom: peer,
      expectedType: DIRECT_TYPES[protocol as ProtocolId]?.responses,
    })
  }

  check(
    bytes: Uint8Array,
    context: CheckContext,
    onDrop?: (code: MessageErrorCode) => void,
  ): Message | undefined {
    try {
      const message = decodeVerified(bytes, {
        now: this.clock(),
        ...(context.expectedFrom !== undefined ? { expectedFrom: context.expectedFrom } : {}),
        ...(context.expectedType !== undefined
          ? { expectedType: context.expectedType as MessageType[] }
          : {}),
      })
      const about = (message.body as { jobId?: string }).jobId
      if (context.expectedJob !== undefined && about !== context.expectedJob) {
        // Checked before the replay guard: a misplaced message must not use up its sequence number.
        throw new MessageError(
          'wrong-topic',
          `a ${message.type} about job ${about} on the topic of job ${context.expectedJob}`,
        )
      }
      if (context.expectedAuthor !== undefined && message.from !== context.expectedAuthor) {
        // Also before the replay guard, for the same reason.
        throw new MessageError(
          'wrong-author',
          `a ${message.type} signed by ${message.from}, not by ${context.expectedAuthor}, whose job's topic this is`,
        )
      }
      this.guard.check(message, bytes, this.clock())
      return message
    } catch (err) {
      const code = err instanceof MessageError ? err.code : 'malformed'
      onDrop?.(code)
      this.logger.warn('message dropped', {
        code,
        reason: (err as Error).message,
        via: context.via,
        ...(context.topic !== undefined ? { topic: context.topic } : {}),
        ...(context.protocol !== undefined ? { protocol: context.protocol } : {}),
        bytes: bytes.length,
      })
      return undefined
    }
  }
}
