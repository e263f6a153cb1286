// The libp2p side of the wire protocol: gossip topics and one-request-one-response direct streams,
// every message signed on the way out and checked (size, schema, signature, sender, replay) on the
// way in. A message that fails a check is dropped with one log line and changes no state. Gossip is
// checked in gossipsub's topic validator, before it is forwarded: an invalid message goes no
// further than the first honest peer, and gossipsub's peer score counts it against its sender.

import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Stream, StreamMessageEvent } from '@libp2p/interface'
import { TopicValidatorResult, type Message as GossipMessage } from '@libp2p/gossipsub'
import type { ComponentLogger } from '../log/logger.ts'
import { MessageError, type MessageErrorCode } from '../protocol/codec.ts'
import { maxFrameBytes } from '../protocol/framing.ts'
import {
  DIRECT_TYPES,
  gossipOf,
  MAX_ENVELOPE_BYTES,
  PROTOCOLS,
  type ProtocolId,
  type Message,
  type MessageOf,
  type MessageType,
} from '../protocol/messages.ts'
import { Envelopes, NOT_NEW } from './envelopes.ts'
import { dialPeer } from './dial.ts'
import { scoreTopic, type NetworkNode } from './node.ts'

export type BodyOf<T extends MessageType> = MessageOf<T>['body']

/** What each direct protocol's request is; `handle` checks it before a handler runs. */
export type RequestTypeOf = {
  [PROTOCOLS.offer]: 'offer'
  [PROTOCOLS.claim]: 'claim'
  [PROTOCOLS.proof]: 'proof'
  [PROTOCOLS.status]: 'status'
  [PROTOCOLS.verify]: 'verify'
  [PROTOCOLS.payout]: 'payout-request'
}

/** A reply to sign: any message type with its own body. */
export type Reply = { [T in MessageType]: { type: T; body: BodyOf<T> } }[MessageType]

export interface RequestOptions {
  readonly signal?: AbortSignal
  readonly timeoutMs?: number
  /** Multiaddrs to dial when no connection to the peer exists yet. */
  readonly addrs?: readonly string[]
}

const DEFAULT_REQUEST_TIMEOUT_MS = 15_000

/**
 * How long a handler may take to answer, where it is longer than a request's default: a verifier
 * fetches a whole receipt and verifies every segment of it before it answers.
 */
export const HANDLER_TIMEOUT_MS: Readonly<Partial<Record<ProtocolId, number>>> = {
  [PROTOCOLS.verify]: 10 * 60_000,
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /**
   * The one peer whose messages this topic carries (a job's client, on the job's topic). Anything
   * else, however well signed, is rejected in the validator: not delivered, not relayed.
   */
  readonly author?: string
}

/**
 * Counts the bytes a stream delivers, so a reader can tell whether anything came after the one
 * frame it read: the spec makes a second frame, or bytes after the frame, a protocol error.
 */
function countReceived(stream: Stream): { bytes(): number; stop(): void } {
  let received = 0
  const onMessage = (event: StreamMessageEvent): void => {
    received += event.data.byteLength
  }
  stream.addEventListener('message', onMessage)
  return {
    bytes: () => received,
    stop: () => stream.removeEventListener('message', onMessage),
  }
}

/** Bytes of one frame carrying `payload` bytes: its varint length prefix and the payload. */
function frameLength(payload: number): number {
  let prefix = 1
  for (let n = payload; n >= 0x80; n = Math.floor(n / 0x80)) prefix += 1
  return prefix + payload
}

/**
 * What the services see of the network: signed gossip and one-request-one-response streams, and
 * whether a peer is reachable. `Libp2pWire` is the real one; `testing/memory-wire.ts` runs the
 * same messages through the same codec between nodes of one process, for fast multi-node tests.
 */
export interface Wire {
  readonly peerId: string
  /** This node's listen addresses, with its peer ID. */
  addresses(): string[]
  subscribe(topic: string, handler: (message: Message) => void, options?: SubscribeOptions): void
  unsubscribe(topic: string): void
  follows(topic: string): boolean
  publish<T extends MessageType>(topic: string, type: T, body: BodyOf<T>): Promise<void>
  handle<P extends ProtocolId>(
    protocol: P,
    handler: (message: MessageOf<RequestTypeOf[P]>, from: string) => Reply | Promise<Reply>,
  ): Promise<void>
  request<T extends MessageType>(
    peer: string,
    protocol: string,
    type: T,
    body: BodyOf<T>,
    options?: RequestOptions,
  ): Promise<Message>
  /** Whether a connection to `peer` is open now. */
  connected(peer: string): boolean
  /** Dials `peer`, at `addrs` when given (else wherever the peer store knows it). */
  dial(peer: string, addrs?: readonly string[], options?: { signal?: AbortSignal }): Promise<void>
  /** Drops any connection to `peer` and dials it afresh (a transfer that went silent). */
  redial(peer: string, addrs?: readonly string[], options?: { signal?: AbortSignal }): Promise<void>
  /** Stops serving one protocol. */
  unhandle(protocol: ProtocolId): Promise<void>
  /** Stops serving every protocol this wire handles and leaves every topic it follows. */
  close(): Promise<void>
}

export class Libp2pWire implements Wire {
  readonly node: NetworkNode
  private readonly logger: ComponentLogger
  private readonly envelopes: Envelopes
  private readonly topicHandlers = new Map<string, (message: Message) => void>()
  private readonly protocols = new Set<string>()
  /** Gossip that passed the topic validator, decoded there once (the replay guard admits once). */
  private readonly validated = new WeakMap<GossipMessage, Message>()

  constructor(node: NetworkNode, logger: ComponentLogger, clock: () => number = Date.now) {
    this.node = node
    this.logger = logger
    this.envelopes = new Envelopes(node.peerKey, logger, clock)
    node.libp2p.services.pubsub.addEventListener('gossipsub:message', (event) => {
      const { msg } = event.detail
      const message = this.validated.get(msg)
      this.validated.delete(msg)
      if (message !== undefined) this.topicHandlers.get(msg.topic)?.(message)
    })
  }

  get peerId(): string {
    return this.node.peerId
  }

  addresses(): string[] {
    return this.node.addresses()
  }

  connected(peer: string): boolean {
    return this.node.libp2p.getConnections(peerIdFromString(peer)).length > 0
  }

  async dial(
    peer: string,
    addrs?: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await dialPeer(this.node.libp2p, peer, addrs, options)
  }

  async redial(
    peer: string,
    addrs?: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.node.libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
    await dialPeer(this.node.libp2p, peer, addrs, options)
  }

  async unhandle(protocol: ProtocolId): Promise<void> {
    this.protocols.delete(protocol)
    await this.node.libp2p.unhandle(protocol)
  }

  async close(): Promise<void> {
    for (const topic of [...this.topicHandlers.keys()]) this.unsubscribe(topic)
    for (const protocol of [...this.protocols]) await this.node.libp2p.unhandle(protocol)
    this.protocols.clear()
  }

  sign<T extends MessageType>(type: T, body: BodyOf<T>): Uint8Array {
    return this.envelopes.sign(type, body as never)
  }

  subscribe(
    topic: string,
    handler: (message: Message) => void,
    options: SubscribeOptions = {},
  ): void {
    if (gossipOf(topic) === undefined) throw new Error(`${topic} is not a wholesum topic`)
    this.topicHandlers.set(topic, handler)
    const pubsub = this.node.libp2p.services.pubsub
    pubsub.topicValidators.set(topic, (peer, msg) =>
      this.validateGossip(peer.toString(), msg, options.author),
    )
    scoreTopic(this.node, topic)
    pubsub.subscribe(topic)
  }

  /** Stops following a topic: no more deliveries, and its validator is gone. */
  unsubscribe(topic: string): void {
    this.topicHandlers.delete(topic)
    const pubsub = this.node.libp2p.services.pubsub
    pubsub.unsubscribe(topic)
    pubsub.topicValidators.delete(topic)
  }

  /** Whether this node follows `topic`. */
  follows(topic: string): boolean {
    return this.topicHandlers.has(topic)
  }

  /**
   * Reject: the message is invalid whoever relays it (malformed, unsigned, forged, oversized):
   * not delivered, not forwarded, and the relaying peer's score drops. Ignore: valid bytes that
   * are merely not new (a replay, outside the clock window): dropped without blaming the relay.
   */
  private validateGossip(
    via: string,
    msg: GossipMessage,
    author: string | undefined,
  ): TopicValidatorResult {
    let failed: MessageErrorCode | undefined
    const message = this.envelopes.checkGossip(
      msg.data,
      {
        topic: msg.topic,
        via,
        ...(author !== undefined ? { author } : {}),
        // gossipsub signs too (StrictSign): the envelope's signer must be the message's author.
        ...(msg.type === 'signed' ? { from: msg.from.toString() } : {}),
      },
      (code) => (failed = code),
    )
    if (message !== undefined) {
      this.validated.set(msg, message)
      return TopicValidatorResult.Accept
    }
    return failed !== undefined && NOT_NEW.has(failed)
      ? TopicValidatorResult.Ignore
      : TopicValidatorResult.Reject
  }

  async publish<T extends MessageType>(topic: string, type: T, body: BodyOf<T>): Promise<void> {
    await this.node.libp2p.services.pubsub.publish(topic, this.sign(type, body))
  }

  /** Serves one protocol: read one request, answer one signed reply, close. */
  async handle<P extends ProtocolId>(
    protocol: P,
    handler: (message: MessageOf<RequestTypeOf[P]>, from: string) => Reply | Promise<Reply>,
  ): Promise<void> {
    this.protocols.add(protocol)
    await this.node.libp2p.handle(
      protocol,
      async (stream: Stream, connection: Connection) => {
        const from = connection.remotePeer.toString()
        // The protocol's own cap: a length prefix over it is refused before any body is read.
        const received = countReceived(stream)
        const lp = lpStream(stream, { maxDataLength: maxFrameBytes(protocol) })
        try {
          const signal = AbortSignal.timeout(
            HANDLER_TIMEOUT_MS[protocol] ?? DEFAULT_REQUEST_TIMEOUT_MS,
          )
          const bytes = (
            await lp.read({ signal: AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT_MS) })
          ).subarray()
          const trailing = (): void => {
            if (received.bytes() > frameLength(bytes.byteLength)) {
              throw new MessageError(
                'malformed',
                `${received.bytes() - frameLength(bytes.byteLength)} bytes after the request frame`,
              )
            }
          }
          trailing()
          const message = this.envelopes.checkRequest(bytes, protocol, from)
          if (message === undefined) {
            stream.abort(new Error('message rejected'))
            return
          }
          // check() enforced the protocol's request type.
          const reply = await handler(message as MessageOf<RequestTypeOf[P]>, from)
          trailing() // bytes that arrived while the handler ran
          await lp.write(this.sign(reply.type, reply.body), { signal })
          await stream.close({ signal })
        } catch (err) {
          this.logger.warn('direct stream failed', {
            protocol,
            peer: from,
            error: (err as Error).message,
          })
          stream.abort(err as Error)
        } finally {
          received.stop()
        }
      },
      { maxInboundStreams: 64 },
    )
  }

  /** Sends one signed request and returns the peer's checked reply. */
  async request<T extends MessageType>(
    peer: string,
    protocol: string,
    type: T,
    body: BodyOf<T>,
    options: RequestOptions = {},
  ): Promise<Message> {
    const signal = AbortSignal.any([
      AbortSignal.timeout(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      ...(options.signal !== undefined ? [options.signal] : []),
    ])
    const peerId = peerIdFromString(peer)
    const libp2p = this.node.libp2p
    if (libp2p.getConnections(peerId).length === 0 && (options.addrs ?? []).length > 0) {
      await dialPeer(libp2p, peer, options.addrs, { signal })
    }
    const stream = await libp2p.dialProtocol(peerId, protocol, { signal })
    const known = DIRECT_TYPES[protocol as ProtocolId] !== undefined
    const received = countReceived(stream)
    const lp = lpStream(stream, {
      maxDataLength: known ? maxFrameBytes(protocol as ProtocolId) : MAX_ENVELOPE_BYTES,
    })
    try {
      await lp.write(this.sign(type, body), { signal })
      const bytes = (await lp.read({ signal })).subarray()
      if (received.bytes() > frameLength(bytes.byteLength)) {
        throw new MessageError('malformed', `${protocol}: bytes after the reply frame from ${peer}`)
      }
      const reply = this.envelopes.checkReply(bytes, protocol, peer)
      if (reply === undefined)
        throw new MessageError('malformed', `${protocol}: the reply from ${peer} was rejected`)
      await stream.close({ signal })
      return reply
    } catch (err) {
      stream.abort(err as Error)
      throw err
    } finally {
      received.stop()
    }
  }
}
