// The plugin API: everything a Wholesum plugin may import. Plugins never import app/main.
export * from './errors.ts'
export * from './prover.ts'
export * from './capabilities.ts'
export * from './payments.ts'
export * from './plugin.ts'
