// Specification of the plugin host: discovery, broken plugins, activation failures, lifecycle, persistence.

import assert from 'node:assert/strict'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  InvalidInputError,
  ManifestError,
  NotFoundError,
  PluginError,
  type StoragePlugin,
} from '@wholesum/plugin-api'
import type { PluginStateEvent } from './host.ts'
import { captureLogger, makeHost, STORAGE_PLUGIN, tempDirs, writePlugin } from './test-support.ts'

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/** A well-behaved storage plugin whose put answers `put:<name>`. */
const GOOD = (tag: string) => `export default () => ({ storage: {
  async put() { return 'put:${tag}' }, async *get() {}, async has() { return true },
  async pin() {}, async unpin() {}, async stat(cid) { return { cid, size: 0, pinned: false, local: true } },
} })`

describe('discovery', () => {
  it('lists every plugin folder of a builtin dir and of the user dir, with source and status', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'alpha', { name: 'alpha', description: 'first' })
    await writePlugin(dirs.builtin, 'beta', { name: 'beta', kinds: ['storage'], version: '2.0.0' })
    await mkdir(join(dirs.builtin, 'not-a-plugin', 'src'), { recursive: true }) // no manifest: skipped
    await writePlugin(join(dirs.user, '@acme'), 'gamma', { name: '@acme/gamma' })
    const host = makeHost(dirs)
    const listed = await host.discover()
    assert.deepEqual(
      listed.map((p) => [p.name, p.version, p.source, p.status]),
      [
        ['alpha', '1.0.0', 'builtin', 'enabled'],
        ['beta', '2.0.0', 'builtin', 'enabled'],
        ['@acme/gamma', '1.0.0', 'user', 'enabled'],
      ],
    )
    assert.equal(listed[0]?.description, 'first')
    assert.deepEqual(listed[0]?.kinds, ['storage'])
    assert.deepEqual(host.list(), listed)
  })

  it('a missing builtin or user folder is simply empty', async (t) => {
    const dirs = await tempDirs(t)
    const host = makeHost(dirs, {
      builtinDirs: [join(dirs.root, 'nowhere')],
      userPluginsDir: join(dirs.root, 'nope'),
    })
    assert.deepEqual(await host.discover(), [])
  })

  it('keeps the first of two plugins with the same name and warns about the second', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'same', { name: 'same' })
    await writePlugin(dirs.user, 'same', { name: 'same', version: '9.0.0' })
    const logger = captureLogger()
    const listed = await makeHost(dirs, { logger }).discover()
    assert.deepEqual(
      listed.map((p) => [p.name, p.source]),
      [['same', 'builtin']],
    )
    assert.ok(logger.records.some((r) => r.level === 'warn' && /found twice/.test(r.msg)))
  })
})

describe('broken plugins', () => {
  const cases: Array<[string, Parameters<typeof writePlugin>[2], RegExp]> = [
    ['bad-json', '{ "name": "bad-json", ', /not valid JSON/],
    ['no-kinds', { name: 'no-kinds', kinds: undefined } as never, /"kinds"/],
    ['escaping-entry', { name: 'escaping-entry', entry: '../elsewhere/index.mjs' }, /"entry"/],
    [
      'bad-permission',
      { name: 'bad-permission', permissions: ['fs:data', 'root-shell'] },
      /"permissions"/,
    ],
    ['missing-entry', { name: 'missing-entry', entry: 'dist/nothing.js' }, /"entry"/],
  ]

  it('are listed as broken with an error naming the file and the field; discover never throws', async (t) => {
    const dirs = await tempDirs(t)
    for (const [folder, manifest] of cases) await writePlugin(dirs.builtin, folder, manifest)
    await writePlugin(dirs.builtin, 'fine', { name: 'fine' })
    const listed = await makeHost(dirs).discover()
    for (const [folder, , field] of cases) {
      const p = listed.find((l) => l.name === folder)
      assert.ok(p, `${folder} should be listed`)
      assert.equal(p.status, 'broken', folder)
      assert.equal(p.errorCode, 'INVALID_MANIFEST', folder)
      assert.match(p.error ?? '', field, folder)
      assert.ok(p.error?.includes(join(dirs.builtin, folder)), `${folder}: error names its file`)
    }
    assert.equal(listed.find((l) => l.name === 'fine')?.status, 'enabled')
  })

  it('a user folder without a manifest is broken too (only the installer writes there)', async (t) => {
    const dirs = await tempDirs(t)
    await mkdir(join(dirs.user, 'stray'), { recursive: true })
    const listed = await makeHost(dirs).discover()
    assert.deepEqual(
      listed.map((p) => [p.name, p.status]),
      [['stray', 'broken']],
    )
    assert.match(listed[0]?.error ?? '', /wholesum-plugin\.json is missing/)
  })

  it('activating a broken plugin rejects with its ManifestError', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'bad-permission', {
      name: 'bad-permission',
      permissions: ['root-shell'],
    })
    const host = makeHost(dirs)
    await host.discover()
    await assert.rejects(
      host.activate('bad-permission'),
      (err) => err instanceof ManifestError && /"permissions"/.test(err.message),
    )
  })

  it('a plugin whose engine range excludes this engine is broken with INCOMPATIBLE_PLUGIN', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'future', {
      name: 'future',
      version: '3.0.0',
      engine: '^2.0.0',
    })
    const host = makeHost(dirs)
    const [p] = await host.discover()
    assert.equal(p?.status, 'broken')
    assert.equal(p?.errorCode, 'INCOMPATIBLE_PLUGIN')
    assert.equal(p?.version, '3.0.0')
    assert.match(p?.error ?? '', /"engine" "\^2\.0\.0".*0\.1\.0/)
    await assert.rejects(
      host.activate('future'),
      (err) => err instanceof ManifestError && err.code === 'INCOMPATIBLE_PLUGIN',
    )
  })
})

describe('activation', () => {
  it('hands the plugin its manifest, root, own data dir, own settings section and a live signal', async (t) => {
    const dirs = await tempDirs(t)
    const root = await writePlugin(dirs.builtin, 'store', { name: 'store' })
    const host = makeHost(dirs, {
      settings: { store: { tag: 'mine' }, other: { tag: 'not mine' } },
    })
    await host.discover()
    const listing = await host.activate('store')
    assert.equal(listing.status, 'active')
    const seen = JSON.parse(await readFile(join(dirs.data, 'store', 'context.json'), 'utf8'))
    assert.deepEqual(seen, {
      name: 'store',
      root,
      dataDir: join(dirs.data, 'store'),
      settings: { tag: 'mine' },
    })
    assert.equal(await host.get('storage', 'store').put(new Uint8Array()), 'put:mine')
    assert.equal(await exists(join(dirs.data, 'store', 'aborted')), false)
  })

  it('activating twice is harmless, and announces the change once as a plugin:state event', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'store', { name: 'store' }, GOOD('store'))
    const host = makeHost(dirs)
    await host.discover()
    const events: PluginStateEvent[] = []
    host.on('plugin:state', (e) => events.push(e))
    await host.activate('store')
    await host.activate('store')
    assert.deepEqual(events, [{ name: 'store', status: 'active' }])
  })

  const failing: Array<[string, string, RegExp]> = [
    ['throws', `export default () => { throw new Error('cannot start') }`, /cannot start/],
    ['rejects', `export default async () => { throw new TypeError('async nope') }`, /async nope/],
    ['hangs', `export default () => new Promise(() => {})`, /longer than 150 ms/],
    ['no-default', `export const activate = () => ({})`, /no default export/],
    ['import-fails', `import './missing-module.mjs'\nexport default () => ({})`, /missing-module/],
    [
      'wrong-shape',
      `export default () => ({ storage: { put() {} } })`,
      /"storage" lacks method\(s\) get, has, pin, unpin, stat/,
    ],
    [
      'no-instance',
      `export default () => ({})`,
      /declares kind "storage" but activate returned no "storage"/,
    ],
  ]

  for (const [name, code, why] of failing) {
    it(`a plugin whose activation ${name.replace('-', ' ')} fails with a PluginError naming it; the host serves the others`, async (t) => {
      const dirs = await tempDirs(t)
      await writePlugin(dirs.builtin, 'a-good', { name: 'a-good' }, GOOD('a-good'))
      await writePlugin(dirs.builtin, name, { name }, code)
      const host = makeHost(dirs, { activateTimeoutMs: 150 })
      await host.discover()
      await host.activate('a-good')
      const events: PluginStateEvent[] = []
      host.on('plugin:state', (e) => events.push(e))
      await assert.rejects(host.activate(name), (err: unknown) => {
        assert.ok(err instanceof PluginError)
        assert.equal(err.plugin, name)
        assert.match(err.message, new RegExp(`^plugin ${name}: `))
        assert.match(err.message, why)
        return true
      })
      const listing = host.list().find((p) => p.name === name)
      assert.equal(listing?.status, 'failed')
      assert.equal(listing?.errorCode, 'PLUGIN_FAILED')
      assert.equal(events.at(-1)?.status, 'failed')
      assert.equal(await host.get('storage').put(new Uint8Array()), 'put:a-good')
      assert.equal(host.list().find((p) => p.name === 'a-good')?.status, 'active')
    })
  }

  it('a failed plugin can be activated again once fixed (enable clears the failure)', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(
      dirs.builtin,
      'flaky',
      { name: 'flaky' },
      `export default () => { throw new Error('first time') }`,
    )
    const host = makeHost(dirs)
    await host.discover()
    await assert.rejects(host.activate('flaky'), PluginError)
    assert.equal((await host.enable('flaky')).status, 'enabled')
  })

  it('activateEnabled starts every enabled plugin and records failures without throwing', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'one', { name: 'one' }, GOOD('one'))
    await writePlugin(
      dirs.builtin,
      'two',
      { name: 'two' },
      `export default () => { throw new Error('x') }`,
    )
    await writePlugin(dirs.builtin, 'three', { name: 'three', kinds: [] } as never)
    const host = makeHost(dirs)
    await host.discover()
    const listed = await host.activateEnabled()
    assert.deepEqual(
      listed.map((p) => [p.name, p.status]),
      [
        ['one', 'active'],
        ['three', 'broken'],
        ['two', 'failed'],
      ],
    )
  })

  it('unknown names give NotFoundError', async (t) => {
    const host = makeHost(await tempDirs(t))
    await host.discover()
    await assert.rejects(host.activate('ghost'), NotFoundError)
    assert.throws(() => host.get('storage'), NotFoundError)
    assert.throws(() => host.get('prover', 'ghost'), NotFoundError)
  })
})

describe('guarded calls', () => {
  async function activeStore(t: Parameters<typeof tempDirs>[0]) {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'store', { name: 'store' }, STORAGE_PLUGIN)
    await writePlugin(dirs.builtin, 'zz-good', { name: 'zz-good' }, GOOD('zz-good'))
    const host = makeHost(dirs)
    await host.discover()
    await host.activateEnabled()
    return { host, dirs, store: host.get('storage', 'store') }
  }

  it('a method that throws synchronously gives a rejected PluginError, not a crash', async (t) => {
    const { store } = await activeStore(t)
    let call: Promise<boolean> | undefined
    assert.doesNotThrow(() => {
      call = store.has('k')
    })
    await assert.rejects(
      call!,
      (err) =>
        err instanceof PluginError && err.plugin === 'store' && /has exploded/.test(err.message),
    )
  })

  it('a method that rejects gives a PluginError naming the plugin, with the original as cause', async (t) => {
    const { store } = await activeStore(t)
    await assert.rejects(store.pin('k'), (err: unknown) => {
      assert.ok(err instanceof PluginError)
      assert.equal(err.message, 'plugin store: storage.pin failed: pin rejected')
      assert.equal((err.cause as Error).message, 'pin rejected')
      return true
    })
  })

  it('a stream that fails midway gives a PluginError', async (t) => {
    const { store } = await activeStore(t)
    const chunks: Uint8Array[] = []
    await assert.rejects(
      (async () => {
        for await (const c of store.get('k')) chunks.push(c)
      })(),
      (err) => err instanceof PluginError && /disk on fire/.test(err.message),
    )
    assert.equal(chunks.length, 1)
  })

  it('Wholesum errors from the plugin keep their class, so callers can branch on them', async (t) => {
    const { store } = await activeStore(t)
    await assert.rejects(
      store.unpin('k'),
      (err) => err instanceof InvalidInputError && err.code === 'INVALID_INPUT',
    )
  })

  it('after all of that the host still serves the plugin and the others', async (t) => {
    const { host, store } = await activeStore(t)
    await assert.rejects(store.pin('k'))
    assert.equal(await store.put(new Uint8Array()), 'put:none')
    assert.equal(await host.get('storage', 'zz-good').put(new Uint8Array()), 'put:zz-good')
  })

  it('get without a name returns the first active plugin of that kind', async (t) => {
    const { host } = await activeStore(t)
    assert.equal(await host.get('storage').put(new Uint8Array()), 'put:none')
    await host.disable('store')
    assert.equal(await host.get('storage').put(new Uint8Array()), 'put:zz-good')
  })
})

describe('enable, disable, shutdown', () => {
  it('disable deactivates the plugin, aborts its signal, and refuses calls through old references', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'store', { name: 'store' })
    const host = makeHost(dirs)
    await host.discover()
    await host.activate('store')
    const store: StoragePlugin = host.get('storage', 'store')
    const listing = await host.disable('store')
    assert.equal(listing.status, 'disabled')
    assert.ok(await exists(join(dirs.data, 'store', 'deactivated')))
    assert.ok(await exists(join(dirs.data, 'store', 'aborted')))
    await assert.rejects(
      store.put(new Uint8Array()),
      (err) => err instanceof PluginError && /no longer active/.test(err.message),
    )
    assert.throws(() => host.get('storage', 'store'), NotFoundError)
    await assert.rejects(
      host.activate('store'),
      (err) => err instanceof PluginError && /disabled/.test(err.message),
    )
  })

  it('disable and enable are remembered by a new host on the same state file', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'one', { name: 'one' }, GOOD('one'))
    await writePlugin(dirs.builtin, 'two', { name: 'two' }, GOOD('two'))
    const first = makeHost(dirs)
    await first.discover()
    await first.disable('one')
    await first.disable('two')
    await first.enable('two')

    const second = makeHost(dirs)
    const listed = await second.discover()
    assert.deepEqual(
      listed.map((p) => [p.name, p.status]),
      [
        ['one', 'disabled'],
        ['two', 'enabled'],
      ],
    )
    assert.deepEqual(JSON.parse(await readFile(dirs.stateFile, 'utf8')), {
      version: 1,
      plugins: { one: { enabled: false }, two: { enabled: true } },
    })
    await second.activateEnabled()
    assert.deepEqual(
      second.list().map((p) => p.status),
      ['disabled', 'active'],
    )
  })

  it('a corrupt state file is ignored with a warning; every plugin starts enabled', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'one', { name: 'one' }, GOOD('one'))
    await mkdir(join(dirs.root, 'state'), { recursive: true })
    await import('node:fs/promises').then((fs) => fs.writeFile(dirs.stateFile, '{ nope'))
    const logger = captureLogger()
    const listed = await makeHost(dirs, { logger }).discover()
    assert.equal(listed[0]?.status, 'enabled')
    assert.ok(logger.records.some((r) => /state file ignored/.test(r.msg)))
  })

  it('shutdown deactivates every plugin; a deactivate that throws or hangs is logged, not thrown', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'store', { name: 'store' })
    const base = GOOD('x').replace(/\} \}\)$/, '')
    await writePlugin(
      dirs.builtin,
      'thrower',
      { name: 'thrower' },
      `${base} }, deactivate() { throw new Error('will not stop') } })`,
    )
    await writePlugin(
      dirs.builtin,
      'hanger',
      { name: 'hanger' },
      `${base} }, deactivate: () => new Promise(() => {}) })`,
    )
    const logger = captureLogger()
    const host = makeHost(dirs, { logger, deactivateTimeoutMs: 100 })
    await host.discover()
    await host.activateEnabled()
    assert.deepEqual(
      host.list().map((p) => p.status),
      ['active', 'active', 'active'],
    )
    await host.shutdown()
    assert.deepEqual(
      host.list().map((p) => p.status),
      ['enabled', 'enabled', 'enabled'],
    )
    assert.ok(await exists(join(dirs.data, 'store', 'deactivated')))
    const failures = logger.records
      .filter((r) => r.msg === 'plugin failed to deactivate')
      .map((r) => r.fields?.plugin)
    assert.deepEqual(failures.sort(), ['hanger', 'thrower'])
  })

  it('a plugin:state listener that throws does not break the host', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'store', { name: 'store' }, GOOD('s'))
    const host = makeHost(dirs)
    host.on('plugin:state', () => {
      throw new Error('listener bug')
    })
    await host.discover()
    assert.equal((await host.activate('store')).status, 'active')
  })

  it('builtin plugins cannot be uninstalled, only disabled', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'store', { name: 'store' }, GOOD('s'))
    const host = makeHost(dirs)
    await host.discover()
    await assert.rejects(host.uninstall('store'), InvalidInputError)
  })
})
