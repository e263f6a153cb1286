// Many nodes in one process, on one in-memory network: the same signed envelopes, the same codec
// and the same inbound checks (Envelopes) as the libp2p wire, delivered through the event loop
// instead of sockets. For fast, many-node tests of the client and prover services; real libp2p
// stays in the integration and devnet tests.
//
// What it does not model: gossipsub's mesh (every subscriber hears every publish at once), peer
// scores, transport limits. A node can vanish: from then on nothing reaches it and nothing it
// sends arrives, as with a peer whose machine went away. A reply can be lost after its request
// was served (loseReplies), as when a stream breaks under both sides.

import type { Ed25519PrivateKey } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { UnavailableError } from '@wholesum/plugin-api'
import type { ComponentLogger } from '../log/logger.ts'
import {
  gossipOf,
  type Message,
  type MessageOf,
  type MessageType,
  type ProtocolId,
} from '../protocol/messages.ts'
import { MessageError } from '../protocol/codec.ts'
import { Envelopes } from '../net/envelopes.ts'
import type {
  BodyOf,
  Reply,
  RequestOptions,
  RequestTypeOf,
  SubscribeOptions,
  Wire,
} from '../net/wire.ts'

type Handler = (message: Message, from: string) => Reply | Promise<Reply>

/** Lets the event loop turn, as a socket would between a write and the peer's read. */
const hop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export class MemoryNetwork {
  readonly #nodes = new Map<string, MemoryWire>()
  readonly #gone = new Set<string>()
  readonly #lostReplies = new Map<string, number>()

  /** A new node with its own Ed25519 key (a fresh one unless given: a test that signs with it too). */
  async join(
    logger: ComponentLogger,
    clock: () => number = Date.now,
    peerKey?: Ed25519PrivateKey,
  ): Promise<MemoryWire> {
    const key = peerKey ?? (await generateKeyPair('Ed25519'))
    const wire = new MemoryWire(
      this,
      peerIdFromPrivateKey(key).toString(),
      new Envelopes(key, logger, clock),
      logger,
    )
    this.#nodes.set(wire.peerId, wire)
    return wire
  }

  /** The node is cut off for good: its requests fail, its gossip goes nowhere, it hears nothing. */
  vanish(peerId: string): void {
    this.#gone.add(peerId)
  }

  /**
   * The next `count` replies on `protocol` are lost after the handler ran: the request was served,
   * the stream broke before its answer arrived (a connection closed under it, a peer's timeout).
   */
  loseReplies(protocol: string, count = 1): void {
    this.#lostReplies.set(protocol, (this.#lostReplies.get(protocol) ?? 0) + count)
  }

  /** @internal Whether this reply is one to lose. */
  takeLostReply(protocol: string): boolean {
    const left = this.#lostReplies.get(protocol) ?? 0
    if (left === 0) return false
    this.#lostReplies.set(protocol, left - 1)
    return true
  }

  reachable(peerId: string): boolean {
    return this.#nodes.has(peerId) && !this.#gone.has(peerId)
  }

  /** @internal */
  node(peerId: string): MemoryWire | undefined {
    return this.reachable(peerId) ? this.#nodes.get(peerId) : undefined
  }

  /** @internal */
  subscribers(topic: string, except: string): MemoryWire[] {
    return [...this.#nodes.values()].filter(
      (n) => n.peerId !== except && this.reachable(n.peerId) && n.follows(topic),
    )
  }
}

export class MemoryWire implements Wire {
  readonly peerId: string
  readonly #network: MemoryNetwork
  readonly #envelopes: Envelopes
  readonly #logger: ComponentLogger
  readonly #topics = new Map<string, { handler: (m: Message) => void; author?: string }>()
  readonly #handlers = new Map<string, Handler>()

  constructor(
    network: MemoryNetwork,
    peerId: string,
    envelopes: Envelopes,
    logger: ComponentLogger,
  ) {
    this.#network = network
    this.peerId = peerId
    this.#envelopes = envelopes
    this.#logger = logger
  }

  addresses(): string[] {
    return [`/memory/${this.peerId}/p2p/${this.peerId}`]
  }

  subscribe(
    topic: string,
    handler: (message: Message) => void,
    options: SubscribeOptions = {},
  ): void {
    if (gossipOf(topic) === undefined) throw new Error(`${topic} is not a wholesum topic`)
    this.#topics.set(topic, {
      handler,
      ...(options.author !== undefined ? { author: options.author } : {}),
    })
  }

  unsubscribe(topic: string): void {
    this.#topics.delete(topic)
  }

  follows(topic: string): boolean {
    return this.#topics.has(topic)
  }

  async publish<T extends MessageType>(topic: string, type: T, body: BodyOf<T>): Promise<void> {
    const bytes = this.#envelopes.sign(type, body as never)
    if (!this.#network.reachable(this.peerId)) return
    for (const peer of this.#network.subscribers(topic, this.peerId)) {
      void hop().then(() => peer.deliver(topic, bytes, this.peerId))
    }
  }

  /** @internal A gossip message arriving: checked as the topic validator checks it. */
  deliver(topic: string, bytes: Uint8Array, via: string): void {
    const subscription = this.#topics.get(topic)
    if (subscription === undefined) return
    const message = this.#envelopes.checkGossip(bytes, {
      topic,
      via,
      from: via,
      ...(subscription.author !== undefined ? { author: subscription.author } : {}),
    })
    if (message !== undefined) subscription.handler(message)
  }

  async handle<P extends ProtocolId>(
    protocol: P,
    handler: (message: MessageOf<RequestTypeOf[P]>, from: string) => Reply | Promise<Reply>,
  ): Promise<void> {
    this.#handlers.set(protocol, handler as Handler)
  }

  async request<T extends MessageType>(
    peer: string,
    protocol: string,
    type: T,
    body: BodyOf<T>,
    options: RequestOptions = {},
  ): Promise<Message> {
    options.signal?.throwIfAborted()
    const bytes = this.#envelopes.sign(type, body as never)
    await hop()
    const target = this.#network.reachable(this.peerId) ? this.#network.node(peer) : undefined
    if (target === undefined) throw new UnavailableError(`${protocol}: peer ${peer} is unreachable`)
    const answer = await target.serve(protocol, bytes, this.peerId)
    await hop()
    if (this.#network.takeLostReply(protocol)) {
      throw new UnavailableError(
        `${protocol}: the stream to ${peer} closed before its reply arrived`,
      )
    }
    options.signal?.throwIfAborted()
    if (!this.#network.reachable(this.peerId) || !this.#network.reachable(peer)) {
      throw new UnavailableError(`${protocol}: peer ${peer} went away before answering`)
    }
    const reply = this.#envelopes.checkReply(answer, protocol, peer)
    if (reply === undefined) {
      throw new MessageError('malformed', `${protocol}: the reply from ${peer} was rejected`)
    }
    return reply
  }

  /** @internal A request arriving: checked, handled, answered (signed). */
  async serve(protocol: string, bytes: Uint8Array, from: string): Promise<Uint8Array> {
    const handler = this.#handlers.get(protocol)
    if (handler === undefined)
      throw new UnavailableError(`${this.peerId} does not serve ${protocol}`)
    const message = this.#envelopes.checkRequest(bytes, protocol, from)
    if (message === undefined) throw new UnavailableError(`${protocol}: request refused`)
    const reply = await handler(message, from)
    return this.#envelopes.sign(reply.type, reply.body as never)
  }

  async unhandle(protocol: ProtocolId): Promise<void> {
    this.#handlers.delete(protocol)
  }

  connected(peer: string): boolean {
    return this.#network.reachable(this.peerId) && this.#network.reachable(peer)
  }

  async dial(peer: string): Promise<void> {
    if (!this.connected(peer)) throw new UnavailableError(`peer ${peer} is unreachable`)
  }

  async redial(peer: string): Promise<void> {
    await this.dial(peer)
  }

  async close(): Promise<void> {
    this.#topics.clear()
    this.#handlers.clear()
    this.#logger.debug('memory wire closed', { peerId: this.peerId })
  }
}
