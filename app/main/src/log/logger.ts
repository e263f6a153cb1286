// A tiny structured logger: one JSON line per record (ts, level, component, msg, fields).

import type { Logger } from '@wholesum/plugin-api'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** A Logger that can hand out child loggers tagged with a component name. */
export interface ComponentLogger extends Logger {
  readonly component: string
  readonly level: LogLevel
  forComponent(name: string): ComponentLogger
}

export interface LoggerInit {
  /** Component name of the root logger; children append `:name`. Default `wholesum`. */
  component?: string
  /** Default: `WHOLESUM_LOG` from the environment, else `info`. */
  level?: LogLevel
  /** Where lines go. Default `process.stderr`. */
  stream?: { write(line: string): unknown }
  /** Clock for the `ts` field, in ms since the epoch. Default `Date.now`. */
  now?: () => number
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

/** Reads a level name; anything unknown falls back to `info` rather than hiding logs. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const v = value?.trim().toLowerCase()
  return (LOG_LEVELS as readonly string[]).includes(v ?? '') ? (v as LogLevel) : 'info'
}

export function createLogger(init: LoggerInit = {}): ComponentLogger {
  const level = init.level ?? parseLogLevel(process.env.WHOLESUM_LOG)
  const stream = init.stream ?? process.stderr
  const now = init.now ?? Date.now
  return make(init.component ?? 'wholesum', level, stream, now)
}

function make(
  component: string,
  level: LogLevel,
  stream: { write(line: string): unknown },
  now: () => number,
): ComponentLogger {
  const threshold = RANK[level]
  const emit = (
    lvl: Exclude<LogLevel, 'silent'>,
    msg: string,
    fields?: Record<string, unknown>,
  ) => {
    if (RANK[lvl] < threshold) return
    const record: Record<string, unknown> = {
      ts: new Date(now()).toISOString(),
      level: lvl,
      component,
      msg,
    }
    if (fields !== undefined && Object.keys(fields).length > 0) record.fields = fields
    try {
      stream.write(JSON.stringify(record, replacer) + '\n')
    } catch {
      // A logger must never take its caller down (closed stream, cyclic fields).
    }
  }
  return {
    component,
    level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    forComponent: (name) => make(`${component}:${name}`, level, stream, now),
  }
}

/** Errors become { name, code, message }; bigints become strings; JSON would drop or throw on them. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message }
    const code = (value as { code?: unknown }).code
    if (code !== undefined) out.code = code
    return out
  }
  return value
}
