// The daemon's local API: schemas, types and the typed client (browser-safe: no Node imports).
export * from './schemas.ts'
export { ApiClient, ApiError, type ApiClientOptions, type WatchOptions } from './client.ts'
export * from './program-check.ts'
