// The daemon's local API: Fastify over HTTP and WebSocket on 127.0.0.1, every route behind the
// guard, bodies checked against the api-client's schemas, an OpenAPI document made from them.

import Fastify, { type FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import swagger from '@fastify/swagger'
import { API_PREFIX, WS_PROTOCOL } from '@wholesum/api-client'
import type { ApiContext } from './context.ts'
import { handleError } from './errors.ts'
import { guard } from './guard.ts'
import { earningRoutes } from './routes/earnings.ts'
import { jobRoutes } from './routes/jobs.ts'
import { nodeRoutes } from './routes/node.ts'
import { uiRoutes } from './routes/ui.ts'
import { serveUi } from './static-ui.ts'

/** JSON bodies are small: files travel as uploads. */
export const JSON_BODY_LIMIT = 1 << 20
/** Bytes a WebSocket client may send in one frame (it sends nothing we read). */
const WS_MAX_PAYLOAD = 4096

export interface ApiServer {
  readonly app: FastifyInstance
  readonly port: number
  readonly url: string
  close(): Promise<void>
}

export async function buildApi(ctx: ApiContext, version = '0.1.0'): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: JSON_BODY_LIMIT,
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  })
  let port = 0
  app.addHook('onReady', async () => {
    const address = app.server.address()
    port = typeof address === 'object' && address !== null ? address.port : 0
  })
  // Uploads are streamed by their route, not buffered.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) =>
    done(null, payload),
  )
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
      },
    }),
  )
  await app.register(swagger, {
    openapi: {
      info: { title: 'Wholesum daemon local API', version },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
  })
  await app.register(websocket, {
    options: {
      maxPayload: WS_MAX_PAYLOAD,
      handleProtocols: (protocols: Set<string>) =>
        protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false,
    },
  })
  const currentPort = () => port || portOf(app)
  const check = guard({
    tokens: ctx.tokens,
    port: currentPort,
    allowedOrigins: ctx.allowedOrigins,
  })
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', check)
      v1.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
      nodeRoutes(v1, ctx)
      jobRoutes(v1, ctx)
      earningRoutes(v1, ctx)
      uiRoutes(v1, ctx, () => `http://127.0.0.1:${currentPort()}`)
    },
    { prefix: API_PREFIX },
  )
  await serveUi(app, ctx.uiRoot, currentPort)
  return app
}

function portOf(app: FastifyInstance): number {
  const address = app.server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

export async function startApi(ctx: ApiContext, port: number): Promise<ApiServer> {
  const app = await buildApi(ctx)
  await app.listen({ host: '127.0.0.1', port })
  const actual = portOf(app)
  return { app, port: actual, url: `http://127.0.0.1:${actual}`, close: () => app.close() }
}
