// Reads and checks the plugin's settings section, and the keystore's password. Nothing has a
// default that reaches a network: without rpcUrl, chainId and escrow the plugin does not start.

import { readFile } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { InvalidInputError } from '@wholesum/plugin-api'
import { getAddress, isAddress, type Address } from 'viem'

export const PASSWORD_ENV = 'WHOLESUM_EVM_PASSWORD'
export const DEFAULT_KEYSTORE_FILE = 'evm-key.json'

export interface EvmPaymentsSettings {
  readonly rpcUrl: string
  readonly chainId: number
  readonly escrow: Address
  /** Absolute; `<dataDir>/evm-key.json` unless set (a relative path is taken from dataDir). */
  readonly keystoreFile: string
  readonly passwordFile: string | undefined
  readonly confirmations: number
  readonly pollingIntervalMs: number | undefined
}

function invalid(name: string, rule: string): InvalidInputError {
  return new InvalidInputError('INVALID_INPUT', `payments-evm: setting "${name}" ${rule}`)
}

function required(settings: Readonly<Record<string, unknown>>, name: string): unknown {
  const value = settings[name]
  if (value === undefined || value === null || value === '') {
    throw invalid(name, 'is required (no chain is contacted unless it is configured)')
  }
  return value
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value
  throw invalid(name, `must be a positive integer, got ${JSON.stringify(value)}`)
}

function optionalPath(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string' && value !== '') return value
  throw invalid(name, `must be a file path, got ${JSON.stringify(value)}`)
}

/** An http(s) URL: viem's HTTP transport is the one this plugin speaks. */
export function checkRpcUrl(value: unknown, name = 'rpcUrl'): string {
  if (typeof value === 'string') {
    try {
      const url = new URL(value)
      if (url.protocol === 'http:' || url.protocol === 'https:') return value
    } catch {
      // reported below
    }
  }
  throw invalid(name, `must be an http(s) URL, got ${JSON.stringify(value)}`)
}

export function readSettings(
  settings: Readonly<Record<string, unknown>>,
  dataDir: string,
): EvmPaymentsSettings {
  const rpcUrl = checkRpcUrl(required(settings, 'rpcUrl'))
  const chainId = positiveInteger(required(settings, 'chainId'), 'chainId')
  const escrow = required(settings, 'escrow')
  if (typeof escrow !== 'string' || !isAddress(escrow, { strict: false })) {
    throw invalid(
      'escrow',
      `must be a contract address (0x and 40 hex), got ${JSON.stringify(escrow)}`,
    )
  }
  const keystoreFile = optionalPath(settings.keystoreFile, 'keystoreFile') ?? DEFAULT_KEYSTORE_FILE
  const polling = settings.pollingIntervalMs
  return {
    rpcUrl,
    chainId,
    escrow: getAddress(escrow),
    keystoreFile: isAbsolute(keystoreFile) ? keystoreFile : join(dataDir, keystoreFile),
    passwordFile: optionalPath(settings.passwordFile, 'passwordFile'),
    confirmations:
      settings.confirmations === undefined
        ? 1
        : positiveInteger(settings.confirmations, 'confirmations'),
    pollingIntervalMs:
      polling === undefined ? undefined : positiveInteger(polling, 'pollingIntervalMs'),
  }
}

/**
 * The keystore's password: the first line of `passwordFile` when set (as geth reads its
 * --password file), else the environment's WHOLESUM_EVM_PASSWORD.
 */
export async function readPassword(
  passwordFile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ password: string; source: string }> {
  if (passwordFile !== undefined) {
    let text: string
    try {
      text = await readFile(passwordFile, 'utf8')
    } catch (err) {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `payments-evm: cannot read the password file ${passwordFile}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    const password = text.split(/\r?\n/, 1)[0] ?? ''
    if (password === '') {
      throw new InvalidInputError(
        'INVALID_INPUT',
        `payments-evm: the password file ${passwordFile} is empty`,
      )
    }
    return { password, source: passwordFile }
  }
  const fromEnv = env[PASSWORD_ENV]
  if (fromEnv === undefined || fromEnv === '') {
    throw new InvalidInputError(
      'INVALID_INPUT',
      `payments-evm: no keystore password: set the setting "passwordFile" or the environment variable ${PASSWORD_ENV}`,
    )
  }
  return { password: fromEnv, source: PASSWORD_ENV }
}
