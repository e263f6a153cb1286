// The earnings ledger: what this node's parties earned, are owed, were paid or lost, per job.

import type { FastifyInstance } from 'fastify'
import {
  EARNING_STATUSES,
  EarningList,
  EarningsQuery,
  ErrorBody,
  type EarningStatus,
} from '@wholesum/api-client'
import { sumEarnings, type EarningFilter } from '../../store/index.ts'
import type { ApiContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { earning } from '../views.ts'

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody }

/** The comma-separated statuses of `?status=`, each one checked. */
function statusesOf(text: string): EarningStatus[] {
  const statuses = text.split(',').filter((s) => s !== '')
  for (const [i, s] of statuses.entries()) {
    if (!(EARNING_STATUSES as readonly string[]).includes(s)) {
      throw new HttpError(
        400,
        'INVALID_REQUEST',
        `querystring/status: ${s} is not an earning status (${EARNING_STATUSES.join(', ')})`,
        `querystring/status/${i}`,
      )
    }
  }
  return statuses as EarningStatus[]
}

export function earningRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/earnings',
    {
      schema: {
        summary: 'The earnings ledger, newest first, with totals per role',
        querystring: EarningsQuery,
        response: { 200: EarningList, ...errors },
      },
    },
    async (request): Promise<EarningList> => {
      const query = request.query as EarningsQuery
      const filter: EarningFilter = {
        ...(query.jobId !== undefined ? { jobId: query.jobId } : {}),
        ...(query.role !== undefined ? { role: query.role } : {}),
        ...(query.status !== undefined ? { status: statusesOf(query.status) } : {}),
      }
      // One read: the totals are those of exactly the rows shown.
      const records = ctx.store.getEarnings(filter)
      return { entries: records.map(earning), totals: sumEarnings(records) }
    },
  )
}
