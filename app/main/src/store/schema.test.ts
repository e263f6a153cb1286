// Specification of opening a store file: settings, migrations, and refusing files that are not ours.

import assert from 'node:assert/strict'
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, test } from 'node:test'
import { APPLICATION_ID, JobStore, JobStoreError, MIGRATIONS, SCHEMA_VERSION } from './index.ts'
import { migrate } from './schema.ts'
import { cidOf, newJob, newSegments, sha256Hex } from './testing/fixtures.ts'

const work = mkdtempSync(join(tmpdir(), 'wholesum-store-schema-'))
after(() => rmSync(work, { recursive: true, force: true }))
let files = 0
const fresh = (): string => join(work, `case-${files++}`, 'jobs.sqlite')

const storeError = (code: JobStoreError['code'], pattern: RegExp, path: string) => (err: unknown) =>
  err instanceof JobStoreError &&
  err.code === code &&
  err.path === path &&
  err.message.includes(path) &&
  pattern.test(err.message)

function rawVersions(file: string): number[] {
  const db = new DatabaseSync(file)
  try {
    return db
      .prepare('SELECT version FROM schema_version ORDER BY version')
      .all()
      .map((row) => Number(row['version']))
  } finally {
    db.close()
  }
}

describe('opening a store', () => {
  test('a new file (and its folder) is created with WAL, synchronous=FULL, foreign keys and a busy timeout', () => {
    const file = fresh()
    const store = JobStore.open(file, { busyTimeoutMs: 1234 })
    try {
      assert.deepEqual(store.pragmas(), {
        journalMode: 'wal',
        synchronous: 2,
        foreignKeys: true,
        busyTimeoutMs: 1234,
      })
      assert.equal(store.schemaVersion, SCHEMA_VERSION)
    } finally {
      store.close()
    }
    assert.deepEqual(
      rawVersions(file),
      MIGRATIONS.map((m) => m.version),
    )
    const db = new DatabaseSync(file)
    assert.equal(db.prepare('PRAGMA application_id').get()?.['application_id'], APPLICATION_ID)
    db.close()
  })

  test('an empty file becomes a new store', () => {
    const file = fresh()
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, '')
    const store = JobStore.open(file)
    assert.equal(store.schemaVersion, SCHEMA_VERSION)
    store.close()
  })

  test('an in-memory store works for engine tests', () => {
    const store = JobStore.open(':memory:')
    store.createJob(newJob('m', 1), newSegments('m', 1))
    assert.equal(store.listJobs().length, 1)
    store.close()
  })

  test('migrations are numbered 1, 2, 3… without gaps', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1),
    )
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length)
  })
})

describe('migrations', () => {
  test('opening a version 1 file upgrades it to the latest and keeps its rows', () => {
    const file = fresh()
    mkdirSync(join(file, '..'), { recursive: true })
    const db = new DatabaseSync(file)
    assert.equal(migrate(db, file, 111, 1), 1)
    const job = newJob('old', 1)
    db.prepare(
      `INSERT INTO jobs (jobId, role, imageId, programCid, inputCid, po2, segments, status,
         rewardPerSegment, deadline, createdAt, updatedAt, nonce)
       VALUES (?, 'client', ?, ?, ?, 20, 1, 'proving', '7', 99, 10, 10, 'n1')`,
    ).run(job.jobId, job.imageId, job.programCid, job.inputCid)
    db.prepare(
      `INSERT INTO segments (jobId, idx, segmentCid, expectedClaim) VALUES (?, 0, ?, 'ab')`,
    ).run(job.jobId, cidOf('seg'))
    assert.equal(
      db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'prover_work'").get()?.['n'],
      0,
    )
    db.close()
    assert.deepEqual(rawVersions(file), [1])

    const store = JobStore.open(file, { now: () => 222 })
    try {
      assert.equal(store.schemaVersion, SCHEMA_VERSION)
      assert.equal(store.getJob(job.jobId)?.rewardPerSegment, '7')
      assert.deepEqual(store.getJob(job.jobId)?.extra, {})
      assert.equal(store.getSegments(job.jobId)[0]?.expectedClaim, 'ab')
      // the tables of versions 2 and 3 are there and usable
      store.updateJob(job.jobId, { status: 'proving' })
      assert.equal(store.startWork(job.jobId, 'prove', 0), true)
      store.recordPins(job.jobId, 'work', [job.programCid])
      assert.equal(store.heldPins(222).length, 1)
    } finally {
      store.close()
    }
    const check = new DatabaseSync(file)
    assert.deepEqual(
      check
        .prepare('SELECT version, appliedAt FROM schema_version ORDER BY version')
        .all()
        .map((r) => ({ ...r })),
      [
        { version: 1, appliedAt: 111 },
        { version: 2, appliedAt: 222 },
        { version: 3, appliedAt: 222 },
        { version: 4, appliedAt: 222 },
      ],
    )
    check.close()
  })

  test('a file from a newer Wholesum is refused and left untouched', () => {
    const file = fresh()
    JobStore.open(file).close()
    const db = new DatabaseSync(file)
    db.prepare('INSERT INTO schema_version (version, description, appliedAt) VALUES (?, ?, ?)').run(
      SCHEMA_VERSION + 1,
      'from the future',
      1,
    )
    db.close()
    assert.throws(
      () => JobStore.open(file),
      storeError(
        'TOO_NEW',
        new RegExp(
          `schema version ${SCHEMA_VERSION + 1}, but this Wholesum knows versions up to ${SCHEMA_VERSION}: upgrade Wholesum`,
        ),
        file,
      ),
    )
    assert.deepEqual(rawVersions(file), [...MIGRATIONS.map((m) => m.version), SCHEMA_VERSION + 1])
  })
})

describe('files that are not a usable store', () => {
  test('a file that is not SQLite is refused with a clear error, and not overwritten', () => {
    const file = fresh()
    mkdirSync(join(file, '..'), { recursive: true })
    const text = 'these are my notes, not a database\n'.repeat(200)
    writeFileSync(file, text)
    assert.throws(
      () => JobStore.open(file),
      storeError('NOT_A_DATABASE', /is not an SQLite database/, file),
    )
    assert.equal(statSync(file).size, text.length)
  })

  test('a store whose header was overwritten is refused as not a database', () => {
    const file = fresh()
    JobStore.open(file).close()
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.from('garbage garbage!'), 0, 16, 0)
    closeSync(fd)
    assert.throws(() => JobStore.open(file), storeError('NOT_A_DATABASE', /move it aside/, file))
  })

  test('a store with damaged pages is refused on open by the quick check', () => {
    const file = fresh()
    const store = JobStore.open(file)
    const job = store.createJob(newJob('big', 300), newSegments('big', 300))
    store.transaction(() => {
      for (let i = 0; i < 400; i++)
        store.appendEvent(job.jobId, 'tick', { i, pad: 'x'.repeat(100) })
    })
    store.close()
    const pageSize = 4096
    const pages = statSync(file).size / pageSize
    assert.ok(pages > 10)
    const fd = openSync(file, 'r+')
    for (let page = 3; page < pages; page += 2) {
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, page * pageSize)
    }
    closeSync(fd)
    assert.throws(() => JobStore.open(file), storeError('CORRUPT', /damaged/, file))
  })

  test("another program's SQLite database is refused", () => {
    const file = fresh()
    mkdirSync(join(file, '..'), { recursive: true })
    const db = new DatabaseSync(file)
    db.exec('CREATE TABLE bookmarks (url TEXT)')
    db.close()
    assert.throws(
      () => JobStore.open(file),
      storeError('NOT_A_JOB_STORE', /another program .* not a Wholesum job store/, file),
    )
  })

  test('a folder in place of the file cannot be opened', () => {
    const file = fresh()
    mkdirSync(file, { recursive: true })
    assert.throws(
      () => JobStore.open(file),
      storeError('CANNOT_OPEN', /cannot open job store/, file),
    )
  })

  test('a job row holding a value no version writes is reported as corrupt, naming the column', () => {
    const file = fresh()
    const store = JobStore.open(file)
    const job = store.createJob(newJob('j', 0))
    const db = new DatabaseSync(file)
    db.prepare("UPDATE jobs SET status = 'exploded' WHERE jobId = ?").run(job.jobId)
    db.close()
    assert.throws(
      () => store.getJob(job.jobId),
      (err) =>
        err instanceof JobStoreError &&
        err.code === 'CORRUPT' &&
        /jobs\.status should be one of executing.*holds "exploded"/.test(err.message),
    )
    assert.equal(store.getJob(sha256Hex('other')), undefined)
    store.close()
  })
})
