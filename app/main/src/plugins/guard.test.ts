// Specification of the guard: whatever a capability throws reaches the caller as a PluginError.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  InvalidInputError,
  PluginError,
  VerificationError,
  type StoragePlugin,
} from '@wholesum/plugin-api'
import { guardCapability } from './guard.ts'

const opts = { plugin: 'bad-store', kind: 'storage' as const }

async function drain(iterable: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = []
  for await (const chunk of iterable) out.push(...chunk)
  return out
}

function isPluginError(cause: string) {
  return (err: unknown) => {
    assert.ok(err instanceof PluginError, `expected PluginError, got ${String(err)}`)
    assert.equal(err.plugin, 'bad-store')
    assert.equal(err.code, 'PLUGIN_FAILED')
    assert.match(err.message, /^plugin bad-store: storage\.\w+ failed: /)
    assert.match(err.message, new RegExp(cause))
    assert.ok(err.cause instanceof Error)
    return true
  }
}

describe('guardCapability', () => {
  it('passes results and plain properties through untouched', async () => {
    const g = guardCapability(
      {
        chainId: 31337,
        async balance() {
          return 5n
        },
      },
      { ...opts, kind: 'payments' },
    )
    assert.equal(g.chainId, 31337)
    assert.equal(await g.balance(), 5n)
  })

  it('turns a synchronous throw into a rejected promise carrying a PluginError', async () => {
    const g = guardCapability(
      {
        has(): Promise<boolean> {
          throw new TypeError('sync boom')
        },
      },
      opts,
    )
    let result: Promise<boolean> | undefined
    assert.doesNotThrow(() => {
      result = g.has()
    })
    await assert.rejects(result!, isPluginError('sync boom'))
  })

  it('turns a rejection with a plain Error, or with a non-Error value, into a PluginError', async () => {
    const g = guardCapability(
      {
        async pin() {
          throw new Error('nope')
        },
        unpin() {
          return Promise.reject('a string')
        },
      },
      opts,
    )
    await assert.rejects(g.pin(), isPluginError('nope'))
    await assert.rejects(
      g.unpin(),
      (err) => err instanceof PluginError && err.message.includes('a string'),
    )
  })

  it('lets WholesumError subclasses through unchanged so callers can branch on them', async () => {
    const invalid = new InvalidInputError('INVALID_INPUT', 'bad cid')
    const forged = new VerificationError('forged')
    const g = guardCapability(
      {
        async has() {
          throw invalid
        },
        stat() {
          throw forged
        },
      },
      opts,
    )
    await assert.rejects(g.has(), (err) => err === invalid)
    await assert.rejects(g.stat(), (err) => err === forged)
  })

  it('guards async iterables: an error while streaming becomes a PluginError', async () => {
    const store: Pick<StoragePlugin, 'get'> = {
      async *get() {
        yield new Uint8Array([1, 2])
        throw new Error('disk on fire')
      },
    }
    await assert.rejects(
      drain(guardCapability(store, opts).get('k')),
      isPluginError('disk on fire'),
    )
  })

  it('a streaming method that throws synchronously yields an iterable that rejects on first step', async () => {
    const store = {
      get(): AsyncIterable<Uint8Array> {
        throw new Error('no stream')
      },
    }
    const g = guardCapability(store, opts)
    let iterable: AsyncIterable<Uint8Array> | undefined
    assert.doesNotThrow(() => {
      iterable = g.get()
    })
    await assert.rejects(drain(iterable!), isPluginError('no stream'))
  })

  it('keeps early exit working: breaking out of a guarded stream closes the source', async () => {
    let closed = false
    const store = {
      async *get() {
        try {
          for (let i = 0; ; i++) yield new Uint8Array([i])
        } finally {
          closed = true
        }
      },
    }
    for await (const _ of guardCapability(store, opts).get()) break
    assert.ok(closed)
  })

  it('refuses calls with a PluginError while the plugin is unavailable', async () => {
    let reason: string | undefined = 'is no longer active'
    const g = guardCapability(
      {
        async has() {
          return true
        },
      },
      { ...opts, unavailable: () => reason },
    )
    await assert.rejects(
      g.has(),
      (err) => err instanceof PluginError && /no longer active/.test(err.message),
    )
    reason = undefined
    assert.equal(await g.has(), true)
  })

  it('works over frozen objects and class instances with private fields', async () => {
    class Store {
      #n = 41
      async has() {
        return ++this.#n === 42
      }
    }
    assert.equal(await guardCapability(new Store(), opts).has(), true)
    const frozen = Object.freeze({
      async has() {
        return true
      },
    })
    assert.equal(await guardCapability(frozen, opts).has(), true)
  })

  it('reports each converted failure to onFailure', async () => {
    const seen: string[] = []
    const g = guardCapability(
      {
        async pin() {
          throw new Error('x')
        },
      },
      { ...opts, onFailure: (_err, method) => seen.push(method) },
    )
    await assert.rejects(g.pin())
    assert.deepEqual(seen, ['pin'])
  })

  it('does not let callers modify the plugin through the guard', () => {
    const g = guardCapability(
      {
        async has() {
          return true
        },
      },
      opts,
    ) as Record<string, unknown>
    assert.throws(() => {
      g.has = () => false
    }, TypeError)
  })
})
