// The node's `payments` settings: whether its jobs and work are paid through the escrow, and on
// what terms. Amounts are wei as decimal strings (JSON numbers lose precision past 2^53). The
// chain itself (RPC URL, chain ID, escrow address, key) is the payments plugin's own section.

import { InvalidInputError } from '@wholesum/plugin-api'

export interface NodePayments {
  /** What each prover posts with a deal (wei, above 0: the escrow pays only provers with some). */
  readonly collateral: bigint
  /** How long after the deadline (or the settlement) claims stay open, seconds. */
  readonly claimWindowS: number
  /** Verifiers named per job, and how many of them must sign the settlement. */
  readonly verifiers: number
  readonly quorum: number
  /** The most one verifier may ask (wei). */
  readonly maxVerifierFee?: bigint
  /** How long a client waits for enough verifiers before it opens a job (ms). */
  readonly waitMs?: number
  /** How often a client tries the refunds whose claims may have closed (ms). */
  readonly refundPollMs?: number
  /** How often a prover or verifier asks for what it is owed (ms). */
  readonly pollMs?: number
  /** A verifier that is not registered on the escrow registers itself with this bond (wei). */
  readonly registerBond?: bigint
}

const WEI = /^(0|[1-9][0-9]{0,77})$/
/** 0.001 ether: what a client asks of each prover unless its settings say. */
export const DEFAULT_COLLATERAL = 10n ** 15n

function fail(name: string, rule: string): never {
  throw new InvalidInputError('INVALID_INPUT', `settings payments.${name} ${rule}`)
}

function wei(value: unknown, name: string): bigint | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !WEI.test(value))
    fail(name, `must be wei as a decimal string, not ${JSON.stringify(value)}`)
  return BigInt(value)
}

function count(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    fail(name, `must be a whole number in ${min}..${max}, not ${JSON.stringify(value)}`)
  return value
}

/** Undefined when the section is absent: the node pays and is paid nothing. */
export function parsePaymentsSettings(section: unknown): NodePayments | undefined {
  if (section === undefined || section === null) return undefined
  if (typeof section !== 'object' || Array.isArray(section))
    throw new InvalidInputError('INVALID_INPUT', 'settings payments must be an object')
  const s = section as Record<string, unknown>
  const known = [
    'plugin',
    'collateral',
    'claimWindowS',
    'verifiers',
    'quorum',
    'maxVerifierFee',
    'waitMs',
    'refundPollMs',
    'pollMs',
    'registerBond',
  ]
  for (const key of Object.keys(s)) if (!known.includes(key)) fail(key, 'is not a setting')
  const verifiers = count(s.verifiers, 'verifiers', 1, 16) ?? 3
  const quorum = count(s.quorum, 'quorum', 1, 16) ?? Math.floor(verifiers / 2) + 1
  if (quorum > verifiers) fail('quorum', `(${quorum}) is more than verifiers (${verifiers})`)
  // The escrow pays only provers that posted collateral, and provers pass over a need asking none.
  const collateral = wei(s.collateral, 'collateral') ?? DEFAULT_COLLATERAL
  if (collateral === 0n)
    fail('collateral', 'must be above 0: the escrow pays only provers with some')
  const optional = {
    maxVerifierFee: wei(s.maxVerifierFee, 'maxVerifierFee'),
    waitMs: count(s.waitMs, 'waitMs', 0, 3_600_000),
    refundPollMs: count(s.refundPollMs, 'refundPollMs', 100, 86_400_000),
    pollMs: count(s.pollMs, 'pollMs', 100, 3_600_000),
    registerBond: wei(s.registerBond, 'registerBond'),
  }
  return {
    collateral,
    claimWindowS: count(s.claimWindowS, 'claimWindowS', 1, 365 * 86_400) ?? 86_400,
    verifiers,
    quorum,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  }
}
