// Specification of wholesum-plugin.json: what is accepted, and how each problem is named.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManifestError, type PluginManifest } from '@wholesum/plugin-api'
import { checkEngine, parseManifest, validateManifest } from './manifest.ts'

const FILE = '/plugins/demo/wholesum-plugin.json'
const GOOD = {
  name: 'storage-demo',
  version: '1.2.3',
  description: 'a demo',
  kinds: ['storage'],
  entry: 'dist/index.js',
  engine: '^0.1.0',
  permissions: ['fs:data'],
}

/** Asserts `fn` throws INVALID_MANIFEST naming the file and the field. */
function rejects(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ManifestError, `expected ManifestError, got ${String(err)}`)
    assert.equal(err.code, 'INVALID_MANIFEST')
    assert.match(err.message, /\/plugins\/demo\/wholesum-plugin\.json/)
    assert.ok(err.message.includes(`"${field}"`), `message should name "${field}": ${err.message}`)
    return true
  })
}

const withField = (field: string, value: unknown) => ({ ...GOOD, [field]: value })

describe('manifest', () => {
  it('accepts a complete manifest and returns a frozen copy', () => {
    const m = parseManifest(JSON.stringify(GOOD), FILE)
    assert.deepEqual({ ...m, kinds: [...m.kinds], permissions: [...m.permissions] }, GOOD)
    assert.ok(Object.isFrozen(m))
  })

  it('accepts scoped names and treats missing permissions and description as none', () => {
    const { permissions: _p, description: _d, ...rest } = GOOD
    const m = validateManifest({ ...rest, name: '@acme/storage-s3' }, FILE)
    assert.equal(m.name, '@acme/storage-s3')
    assert.deepEqual(m.permissions, [])
    assert.equal(m.description, undefined)
  })

  it('normalises the entry path', () => {
    assert.equal(
      validateManifest(withField('entry', './src//index.js'), FILE).entry,
      'src/index.js',
    )
  })

  it('rejects text that is not JSON, naming the file', () => {
    assert.throws(
      () => parseManifest('{ "name": ', FILE),
      (err: unknown) =>
        err instanceof ManifestError &&
        err.code === 'INVALID_MANIFEST' &&
        err.message.includes(FILE),
    )
  })

  it('rejects a JSON value that is not an object', () => {
    assert.throws(() => parseManifest('[]', FILE), ManifestError)
  })

  it('rejects a missing or malformed name', () => {
    const { name: _n, ...noName } = GOOD
    rejects(() => validateManifest(noName, FILE), 'name')
    rejects(() => validateManifest(withField('name', 'Has Spaces'), FILE), 'name')
    rejects(() => validateManifest(withField('name', '../escape'), FILE), 'name')
    rejects(() => validateManifest(withField('name', 'x'.repeat(215)), FILE), 'name')
  })

  it('rejects a version that is not semver', () => {
    rejects(() => validateManifest(withField('version', '1.2'), FILE), 'version')
    rejects(() => validateManifest(withField('version', 3), FILE), 'version')
  })

  it('rejects missing, empty, duplicated or unknown kinds', () => {
    const { kinds: _k, ...noKinds } = GOOD
    rejects(() => validateManifest(noKinds, FILE), 'kinds')
    rejects(() => validateManifest(withField('kinds', []), FILE), 'kinds')
    rejects(() => validateManifest(withField('kinds', ['storage', 'storage']), FILE), 'kinds')
    rejects(() => validateManifest(withField('kinds', ['teleporter']), FILE), 'kinds')
    rejects(() => validateManifest(withField('kinds', 'storage'), FILE), 'kinds')
  })

  it('rejects an entry that is absolute or climbs out of the plugin root', () => {
    rejects(() => validateManifest(withField('entry', '/etc/passwd'), FILE), 'entry')
    rejects(() => validateManifest(withField('entry', '../other/index.js'), FILE), 'entry')
    rejects(() => validateManifest(withField('entry', 'dist/../../x.js'), FILE), 'entry')
    rejects(() => validateManifest(withField('entry', 'C:\\x.js'), FILE), 'entry')
    rejects(() => validateManifest(withField('entry', '.'), FILE), 'entry')
    rejects(() => validateManifest(withField('entry', ''), FILE), 'entry')
  })

  it('rejects an engine that is not a semver range', () => {
    rejects(() => validateManifest(withField('engine', 'the latest'), FILE), 'engine')
    rejects(() => validateManifest(withField('engine', ''), FILE), 'engine')
  })

  it('rejects an unknown permission', () => {
    rejects(
      () => validateManifest(withField('permissions', ['fs:data', 'root']), FILE),
      'permissions',
    )
  })

  it('rejects fields it does not know', () => {
    rejects(() => validateManifest(withField('main', 'index.js'), FILE), 'main')
  })

  it('checkEngine accepts a range that includes the engine version', () => {
    const m = validateManifest(GOOD, FILE) as PluginManifest
    checkEngine(m, '0.1.0')
    checkEngine(m, '0.1.7')
  })

  it('checkEngine rejects a range that excludes the engine version with INCOMPATIBLE_PLUGIN', () => {
    const m = validateManifest(withField('engine', '^1.0.0'), FILE)
    assert.throws(
      () => checkEngine(m, '0.1.0', FILE),
      (err: unknown) =>
        err instanceof ManifestError &&
        err.code === 'INCOMPATIBLE_PLUGIN' &&
        err.message.includes('"engine"') &&
        err.message.includes('0.1.0') &&
        err.message.includes(FILE),
    )
  })
})
