// The persistent job store: what a restarted client or prover needs to resume, in one SQLite file.

export { JobStore, DEFAULT_BUSY_TIMEOUT_MS, type JobStoreOptions } from './job-store.ts'
export { JobStoreError, type JobStoreErrorCode } from './errors.ts'
export { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, type Migration } from './schema.ts'
export { MAX_ENVELOPE_BYTES, MAX_ERROR_LENGTH, MAX_JSON_BYTES } from './validate.ts'
export { sumEarnings } from './ledger.ts'
export * from './records.ts'
