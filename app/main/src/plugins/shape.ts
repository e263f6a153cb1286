// Checks that what a plugin's `activate` returned implements every kind its manifest declares.

import type { PluginInstance, PluginKind, PluginManifest } from '@wholesum/plugin-api'

/** The capability interface behind each kind, e.g. `CapabilityOf<'storage'>` is StoragePlugin. */
export type CapabilityOf<K extends PluginKind> = NonNullable<PluginInstance[K]>

/** Methods each kind must provide (from packages/plugin-api). */
export const CAPABILITY_METHODS: { readonly [K in PluginKind]: readonly string[] } = {
  prover: [
    'capabilities',
    'imageId',
    'execute',
    'proveSegment',
    'lift',
    'join',
    'assemble',
    'verify',
  ],
  storage: ['put', 'get', 'has', 'pin', 'unpin', 'stat'],
  verifier: ['checkReceipt'],
  payments: [
    'signBinding',
    'jobKey',
    'openJob',
    'getJob',
    'getAccount',
    'isJobVerifier',
    'isActiveVerifier',
    'claimsCloseAt',
    'postCollateral',
    'signAcceptance',
    'signSettlement',
    'signFault',
    'acceptanceSigner',
    'settlementSigner',
    'faultSigner',
    'settle',
    'claim',
    'claimAccepted',
    'slash',
    'refund',
    'withdrawCollateral',
    'registerVerifier',
    'minVerifierBond',
    'chainTime',
    'balance',
  ],
}

/** Methods that return an AsyncIterable rather than a Promise. */
export const STREAMING_METHODS: { readonly [K in PluginKind]?: readonly string[] } = {
  storage: ['get'],
}

/** Lists what is missing or wrong; an empty list means the instance fits the manifest. */
export function instanceProblems(instance: unknown, manifest: PluginManifest): string[] {
  if (typeof instance !== 'object' || instance === null) {
    return [`activate returned ${instance === null ? 'null' : typeof instance}, not an object`]
  }
  const problems: string[] = []
  const inst = instance as Record<string, unknown>
  for (const kind of manifest.kinds) {
    const impl = inst[kind]
    if (typeof impl !== 'object' || impl === null) {
      problems.push(`declares kind "${kind}" but activate returned no "${kind}" implementation`)
      continue
    }
    const missing = CAPABILITY_METHODS[kind].filter(
      (m) => typeof (impl as Record<string, unknown>)[m] !== 'function',
    )
    if (missing.length > 0) problems.push(`"${kind}" lacks method(s) ${missing.join(', ')}`)
    if (kind === 'payments')
      problems.push(...paymentsIdentityProblems(impl as Record<string, unknown>))
  }
  if (inst.deactivate !== undefined && typeof inst.deactivate !== 'function') {
    problems.push('"deactivate" is not a function')
  }
  return problems
}

/** The chain, escrow and account a payments plugin works with, which callers read as properties. */
function paymentsIdentityProblems(impl: Record<string, unknown>): string[] {
  const problems: string[] = []
  if (typeof impl.chainId !== 'number') problems.push('"payments" lacks a numeric chainId')
  for (const field of ['escrow', 'account']) {
    const value = impl[field]
    if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
      problems.push(`"payments" lacks an address ${field}`)
    }
  }
  return problems
}
