// The job store's own failures (file unusable, too new, busy, closed), named so callers branch on `code`.

export type JobStoreErrorCode =
  /** The file could not be opened at all (a directory, no permission, no such folder). */
  | 'CANNOT_OPEN'
  /** The file exists but is not an SQLite database (or its header is damaged). */
  | 'NOT_A_DATABASE'
  /** An SQLite database, but another program's, not a Wholesum job store. */
  | 'NOT_A_JOB_STORE'
  /** Written by a newer Wholesum: this build does not know its schema and will not touch it. */
  | 'TOO_NEW'
  /** SQLite found damaged pages, or a row holds a value no version of this store writes. */
  | 'CORRUPT'
  /** Another connection held the write lock past the busy timeout. */
  | 'BUSY'
  /** The store was closed. */
  | 'CLOSED'
  /** Any other SQLite failure (disk full, I/O error). */
  | 'FAILED'

export class JobStoreError extends Error {
  readonly code: JobStoreErrorCode
  /** The store's file. */
  readonly path: string
  constructor(
    code: JobStoreErrorCode,
    path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.code = code
    this.path = path
    this.name = 'JobStoreError'
  }
}

interface SqliteErrorFields {
  readonly code?: unknown
  readonly errcode?: unknown
  readonly errstr?: unknown
}

/** SQLite's primary result code of an error thrown by node:sqlite, if it is one. */
export function sqliteCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const fields = err as SqliteErrorFields
  if (fields.code !== 'ERR_SQLITE_ERROR' || typeof fields.errcode !== 'number') return undefined
  return fields.errcode & 0xff
}

const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6
const SQLITE_CORRUPT = 11
const SQLITE_CANTOPEN = 14
const SQLITE_NOTADB = 26

/**
 * Turns an SQLite failure into a JobStoreError naming the file and what was being done;
 * anything else (our own validation errors, a caller's exception) passes through unchanged.
 */
export function storeFailure(err: unknown, path: string, doing: string): unknown {
  if (err instanceof JobStoreError) return err
  const code = sqliteCode(err)
  if (code === undefined) {
    if (err instanceof Error && /database is not open/i.test(err.message)) {
      return new JobStoreError('CLOSED', path, `job store ${path} is closed (${doing})`, {
        cause: err,
      })
    }
    return err
  }
  const reason = err instanceof Error ? err.message : String(err)
  switch (code) {
    case SQLITE_NOTADB:
      return new JobStoreError(
        'NOT_A_DATABASE',
        path,
        `job store ${path} is not an SQLite database (${reason}); move it aside to start a new store`,
        { cause: err },
      )
    case SQLITE_CORRUPT:
      return new JobStoreError(
        'CORRUPT',
        path,
        `job store ${path} is damaged (${reason}) while ${doing}`,
        { cause: err },
      )
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return new JobStoreError(
        'BUSY',
        path,
        `job store ${path} is locked by another connection (${reason}) while ${doing}`,
        { cause: err },
      )
    case SQLITE_CANTOPEN:
      return new JobStoreError('CANNOT_OPEN', path, `cannot open job store ${path} (${reason})`, {
        cause: err,
      })
    default:
      return new JobStoreError('FAILED', path, `job store ${path} failed ${doing}: ${reason}`, {
        cause: err,
      })
  }
}
