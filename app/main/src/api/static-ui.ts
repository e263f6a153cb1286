// Browser mode: the built renderer served from the API's own origin, so the page's requests are
// same-origin and pass the Origin check. The files are public code; the token reaches the page
// only through a ticket. Every file goes out with a strict Content-Security-Policy.

import { existsSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import { hostGuard } from './guard.ts'

/**
 * What the page may load: only its own files, WebAssembly compiled from them (the in-page
 * verifier), workers from its own files, and connections back to this API.
 */
export function contentSecurityPolicy(port: number): string {
  const self = [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
  const sockets = self.map((origin) => origin.replace(/^http/, 'ws'))
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${sockets.join(' ')}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
}

export async function serveUi(
  app: FastifyInstance,
  root: string | undefined,
  port: () => number,
): Promise<void> {
  await app.register(async (ui) => {
    ui.addHook('onRequest', hostGuard(port))
    ui.addHook('onSend', async (_request, reply, payload) => {
      reply.headers({
        ...SECURITY_HEADERS,
        'content-security-policy': contentSecurityPolicy(port()),
      })
      return payload
    })
    if (root === undefined || !existsSync(root)) {
      ui.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(
            'The desktop UI is not built in this install: run `npm run build:ui` (or `npm run setup`), then reload.\n',
          ),
      )
      return
    }
    await ui.register(fastifyStatic, { root, prefix: '/', index: 'index.html', wildcard: true })
  })
}
