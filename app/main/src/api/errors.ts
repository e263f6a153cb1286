// Every error the API answers with has one shape: `{ error: { code, message, field? } }`.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isWholesumError } from '@wholesum/plugin-api'
import type { ErrorBody } from '@wholesum/api-client'

/** An error the routes throw on purpose, with its HTTP status. */
export class HttpError extends Error {
  readonly status: number
  readonly code: string
  readonly field: string | undefined
  constructor(status: number, code: string, message: string, field?: string) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
}

const STATUS_OF: Readonly<Record<string, number>> = {
  INVALID_INPUT: 400,
  INVALID_PROGRAM: 400,
  EMPTY_INPUT: 400,
  INVALID_MANIFEST: 400,
  INCOMPATIBLE_PLUGIN: 400,
  INPUT_TOO_LARGE: 413,
  NOT_FOUND: 404,
  VERIFICATION_FAILED: 422,
  ABORTED: 409,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field !== undefined ? { field } : {}) } }
}

/** Maps thrown errors to statuses; validation errors name the field at fault. */
export function handleError(
  err: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (err instanceof HttpError)
    return reply.code(err.status).send(errorBody(err.code, err.message, err.field))
  const fastifyError = err as FastifyError
  if (fastifyError.validation !== undefined) {
    const first = fastifyError.validation[0]
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty
    const extra = (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty
    const path = `${first?.instancePath ?? ''}${missing ? `/${missing}` : ''}${extra ? `/${extra}` : ''}`
    const field = `${fastifyError.validationContext ?? 'body'}${path}`
    return reply
      .code(400)
      .send(
        errorBody(
          'INVALID_REQUEST',
          `${field}: ${first?.message ?? err.message}${extra ? ` (${extra})` : ''}`,
          field,
        ),
      )
  }
  if (isWholesumError(err)) {
    return reply.code(STATUS_OF[err.code] ?? 500).send(errorBody(err.code, err.message))
  }
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return reply.code(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE', err.message))
  }
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.code(413).send(errorBody('INPUT_TOO_LARGE', err.message))
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    return reply
      .code(fastifyError.statusCode)
      .send(errorBody(fastifyError.code ?? 'BAD_REQUEST', err.message))
  }
  request.log.error({ err }, 'request failed')
  return reply.code(500).send(errorBody('INTERNAL', err.message))
}
