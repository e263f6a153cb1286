// Who may drive the node: requests must come for the loopback host (no DNS rebinding), from no
// origin or an allowed one (no web page), and carry the install's token (no other local user).
// `hostGuard` alone covers the UI's static files, which hold no secret.

import type { FastifyReply, FastifyRequest } from 'fastify'
import { WS_TOKEN_PREFIX } from '@wholesum/api-client'
import { tokenMatches, type ApiTokens } from '../daemon/token.ts'
import { errorBody } from './errors.ts'

export interface GuardOptions {
  readonly tokens: ApiTokens
  /** The port the API listens on; the Host header must name it. */
  port(): number
  readonly allowedOrigins: readonly string[]
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]']

/** The Host values this port answers to: its loopback names, with the port. */
const loopbackHosts = (port: number): string[] => LOOPBACK_HOSTS.map((h) => `${h}:${port}`)

const hostAllowed = (host: string | undefined, hosts: readonly string[]): boolean =>
  host !== undefined && hosts.includes(host.toLowerCase())

/** The token from `Authorization: Bearer …`, or from a WebSocket subprotocol. */
function tokenOf(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim()
  const protocols = request.headers['sec-websocket-protocol']
  if (typeof protocols === 'string') {
    for (const p of protocols.split(',')) {
      const trimmed = p.trim()
      if (trimmed.startsWith(WS_TOKEN_PREFIX)) return trimmed.slice(WS_TOKEN_PREFIX.length)
    }
  }
  return undefined
}

/** Route config of the one route a browser calls before it has the token (a ticket's redemption). */
export interface RouteAccess {
  readonly tokenFree?: boolean
}

export function guard(options: GuardOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const hosts = loopbackHosts(options.port())
    const host = request.headers.host
    if (!hostAllowed(host, hosts)) {
      await reply
        .code(403)
        .send(
          errorBody('FORBIDDEN', `Host ${host ?? '(none)'} is not this node's API (${hosts[0]})`),
        )
      return
    }
    const origin = request.headers.origin
    if (origin !== undefined) {
      const allowed = [...hosts.map((h) => `http://${h}`), ...options.allowedOrigins]
      if (!allowed.includes(origin)) {
        await reply.code(403).send(errorBody('FORBIDDEN', `Origin ${origin} may not use this API`))
        return
      }
    }
    if ((request.routeOptions.config as RouteAccess | undefined)?.tokenFree === true) return
    if (!tokenMatches(options.tokens.current(), tokenOf(request))) {
      await reply
        .code(401)
        .send(
          errorBody(
            'UNAUTHORIZED',
            tokenOf(request) === undefined
              ? 'this API needs the token of the install (Authorization: Bearer <api-token file>)'
              : 'wrong API token',
          ),
        )
    }
  }
}

/** The Host check alone, for the UI's files: a rebound DNS name gets nothing from this port. */
export function hostGuard(port: () => number) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const hosts = loopbackHosts(port())
    const host = request.headers.host
    if (!hostAllowed(host, hosts)) {
      await reply
        .code(403)
        .type('text/plain; charset=utf-8')
        .send(`Host ${host ?? '(none)'} is not this node (${hosts[0]})\n`)
    }
  }
}
