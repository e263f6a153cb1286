// `wholesum earnings`: the node's earnings ledger as a table in ETH (exact wei with --json).

import {
  EARNING_ROLES,
  type ApiClient,
  type Earning,
  type EarningList,
  type EarningRole,
  type EarningSums,
} from '@wholesum/api-client'
import { connect } from '@wholesum/api-client/node'
import { choice, parseCommand, UsageError } from '../args.ts'
import type { CommandRun } from '../commands.ts'

const JOB_ID = /^[0-9a-f]{64}$/
const JOB_PREFIX = /^[0-9a-f]{8,63}$/
const WEI_PER_ETH = 10n ** 18n
const SHOWN_DECIMALS = 6
const MAX_REASON = 40

/**
 * Wei as ETH with at most six decimals, rounded down, trailing zeros dropped ("1.5", "0"); an
 * amount under a millionth of an ETH shows as "<0.000001", never as a zero it is not.
 */
export function formatEth(wei: string): string {
  const amount = BigInt(wei)
  const whole = amount / WEI_PER_ETH
  const unit = WEI_PER_ETH / 10n ** BigInt(SHOWN_DECIMALS)
  const fraction = (amount % WEI_PER_ETH) / unit
  if (amount > 0n && whole === 0n && fraction === 0n) return `<0.${'0'.repeat(SHOWN_DECIMALS - 1)}1`
  const decimals = fraction.toString().padStart(SHOWN_DECIMALS, '0').replace(/0+$/, '')
  return decimals === '' ? whole.toString() : `${whole}.${decimals}`
}

/** Columns padded to their widest cell; the last one is not padded. */
function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

function row(e: Earning): string[] {
  const last = e.txHashes.at(-1)
  return [
    e.jobId.slice(0, 12),
    e.role,
    e.account.slice(0, 10),
    e.segments === undefined ? '-' : String(e.segments),
    formatEth(e.earnedWei),
    formatEth(e.paidWei),
    formatEth(e.slashedWei),
    e.status,
    e.reason === undefined ? '-' : clip(e.reason, MAX_REASON),
    last === undefined ? '-' : `${last.kind} ${last.hash.slice(0, 10)}`,
  ]
}

/** One role's totals in words; the client's are its budget and its refund. */
function roleTotals(role: EarningRole, s: EarningSums): string {
  if (role === 'client') {
    return `client budget ${formatEth(s.earnedWei)}, refunded ${formatEth(s.paidWei)}`
  }
  return (
    `${role} earned ${formatEth(s.earnedWei)}, paid ${formatEth(s.paidWei)}, ` +
    `slashed ${formatEth(s.slashedWei)}, pending ${formatEth(s.pendingWei)}`
  )
}

/** The ledger as a table (amounts in ETH), with one totals line at the bottom. */
export function formatEarnings(list: EarningList): string {
  if (list.entries.length === 0) return 'no earnings\n'
  const header = [
    'JOB',
    'ROLE',
    'ACCOUNT',
    'SEGMENTS',
    'EARNED',
    'PAID',
    'SLASHED',
    'STATUS',
    'REASON',
    'LAST TX',
  ]
  const totals = EARNING_ROLES.filter((role) => list.totals[role].entries > 0)
    .map((role) => roleTotals(role, list.totals[role]))
    .join('; ')
  return `${columns([header, ...list.entries.map(row)])}\ntotal (ETH): ${totals}\n`
}

export interface EarningsOptions {
  /** A job ID, or a prefix of 8 or more of its hex digits. */
  readonly job?: string
  readonly role?: EarningRole
}

/**
 * The ledger rows the options pick. A job prefix is matched against the ledger itself, not the
 * job list: the ledger keeps jobs whose rows retention has removed.
 */
export async function fetchEarnings(
  api: ApiClient,
  options: EarningsOptions,
): Promise<EarningList> {
  const role = options.role !== undefined ? { role: options.role } : {}
  if (options.job === undefined) return api.earnings(role)
  const job = options.job.toLowerCase()
  if (JOB_ID.test(job)) return api.earnings({ ...role, jobId: job })
  if (!JOB_PREFIX.test(job)) {
    throw new UsageError(
      `--job ${JSON.stringify(options.job)} is not a job ID (64 hex digits, or a prefix of 8 or more)`,
    )
  }
  const jobs = new Set(
    (await api.earnings(role)).entries.map((e) => e.jobId).filter((id) => id.startsWith(job)),
  )
  if (jobs.size === 0)
    throw new UsageError(`no earnings on this node for a job starting with ${job}`)
  if (jobs.size > 1) throw new UsageError(`${job} names more than one job: give more digits`)
  return api.earnings({ ...role, jobId: [...jobs][0]! })
}

export const earnings: CommandRun = async (argv, context) => {
  const { values, positionals } = parseCommand(argv, {
    job: { type: 'string' },
    role: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
  const role = choice(values.role, '--role', EARNING_ROLES)
  const api = await connect(context.home)
  const list = await fetchEarnings(api, {
    ...(values.job !== undefined ? { job: values.job } : {}),
    ...(role !== undefined ? { role } : {}),
  })
  process.stdout.write(values.json === true ? JSON.stringify(list) + '\n' : formatEarnings(list))
  return 0
}
