// Test support: a loopback HTTP proxy in front of a real Bee that can falsify chosen answers.
//
// It stands for a lying or broken node (or anything on the path to it): requests pass through
// unchanged, except GETs of references marked here, whose bodies are altered before they reach the
// client. This is how the tests show that the store refuses bad bytes from a real Bee.

import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Tamper =
  /** Flip one byte of the body at this offset (default: the last byte). */
  | { readonly kind: 'flip'; readonly offset?: number }
  /** Serve only the first `length` bytes, with a matching Content-Length. */
  | { readonly kind: 'truncate'; readonly length: number }
  /** Append these bytes, with a matching Content-Length. */
  | { readonly kind: 'extend'; readonly extra: Uint8Array }
  /** Serve this body instead. */
  | { readonly kind: 'replace'; readonly body: Uint8Array }
  /** Promise the whole body, send the first `after` bytes, then drop the connection. */
  | { readonly kind: 'cut'; readonly after: number }

export interface TamperingProxy {
  readonly url: string
  /** Alter answers to `GET /{endpoint}/{reference}` from now on. */
  tamper(endpoint: 'chunks' | 'bytes', reference: string, how: Tamper): void
  /** Requests seen, as `METHOD /path` (for assertions about what the store asked). */
  readonly seen: string[]
  stop(): Promise<void>
}

function altered(body: Buffer, how: Tamper): Buffer {
  switch (how.kind) {
    case 'flip': {
      const out = Buffer.from(body)
      const at = how.offset ?? out.length - 1
      if (at >= 0 && at < out.length) out[at] = out[at]! ^ 0xff
      return out
    }
    case 'truncate':
      return body.subarray(0, how.length)
    case 'extend':
      return Buffer.concat([body, how.extra])
    case 'replace':
      return Buffer.from(how.body)
    case 'cut':
      return body
  }
}

export async function startTamperingProxy(target: string): Promise<TamperingProxy> {
  const upstream = new URL(target)
  const agent = new Agent({ keepAlive: true, maxSockets: 128 })
  const rules = new Map<string, Tamper>()
  const seen: string[] = []

  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/'
    if (seen.length < 100_000) seen.push(`${req.method} ${path.split('?')[0]}`)
    const rule = req.method === 'GET' ? rules.get(path.split('?')[0]!) : undefined
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path,
        headers: req.headers,
        agent,
      },
      (answer) => {
        if (rule === undefined || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
          return
        }
        const pieces: Buffer[] = []
        answer.on('data', (piece: Buffer) => pieces.push(piece))
        answer.on('end', () => {
          if (rule.kind === 'cut') {
            res.writeHead(200, answer.headers)
            res.write(Buffer.concat(pieces).subarray(0, rule.after), () => res.destroy())
            return
          }
          const body = altered(Buffer.concat(pieces), rule)
          const headers: IncomingHttpHeaders = {
            ...answer.headers,
            'content-length': String(body.length),
          }
          delete headers['transfer-encoding']
          res.writeHead(200, headers)
          res.end(body)
        })
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    tamper(endpoint, reference, how) {
      rules.set(`/${endpoint}/${reference}`, how)
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      agent.destroy()
    },
  }
}
