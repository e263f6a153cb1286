// Named error classes shared by the core and plugins, so callers branch on `name`/`code`, never on text.

export type ErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_PROGRAM'
  | 'INPUT_TOO_LARGE'
  | 'EMPTY_INPUT'
  | 'EXECUTION_FAILED'
  | 'VERIFICATION_FAILED'
  | 'UNAVAILABLE'
  | 'WORKER_FAILED'
  | 'TIMEOUT'
  | 'RESOURCE_LIMIT'
  | 'ABORTED'
  | 'PLUGIN_FAILED'
  | 'INVALID_MANIFEST'
  | 'INCOMPATIBLE_PLUGIN'
  | 'NOT_FOUND'
  | 'REVERTED'

export class WholesumError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'WholesumError'
  }
}

/** The caller handed over something malformed: a bad ELF, an empty or oversized input. */
export class InvalidInputError extends WholesumError {
  constructor(
    code: 'INVALID_INPUT' | 'INVALID_PROGRAM' | 'INPUT_TOO_LARGE' | 'EMPTY_INPUT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.name = 'InvalidInputError'
  }
}

/** The guest itself failed: it panicked, ran past its cycle limit, or read past its input. */
export class ExecutionError extends WholesumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXECUTION_FAILED', message, options)
    this.name = 'ExecutionError'
  }
}

/** A receipt did not verify: forged, tampered, or for another image ID / journal. */
export class VerificationError extends WholesumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERIFICATION_FAILED', message, options)
    this.name = 'VerificationError'
  }
}

/** An operation this installation cannot perform (no recursion circuit, no Groth16 tooling). */
export class UnavailableError extends WholesumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options)
    this.name = 'UnavailableError'
  }
}

/** A child process (the risc0 worker, a container) died or answered nonsense. */
export class WorkerError extends WholesumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WORKER_FAILED', message, options)
    this.name = 'WorkerError'
  }
}

export class TimeoutError extends WholesumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TIMEOUT', message, options)
    this.name = 'TimeoutError'
  }
}

/** A job was stopped for exceeding a limit it was given (memory, pids, disk). */
export class ResourceLimitError extends WholesumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RESOURCE_LIMIT', message, options)
    this.name = 'ResourceLimitError'
  }
}

export class AbortError extends WholesumError {
  constructor(message = 'operation aborted', options?: { cause?: unknown }) {
    super('ABORTED', message, options)
    this.name = 'AbortError'
  }
}

export class NotFoundError extends WholesumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options)
    this.name = 'NotFoundError'
  }
}

/** A plugin's manifest is missing, malformed, or names an incompatible engine. */
export class ManifestError extends WholesumError {
  constructor(
    code: 'INVALID_MANIFEST' | 'INCOMPATIBLE_PLUGIN',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.name = 'ManifestError'
  }
}

/** A plugin threw or rejected; the host wraps it so the caller learns which plugin failed. */
export class PluginError extends WholesumError {
  readonly plugin: string
  constructor(plugin: string, message: string, options?: { cause?: unknown }) {
    super('PLUGIN_FAILED', `plugin ${plugin}: ${message}`, options)
    this.plugin = plugin
    this.name = 'PluginError'
  }
}

export function isWholesumError(err: unknown): err is WholesumError {
  return err instanceof WholesumError
}
