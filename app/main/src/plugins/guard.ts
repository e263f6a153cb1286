// Wraps a plugin's capability so whatever it throws reaches the caller as a PluginError, never a crash.

import { PluginError, WholesumError, type PluginKind } from '@wholesum/plugin-api'
import { STREAMING_METHODS } from './shape.ts'

export interface GuardOptions {
  readonly plugin: string
  readonly kind: PluginKind
  /** Returns a reason while calls must be refused (the plugin was disabled or unloaded). */
  readonly unavailable?: () => string | undefined
  /** Told about every failure the guard converted, e.g. to log it. */
  readonly onFailure?: (error: PluginError, method: string) => void
}

/**
 * Returns a proxy of `impl`. Every method call:
 * - passes WholesumError subclasses (InvalidInputError, VerificationError, …) through unchanged;
 * - turns any other throw or rejection into a PluginError naming the plugin, with the original
 *   as `cause`;
 * - never throws synchronously: a synchronous throw becomes a rejected promise, or for streaming
 *   methods (StoragePlugin.get) an async iterable whose first step rejects;
 * - guards async iterables it returns, so an error while streaming is converted too.
 * Reading a property whose getter throws throws a PluginError (there is no promise to reject).
 */
export function guardCapability<T extends object>(impl: T, options: GuardOptions): T {
  const { plugin, kind } = options
  const streaming = new Set(STREAMING_METHODS[kind] ?? [])
  const wrappers = new Map<PropertyKey, (...args: unknown[]) => unknown>()

  const convert = (err: unknown, method: string): WholesumError => {
    if (err instanceof WholesumError) return err
    const text = err instanceof Error ? err.message : String(err)
    const wrapped = new PluginError(plugin, `${kind}.${method} failed: ${text}`, { cause: err })
    options.onFailure?.(wrapped, method)
    return wrapped
  }

  const failed = (err: WholesumError, method: string): unknown =>
    streaming.has(method) ? failingIterable(err) : Promise.reject(err)

  const call = (fn: (...args: unknown[]) => unknown, args: unknown[], method: string): unknown => {
    const reason = options.unavailable?.()
    if (reason !== undefined) return failed(new PluginError(plugin, reason), method)
    let result: unknown
    try {
      result = Reflect.apply(fn, impl, args)
    } catch (err) {
      return failed(convert(err, method), method)
    }
    try {
      if (isThenable(result)) {
        return Promise.resolve(result).then(undefined, (err: unknown) => {
          throw convert(err, method)
        })
      }
      if (isAsyncIterable(result)) return guardIterable(result, (err) => convert(err, method))
    } catch (err) {
      return failed(convert(err, method), method)
    }
    return result
  }

  // The proxy's target is an empty stand-in, not `impl`: a frozen impl would forbid returning
  // wrappers in place of its own methods (a Proxy invariant).
  const standIn = Object.create(null) as T
  return new Proxy(standIn, {
    get(_target, prop) {
      let value: unknown
      try {
        value = Reflect.get(impl, prop, impl)
      } catch (err) {
        throw convert(err, String(prop))
      }
      if (typeof value !== 'function') return value
      let wrapper = wrappers.get(prop)
      if (wrapper === undefined) {
        const fn = value as (...args: unknown[]) => unknown
        wrapper = (...args: unknown[]) => call(fn, args, String(prop))
        wrappers.set(prop, wrapper)
      }
      return wrapper
    },
    has(_target, prop) {
      return prop in impl
    },
    set() {
      return false
    },
    defineProperty() {
      return false
    },
    deleteProperty() {
      return false
    },
  })
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  )
}

function failingIterable(err: unknown): AsyncIterable<never> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.reject(err),
      return: (value?: unknown) => Promise.resolve({ done: true as const, value: value as never }),
    }),
  }
}

function guardIterable(
  source: AsyncIterable<unknown>,
  convert: (err: unknown) => unknown,
): AsyncIterable<unknown> {
  const step = (
    fn: () => PromiseLike<IteratorResult<unknown>>,
  ): Promise<IteratorResult<unknown>> => {
    try {
      return Promise.resolve(fn()).then(undefined, (err: unknown) => {
        throw convert(err)
      })
    } catch (err) {
      return Promise.reject(convert(err))
    }
  }
  return {
    [Symbol.asyncIterator]() {
      let it: AsyncIterator<unknown>
      try {
        it = source[Symbol.asyncIterator]()
      } catch (err) {
        return failingIterable(convert(err))[Symbol.asyncIterator]()
      }
      const guarded: AsyncIterator<unknown> = { next: (...args) => step(() => it.next(...args)) }
      if (typeof it.return === 'function') {
        guarded.return = (value?: unknown) => step(() => it.return!(value))
      }
      if (typeof it.throw === 'function') {
        guarded.throw = (e?: unknown) => step(() => it.throw!(e))
      }
      return guarded
    },
  }
}
