// The plugin host's public face: the host class, manifest helpers and their types.
export {
  PluginHost,
  type CapabilityOf,
  type HostLogger,
  type InstallOptions,
  type PluginHostEvents,
  type PluginHostInit,
  type PluginListing,
  type PluginSource,
  type PluginStateEvent,
  type PluginStatus,
} from './host.ts'
export {
  MANIFEST_FILE,
  checkEngine,
  parseManifest,
  readManifest,
  validateManifest,
} from './manifest.ts'
export type { TarballLimits } from './install.ts'
