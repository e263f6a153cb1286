// The node itself: info, uploads, verify, plugins, network and settings.

import type { FastifyInstance } from 'fastify'
import type { Readable } from 'node:stream'
import {
  ErrorBody,
  NetworkState,
  NodeInfo,
  PluginInstall,
  PluginList,
  PluginName,
  Settings,
  SettingsWritten,
  StorageState,
  SweepResult,
  Upload,
  UploadQuery,
  VerifyRequest,
  VerifyResult,
  type UploadKind,
} from '@wholesum/api-client'
import { VerificationError, isWholesumError } from '@wholesum/plugin-api'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { resolveFile, type ResolvedFile } from './files.ts'

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

function plugins(ctx: ApiContext): PluginList {
  return {
    plugins: ctx.host.list().map((p) => ({
      name: p.name,
      version: p.version,
      ...(p.description !== undefined ? { description: p.description } : {}),
      kinds: [...p.kinds],
      permissions: [...p.permissions],
      source: p.source,
      status: p.status,
      ...(p.error !== undefined ? { error: p.error } : {}),
    })),
  }
}

function housekeepingOf(ctx: ApiContext): NonNullable<ApiContext['housekeeping']> {
  if (ctx.housekeeping === undefined) {
    throw new HttpError(503, 'UNAVAILABLE', 'this node runs no storage housekeeping')
  }
  return ctx.housekeeping
}

export function nodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/info',
    {
      schema: {
        summary: 'This node: peer ID, roles, addresses, capabilities, limits',
        response: { 200: NodeInfo, ...errors },
      },
    },
    () => ctx.info(),
  )

  app.put(
    '/uploads',
    {
      schema: {
        summary:
          'Stream bytes (application/octet-stream) to the node, within the limit of their kind',
        querystring: UploadQuery,
        response: { 201: Upload, ...errors, 411: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      },
    },
    async (request, reply) => {
      const { kind } = request.query as { kind: UploadKind }
      const declared = Number(request.headers['content-length'] ?? NaN)
      if (Number.isFinite(declared) && declared > ctx.uploads.limit(kind)) {
        throw new HttpError(
          413,
          'INPUT_TOO_LARGE',
          `a ${kind} upload may have at most ${ctx.uploads.limit(kind)} bytes; this one has ${declared}`,
        )
      }
      const body = request.body as Readable | undefined
      if (body === undefined || typeof body.pipe !== 'function') {
        throw new HttpError(
          request.body === undefined ? 411 : 415,
          request.body === undefined ? 'LENGTH_REQUIRED' : 'UNSUPPORTED_MEDIA_TYPE',
          'an upload is a body of bytes sent as application/octet-stream',
        )
      }
      const upload = await ctx.uploads.receive(kind, body)
      return reply.code(201).send(upload)
    },
  )

  app.post(
    '/verify',
    {
      schema: {
        summary: 'Verify a receipt against an image ID (and a journal)',
        body: VerifyRequest,
        response: { 200: VerifyResult, ...errors },
      },
    },
    async (request) => {
      const body = request.body as VerifyRequest
      const held: ResolvedFile[] = []
      try {
        const receipt = await resolveFile(ctx, body.receipt, 'receipt')
        held.push(receipt)
        const journal =
          body.journal === undefined ? undefined : await resolveFile(ctx, body.journal, 'journal')
        if (journal !== undefined) held.push(journal)
        const prover = await ctx.prover()
        const result = await prover.verify({
          receipt: receipt.path,
          imageId: body.imageId,
          ...(journal !== undefined ? { expectedJournal: journal.path } : {}),
        })
        return {
          ok: true,
          kind: result.kind,
          segments: result.segments,
          journal: Buffer.from(result.journal).toString('hex'),
          exitCode: result.exitCode,
        }
      } catch (err) {
        if (
          err instanceof VerificationError ||
          (isWholesumError(err) && err.code === 'VERIFICATION_FAILED')
        ) {
          return { ok: false, reason: (err as Error).message }
        }
        throw err
      } finally {
        for (const file of held) await file.release()
      }
    },
  )

  app.get(
    '/plugins',
    {
      schema: {
        summary: 'Installed plugins and their state',
        response: { 200: PluginList, ...errors },
      },
    },
    () => plugins(ctx),
  )

  app.post(
    '/plugins',
    {
      schema: {
        summary: 'Install a plugin from an uploaded .tgz',
        body: PluginInstall,
        response: { 201: PluginList, ...errors },
      },
    },
    async (request, reply) => {
      const { upload } = request.body as { upload: string }
      const path = await ctx.uploads.path(upload, 'plugin')
      try {
        await ctx.host.installFromTarball(path)
      } finally {
        await ctx.uploads.remove(upload)
      }
      return reply.code(201).send(plugins(ctx))
    },
  )

  for (const action of ['enable', 'disable'] as const) {
    app.post(
      `/plugins/:name/${action}`,
      {
        schema: {
          summary: `${action === 'enable' ? 'Enable' : 'Disable'} a plugin`,
          params: PluginName,
          response: { 200: PluginList, ...errors },
        },
      },
      async (request) => {
        const { name } = request.params as { name: string }
        await (action === 'enable' ? ctx.host.enable(name) : ctx.host.disable(name))
        return plugins(ctx)
      },
    )
  }

  app.delete(
    '/plugins/:name',
    {
      schema: {
        summary: 'Uninstall a user plugin',
        params: PluginName,
        response: { 200: PluginList, ...errors },
      },
    },
    async (request) => {
      await ctx.host.uninstall((request.params as { name: string }).name)
      return plugins(ctx)
    },
  )

  app.get(
    '/network',
    {
      schema: {
        summary: 'Peers, connections and topics',
        response: { 200: NetworkState, ...errors },
      },
    },
    () => ctx.network(),
  )

  app.get(
    '/storage',
    {
      schema: {
        summary: 'Storage: bytes used, quota, pins held for jobs, retention, next release',
        response: { 200: StorageState, ...errors, 503: ErrorBody },
      },
    },
    () => housekeepingOf(ctx).state(),
  )

  app.post(
    '/storage/sweep',
    {
      schema: {
        summary: 'Housekeeping now: release what retention lets go of, unpin it, collect',
        response: { 200: SweepResult, ...errors, 503: ErrorBody },
      },
    },
    () => housekeepingOf(ctx).sweep(),
  )

  app.get(
    '/settings',
    { schema: { summary: 'The settings file', response: { 200: Settings, ...errors } } },
    () => ctx.readSettings(),
  )

  app.put(
    '/settings',
    {
      schema: {
        summary: 'Replace the settings file (validated); takes effect on restart',
        body: Settings,
        response: { 200: SettingsWritten, ...errors },
      },
    },
    async (request) => {
      const settings = request.body as Settings
      await ctx.writeSettings(settings)
      return { settings, restartRequired: true }
    },
  )
}
