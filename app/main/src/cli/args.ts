// Argument parsing shared by the subcommands: node's parseArgs with `--help`, and every mistake a
// user can make turned into a UsageError (exit 2, a message, never a stack trace).

import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Bad usage or bad input the user can fix: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** `--help` was asked for: the command's usage is printed, exit code 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested'
}

type Options = NonNullable<ParseArgsConfig['options']>

export interface Parsed<O extends Options> {
  readonly values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values']
  readonly positionals: string[]
}

/** Parses a subcommand's arguments; `-h`/`--help` anywhere asks for its usage. */
export function parseCommand<O extends Options>(argv: readonly string[], options: O): Parsed<O> {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested()
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    })
    return { values, positionals } as Parsed<O>
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export function need(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`)
  return value
}

/** An integer option within bounds, or its default. */
export function integer(
  text: string | undefined,
  name: string,
  range: { readonly min: number; readonly max: number },
  fallback?: number,
): number {
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`missing ${name}`)
    return fallback
  }
  const value = Number(text)
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${name} must be an integer, got ${JSON.stringify(text)}`)
  }
  if (value < range.min || value > range.max) {
    throw new UsageError(`${name} must be ${range.min}..${range.max}, got ${value}`)
  }
  return value
}

/** One of fixed choices. */
export function choice<const T extends readonly string[]>(
  text: string | undefined,
  name: string,
  choices: T,
): T[number] | undefined {
  if (text === undefined) return undefined
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`${name} must be ${choices.join(' or ')}, got ${JSON.stringify(text)}`)
  }
  return text as T[number]
}

/** A decimal amount of base units, as a string (prices travel as decimal strings). */
export function amount(text: string | undefined, name: string): string | undefined {
  if (text === undefined) return undefined
  if (!/^(0|[1-9]\d{0,77})$/.test(text)) {
    throw new UsageError(
      `${name} must be a whole number of base units, got ${JSON.stringify(text)}`,
    )
  }
  return text
}

/** A path the user named must be a readable regular file; otherwise say so plainly. */
export async function existingFile(path: string, what: string): Promise<string> {
  const { stat } = await import('node:fs/promises')
  let info
  try {
    info = await stat(path)
  } catch {
    throw new UsageError(`${what} ${path} does not exist`)
  }
  if (!info.isFile()) throw new UsageError(`${what} ${path} is not a regular file`)
  return path
}
