// The job store's schema as a list of forward migrations, and the check that a file is ours to open.

import type { DatabaseSync } from 'node:sqlite'
import { JobStoreError } from './errors.ts'

/** Marks the file as a Wholesum job store in SQLite's header ('WSJS'). */
export const APPLICATION_ID = 0x57534a53

export interface Migration {
  /** The schema version this migration produces; versions run 1, 2, 3… without gaps. */
  readonly version: number
  readonly description: string
  readonly sql: string
}

/**
 * Every schema change ever shipped, oldest first. Never edit a shipped migration: append one.
 * Status columns carry no CHECK on their values (the store validates them) so that a later
 * version can add a status without rebuilding a table.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "the client's jobs, segments, deals, receipts and event log",
    sql: `
      CREATE TABLE jobs (
        jobId TEXT PRIMARY KEY NOT NULL,
        role TEXT NOT NULL,
        imageId TEXT NOT NULL,
        programCid TEXT NOT NULL,
        inputCid TEXT NOT NULL,
        manifestCid TEXT,
        po2 INTEGER NOT NULL,
        segments INTEGER NOT NULL CHECK (segments >= 0),
        status TEXT NOT NULL,
        rewardPerSegment TEXT NOT NULL,
        deadline INTEGER NOT NULL,
        createdAt INTEGER NOT NULL,
        updatedAt INTEGER NOT NULL,
        error TEXT,
        receiptCid TEXT,
        journalCid TEXT,
        stdoutCid TEXT,
        stderrCid TEXT,
        logsCid TEXT,
        clientPeer TEXT,
        nonce TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra))
      ) STRICT;
      CREATE INDEX jobs_by_role_status ON jobs (role, status, createdAt);

      CREATE TABLE segments (
        jobId TEXT NOT NULL REFERENCES jobs (jobId) ON DELETE CASCADE,
        idx INTEGER NOT NULL CHECK (idx >= 0),
        segmentCid TEXT NOT NULL,
        expectedClaim TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        claimedBy TEXT,
        claimExpires INTEGER,
        receiptCid TEXT,
        provedBy TEXT,
        provedAt INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        rejects INTEGER NOT NULL DEFAULT 0 CHECK (rejects >= 0),
        PRIMARY KEY (jobId, idx)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE deals (
        jobId TEXT NOT NULL REFERENCES jobs (jobId) ON DELETE CASCADE,
        prover TEXT NOT NULL,
        pricePerSegment TEXT NOT NULL,
        signedAt INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'active',
        strikes INTEGER NOT NULL DEFAULT 0 CHECK (strikes >= 0),
        accepted INTEGER NOT NULL DEFAULT 0 CHECK (accepted >= 0),
        PRIMARY KEY (jobId, prover)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE receipts (
        receiptCid TEXT PRIMARY KEY NOT NULL,
        jobId TEXT NOT NULL REFERENCES jobs (jobId) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        idx INTEGER CHECK (idx >= 0),
        prover TEXT,
        verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
        createdAt INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX receipts_by_job ON receipts (jobId, createdAt);

      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        jobId TEXT NOT NULL REFERENCES jobs (jobId) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL CHECK (json_valid(data))
      ) STRICT;
      CREATE INDEX events_by_job ON events (jobId, id);
    `,
  },
  {
    version: 2,
    description: "the prover's units of work, so a restarted prover resumes them",
    sql: `
      CREATE TABLE prover_work (
        jobId TEXT NOT NULL REFERENCES jobs (jobId) ON DELETE CASCADE,
        stage TEXT NOT NULL,
        idx INTEGER NOT NULL CHECK (idx >= 0),
        status TEXT NOT NULL,
        receiptCid TEXT,
        startedAt INTEGER NOT NULL,
        finishedAt INTEGER,
        error TEXT,
        PRIMARY KEY (jobId, stage, idx)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX prover_work_pending ON prover_work (status, startedAt)
        WHERE status IN ('proving', 'proved');
    `,
  },
  {
    version: 3,
    description: 'the CIDs each job pinned, so retention can let go of them',
    // No foreign key: a pin outlives the deletion of its job's row until it is released.
    sql: `
      CREATE TABLE pins (
        jobId TEXT NOT NULL,
        cid TEXT NOT NULL,
        class TEXT NOT NULL,
        pinnedAt INTEGER NOT NULL,
        releasedAt INTEGER,
        PRIMARY KEY (jobId, cid)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX pins_held ON pins (cid) WHERE releasedAt IS NULL;
    `,
  },
  {
    version: 4,
    description:
      "the payments ledger: each party's earnings per job, the client's acceptances, the verifiers' attestations",
    // No foreign keys: what was earned, signed or attested outlives the retention of a job's row.
    sql: `
      CREATE TABLE earnings (
        jobId TEXT NOT NULL,
        role TEXT NOT NULL,
        account TEXT NOT NULL,
        peer TEXT,
        counterparty TEXT,
        chainId INTEGER CHECK (chainId > 0),
        escrow TEXT,
        segments INTEGER CHECK (segments >= 0),
        earnedWei TEXT NOT NULL DEFAULT '0',
        paidWei TEXT NOT NULL DEFAULT '0',
        slashedWei TEXT NOT NULL DEFAULT '0',
        status TEXT NOT NULL,
        reason TEXT,
        txHashes TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(txHashes)),
        createdAt INTEGER NOT NULL,
        updatedAt INTEGER NOT NULL,
        PRIMARY KEY (jobId, role, account)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX earnings_by_time ON earnings (createdAt);

      CREATE TABLE acceptances (
        jobId TEXT NOT NULL,
        segment INTEGER NOT NULL CHECK (segment >= 0),
        account TEXT NOT NULL,
        amountWei TEXT NOT NULL,
        signature TEXT NOT NULL,
        receivedAt INTEGER NOT NULL,
        PRIMARY KEY (jobId, segment, account)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE attestations (
        jobId TEXT NOT NULL,
        verifier TEXT NOT NULL,
        account TEXT,
        verdict TEXT NOT NULL,
        receiptDigest TEXT NOT NULL,
        journalDigest TEXT,
        reason TEXT,
        settlementSignature TEXT,
        envelope BLOB NOT NULL,
        agrees INTEGER CHECK (agrees IN (0, 1)),
        receivedAt INTEGER NOT NULL,
        PRIMARY KEY (jobId, verifier)
      ) STRICT, WITHOUT ROWID;
    `,
  },
]

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

function scalar(db: DatabaseSync, sql: string): unknown {
  const row = db.prepare(sql).get()
  return row === undefined ? undefined : Object.values(row)[0]
}

/** The file's schema version: 0 for an empty database; refuses a database that is not ours. */
export function currentVersion(db: DatabaseSync, path: string): number {
  const appId = Number(scalar(db, 'PRAGMA application_id'))
  const hasVersionTable =
    scalar(
      db,
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'",
    ) === 1
  if (appId !== APPLICATION_ID) {
    const objects = Number(scalar(db, 'SELECT count(*) FROM sqlite_schema'))
    if (appId !== 0 || objects > 0) {
      throw new JobStoreError(
        'NOT_A_JOB_STORE',
        path,
        `${path} is an SQLite database of another program (application_id ${appId}, ${objects} schema objects), not a Wholesum job store`,
      )
    }
    return 0
  }
  if (!hasVersionTable) {
    throw new JobStoreError(
      'CORRUPT',
      path,
      `job store ${path} has no schema_version table; it is damaged or was not made by Wholesum`,
    )
  }
  const version = scalar(db, 'SELECT max(version) FROM schema_version')
  return typeof version === 'number' ? version : 0
}

/**
 * Brings the file to `target` (default: this build's version) inside one write transaction, so
 * two processes opening a new file at once migrate it once. Refuses a file from a newer build.
 * Returns the version the file is at afterwards.
 */
export function migrate(
  db: DatabaseSync,
  path: string,
  now: number,
  target: number = SCHEMA_VERSION,
): number {
  db.exec('BEGIN IMMEDIATE')
  try {
    const from = currentVersion(db, path)
    if (from > SCHEMA_VERSION) {
      throw new JobStoreError(
        'TOO_NEW',
        path,
        `job store ${path} has schema version ${from}, but this Wholesum knows versions up to ${SCHEMA_VERSION}: upgrade Wholesum (the file was left untouched)`,
      )
    }
    if (from === 0) {
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`)
      db.exec(`
        CREATE TABLE schema_version (
          version INTEGER PRIMARY KEY NOT NULL,
          description TEXT NOT NULL,
          appliedAt INTEGER NOT NULL
        ) STRICT
      `)
    }
    const record = db.prepare(
      'INSERT INTO schema_version (version, description, appliedAt) VALUES (?, ?, ?)',
    )
    for (const migration of MIGRATIONS) {
      if (migration.version <= from || migration.version > target) continue
      db.exec(migration.sql)
      record.run(migration.version, migration.description, now)
    }
    db.exec('COMMIT')
    return Math.max(from, target)
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK')
    throw err
  }
}
