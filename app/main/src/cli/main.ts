#!/usr/bin/env node
// The headless `wholesum` command: finds the subcommand, loads only its modules, runs it, and maps
// what went wrong to a message and an exit code (never a stack trace for a mistake of the user).

import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { HelpRequested, UsageError } from './args.ts'
import { COMMANDS, USAGE } from './commands.ts'

export const EXIT = { ok: 0, failure: 1, usage: 2, verification: 3 } as const

/** Error codes (of WholesumError and of the API) that mean the user's input is at fault. */
const USAGE_CODES = new Set([
  'INVALID_INPUT',
  'INVALID_PROGRAM',
  'EMPTY_INPUT',
  'INPUT_TOO_LARGE',
  'INVALID_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
  'NOT_A_CLIENT',
  'NOT_OWNER',
  'JOB_FINISHED',
  'NOT_READY',
  'INVALID_MANIFEST',
  'INCOMPATIBLE_PLUGIN',
])

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined
  return typeof err.code === 'string' ? err.code : undefined
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    const command = topic !== undefined ? COMMANDS[topic] : undefined
    process.stdout.write((command?.usage ?? USAGE) + '\n')
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command === undefined) {
    process.stderr.write(`wholesum: unknown command ${name}\n\n${USAGE}\n`)
    return EXIT.usage
  }
  const home = resolve(process.env['WHOLESUM_HOME'] ?? join(homedir(), '.wholesum'))
  try {
    const run = await command.load()
    return await run(rest, { home })
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(command.usage + '\n')
      return EXIT.ok
    }
    if (err instanceof UsageError) {
      process.stderr.write(`wholesum ${name}: ${err.message}\n\nusage: ${command.usage}\n`)
      return EXIT.usage
    }
    const code = codeOf(err)
    const error = err as Error
    if (error.name === 'NoDaemonError') {
      process.stderr.write(`wholesum ${name}: ${error.message}\n`)
      return EXIT.failure
    }
    const { isWholesumError } = await import('@wholesum/plugin-api')
    if (code !== undefined && (error.name === 'ApiError' || isWholesumError(err))) {
      const what = error.name === 'ApiError' ? `the node refused: ${error.message}` : error.message
      process.stderr.write(`wholesum ${name}: ${error.name} [${code}]: ${what}\n`)
      if (code === 'VERIFICATION_FAILED') return EXIT.verification
      return USAGE_CODES.has(code) ? EXIT.usage : EXIT.failure
    }
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || code === 'ENOTDIR') {
      // A file the user named is missing or unreadable: their input, said plainly.
      process.stderr.write(`wholesum ${name}: ${error.message}\n`)
      return EXIT.usage
    }
    process.stderr.write(
      `wholesum ${name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(err)}\n`,
    )
    return EXIT.failure
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2))
}
