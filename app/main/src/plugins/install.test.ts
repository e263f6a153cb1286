// Specification of installing plugins from a folder or an npm-pack tarball, and of the example plugin.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import * as tar from 'tar'
import { InvalidInputError, ManifestError, NotFoundError } from '@wholesum/plugin-api'
import { MANIFEST_FILE } from './manifest.ts'
import {
  EXAMPLE_DIR,
  makeHost,
  tempDirs,
  writePlugin,
  writeRawTarGz,
  type Dirs,
} from './test-support.ts'

const EXAMPLE = 'example-memory-storage'
const EXAMPLE_FILES = ['package.json', MANIFEST_FILE, 'index.ts', 'README.md']

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/** Packs a folder the way `npm pack` does: every file under `package/`, gzipped. */
async function pack(folder: string, file: string, files = EXAMPLE_FILES): Promise<string> {
  await tar.c({ gzip: true, file, cwd: folder, prefix: 'package/', portable: true }, files)
  return file
}

/** A copy of the example plugin with another version in its manifest. */
async function exampleAt(dirs: Dirs, version: string): Promise<string> {
  const folder = join(dirs.root, `example-${version}`)
  await cp(EXAMPLE_DIR, folder, { recursive: true })
  const manifest = JSON.parse(await readFile(join(folder, MANIFEST_FILE), 'utf8'))
  await writeFile(join(folder, MANIFEST_FILE), JSON.stringify({ ...manifest, version }))
  return folder
}

/** What the user plugins folder holds, hidden staging folders included. */
async function userDirContents(dirs: Dirs): Promise<string[]> {
  return readdir(dirs.user).catch(() => [])
}

async function roundTrip(
  t: TestContext,
  dirs: Dirs,
  install: (h: ReturnType<typeof makeHost>) => Promise<unknown>,
) {
  const host = makeHost(dirs)
  await host.discover()
  await install(host)
  assert.deepEqual(await userDirContents(dirs), [EXAMPLE])
  const listed = host.list()
  assert.deepEqual(
    listed.map((p) => [p.name, p.version, p.source, p.status]),
    [[EXAMPLE, '0.1.0', 'user', 'enabled']],
  )
  await host.activate(EXAMPLE)
  t.after(() => host.shutdown())

  const storage = host.get('storage')
  const bytes = new TextEncoder().encode('hello, wholesum')
  const key = await storage.put(bytes)
  assert.equal(key, 'sha256-' + createHash('sha256').update(bytes).digest('hex'))
  assert.equal(await storage.has(key), true)
  const back: number[] = []
  for await (const chunk of storage.get(key)) back.push(...chunk)
  assert.deepEqual(Uint8Array.from(back), bytes)
  assert.deepEqual(await storage.stat(key), {
    cid: key,
    size: bytes.byteLength,
    pinned: false,
    local: true,
  })
  // The example's own errors are Wholesum errors and reach us unchanged through the guard.
  await assert.rejects(storage.stat('sha256-' + '0'.repeat(64)), NotFoundError)
  await assert.rejects(
    storage.has('not-a-key').then(() => storage.pin('not-a-key')),
    InvalidInputError,
  )
}

describe('install from a folder', () => {
  it('copies the example plugin into <user>/<name>; it activates and round-trips put/get', async (t) => {
    const dirs = await tempDirs(t)
    await roundTrip(t, dirs, (host) => host.installFromFolder(EXAMPLE_DIR))
    assert.deepEqual((await readdir(join(dirs.user, EXAMPLE))).sort(), [...EXAMPLE_FILES].sort())
  })

  it('a folder with a broken manifest is refused with its ManifestError and leaves nothing behind', async (t) => {
    const dirs = await tempDirs(t)
    const folder = await writePlugin(dirs.root, 'src-plugin', {
      name: 'bad',
      permissions: ['root-shell'],
    })
    const host = makeHost(dirs)
    await host.discover()
    await assert.rejects(
      host.installFromFolder(folder),
      (err) => err instanceof ManifestError && /"permissions"/.test(err.message),
    )
    assert.deepEqual(await userDirContents(dirs), [])
  })

  it('a folder that is not there is refused with InvalidInputError', async (t) => {
    const dirs = await tempDirs(t)
    await assert.rejects(
      makeHost(dirs).installFromFolder(join(dirs.root, 'missing')),
      InvalidInputError,
    )
  })

  it('a plugin may not take the name of a builtin plugin (even before discover was called)', async (t) => {
    const dirs = await tempDirs(t)
    await writePlugin(dirs.builtin, 'taken', { name: EXAMPLE })
    const host = makeHost(dirs)
    await assert.rejects(
      host.installFromFolder(EXAMPLE_DIR),
      (err) => err instanceof InvalidInputError && /builtin/.test(err.message),
    )
    assert.deepEqual(await userDirContents(dirs), [])
  })
})

describe('install from a tarball', () => {
  it('installs an npm-pack style .tgz; it activates and round-trips put/get', async (t) => {
    const dirs = await tempDirs(t)
    const tgz = await pack(EXAMPLE_DIR, join(dirs.root, 'example.tgz'))
    await roundTrip(t, dirs, (host) => host.installFromTarball(tgz))
  })

  it('refuses a tarball with a ../ entry before writing anything, and leaves the user dir as it was', async (t) => {
    const dirs = await tempDirs(t)
    const host = makeHost(dirs)
    await host.discover()
    const manifest = await readFile(join(EXAMPLE_DIR, MANIFEST_FILE), 'utf8')
    const tgz = join(dirs.root, 'evil.tgz')
    await writeRawTarGz(tgz, [
      { path: 'package/wholesum-plugin.json', body: manifest },
      { path: 'package/index.ts', body: 'export default () => ({})' },
      { path: 'package/../../escaped.txt', body: 'gotcha' },
    ])
    await assert.rejects(host.installFromTarball(tgz), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError)
      assert.match(err.message, /entry "package\/\.\.\/\.\.\/escaped\.txt" must stay inside/)
      return true
    })
    assert.deepEqual(await userDirContents(dirs), [])
    assert.equal(await exists(join(dirs.root, 'escaped.txt')), false)
    assert.equal(await exists(join(dirs.user, '..', 'escaped.txt')), false)
  })

  const refused: Array<[string, Parameters<typeof writeRawTarGz>[1], RegExp]> = [
    ['an absolute path', [{ path: '/tmp/evil.txt', body: 'x' }], /not under "package\/"/],
    ['an entry outside package/', [{ path: 'other/index.js', body: 'x' }], /not under "package\/"/],
    [
      'a symlink',
      [{ path: 'package/link', type: 'SymbolicLink', linkpath: '/etc' }],
      /SymbolicLink to "\/etc"/,
    ],
    ['a hard link', [{ path: 'package/hard', type: 'Link', linkpath: 'package/../../x' }], /Link/],
    ['nothing at all', [], /not a readable .tgz|is empty/],
  ]
  for (const [what, entries, why] of refused) {
    it(`refuses a tarball with ${what}, leaving nothing behind`, async (t) => {
      const dirs = await tempDirs(t)
      const tgz = join(dirs.root, 'bad.tgz')
      await writeRawTarGz(tgz, entries)
      await assert.rejects(
        makeHost(dirs).installFromTarball(tgz),
        (err) => err instanceof InvalidInputError && why.test(err.message),
      )
      assert.deepEqual(await userDirContents(dirs), [])
    })
  }

  it('refuses a file that is not a tarball', async (t) => {
    const dirs = await tempDirs(t)
    const file = join(dirs.root, 'not.tgz')
    await writeFile(file, 'just text, no tar here')
    await assert.rejects(makeHost(dirs).installFromTarball(file), InvalidInputError)
    assert.deepEqual(await userDirContents(dirs), [])
  })

  it('refuses a tarball that unpacks to more than the configured limit', async (t) => {
    const dirs = await tempDirs(t)
    const tgz = await pack(EXAMPLE_DIR, join(dirs.root, 'example.tgz'))
    const host = makeHost(dirs, { tarballLimits: { maxBytes: 100 } })
    await assert.rejects(
      host.installFromTarball(tgz),
      (err) => err instanceof InvalidInputError && /more than 100/.test(err.message),
    )
    assert.deepEqual(await userDirContents(dirs), [])
  })

  it('refuses a tarball whose manifest needs another engine with INCOMPATIBLE_PLUGIN', async (t) => {
    const dirs = await tempDirs(t)
    const folder = await writePlugin(dirs.root, 'future', { name: 'future', engine: '>=5.0.0' })
    const tgz = await pack(folder, join(dirs.root, 'future.tgz'), [MANIFEST_FILE, 'index.mjs'])
    await assert.rejects(
      makeHost(dirs).installFromTarball(tgz),
      (err) => err instanceof ManifestError && err.code === 'INCOMPATIBLE_PLUGIN',
    )
    assert.deepEqual(await userDirContents(dirs), [])
  })
})

describe('reinstall and uninstall', () => {
  it('a newer version replaces the old one; the same or an older one is refused unless forced', async (t) => {
    const dirs = await tempDirs(t)
    const host = makeHost(dirs)
    await host.discover()
    await host.installFromFolder(await exampleAt(dirs, '0.2.0'))

    const older = await pack(await exampleAt(dirs, '0.1.5'), join(dirs.root, 'older.tgz'))
    await assert.rejects(
      host.installFromTarball(older),
      (err) =>
        err instanceof InvalidInputError &&
        /0\.1\.5 is not newer than the installed 0\.2\.0/.test(err.message),
    )
    await assert.rejects(host.installFromFolder(await exampleAt(dirs, '0.2.0')), /not newer/)
    assert.deepEqual(
      host.list().map((p) => p.version),
      ['0.2.0'],
    )
    assert.deepEqual(await userDirContents(dirs), [EXAMPLE])

    const newer = await pack(await exampleAt(dirs, '0.3.0'), join(dirs.root, 'newer.tgz'))
    assert.equal((await host.installFromTarball(newer)).version, '0.3.0')
    assert.equal((await host.installFromTarball(older, { force: true })).version, '0.1.5')
    const onDisk = JSON.parse(await readFile(join(dirs.user, EXAMPLE, MANIFEST_FILE), 'utf8'))
    assert.equal(onDisk.version, '0.1.5')
    assert.deepEqual(await userDirContents(dirs), [EXAMPLE])
  })

  it('replacing an active plugin brings the new version up active', async (t) => {
    const dirs = await tempDirs(t)
    const host = makeHost(dirs)
    await host.discover()
    await host.installFromFolder(EXAMPLE_DIR)
    await host.activate(EXAMPLE)
    const old = host.get('storage')
    const listing = await host.installFromFolder(await exampleAt(dirs, '0.2.0'))
    t.after(() => host.shutdown())
    assert.deepEqual([listing.version, listing.status], ['0.2.0', 'active'])
    await assert.rejects(old.has('x'), /no longer active/)
    assert.equal(await host.get('storage').has('sha256-' + '0'.repeat(64)), false)
  })

  it('uninstall deactivates and removes the folder; a new host no longer lists it', async (t) => {
    const dirs = await tempDirs(t)
    const host = makeHost(dirs)
    await host.discover()
    await host.installFromFolder(EXAMPLE_DIR)
    await host.activate(EXAMPLE)
    const events: string[] = []
    host.on('plugin:state', (e) => events.push(`${e.name}:${e.status}`))
    await host.uninstall(EXAMPLE)
    assert.deepEqual(events, [`${EXAMPLE}:uninstalled`])
    assert.deepEqual(await userDirContents(dirs), [])
    assert.deepEqual(host.list(), [])
    assert.deepEqual(await makeHost(dirs).discover(), [])
  })
})
