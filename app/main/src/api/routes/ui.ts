// The browser UI's way in: a one-time ticket (asked for with the token) traded once for the
// token, and the token's rotation.

import type { FastifyInstance } from 'fastify'
import { ErrorBody, TokenGrant, UiSessionRequest, UiTicket } from '@wholesum/api-client'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import type { RouteAccess } from '../guard.ts'

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody }

export function uiRoutes(app: FastifyInstance, ctx: ApiContext, origin: () => string): void {
  app.post(
    '/ui/tickets',
    {
      schema: {
        summary: 'A one-time ticket that opens the browser UI (what `wholesum ui` prints)',
        response: { 201: UiTicket, ...errors },
      },
    },
    async (_request, reply) => {
      const { ticket, expiresAt } = ctx.tickets.issue()
      return reply.code(201).send({ ticket, expiresAt, url: `${origin()}/#ticket=${ticket}` })
    },
  )

  app.post(
    '/ui/session',
    {
      config: { tokenFree: true } satisfies RouteAccess,
      schema: {
        summary: 'Trade a ticket, once, for the API token (the only route without the token)',
        body: UiSessionRequest,
        response: { 200: TokenGrant, ...errors },
        security: [],
      },
    },
    async (request) => {
      const { ticket } = request.body as UiSessionRequest
      if (!ctx.tickets.redeem(ticket)) {
        throw new HttpError(
          401,
          'TICKET_INVALID',
          'this ticket was used already or has expired: run `wholesum ui` again for a new URL',
        )
      }
      return { token: ctx.tokens.current() }
    },
  )

  app.post(
    '/token/rotate',
    {
      schema: {
        summary: 'Replace the install token; the old one stops working at once',
        response: { 200: TokenGrant, ...errors },
      },
    },
    async () => {
      // A ticket issued under the old token would hand out the new one: none survives.
      ctx.tickets.clear()
      return { token: await ctx.tokens.rotate() }
    },
  )
}
