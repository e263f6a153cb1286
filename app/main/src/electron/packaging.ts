// Can the desktop app be packaged on this machine? Packaging needs the Electron binary and
// electron-builder (each downloads what it needs), the built UI, the built worker and guests.
// On a machine without them, `npm run package` says which and stops before building anything.

import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

export interface PackagingInputs {
  readonly root: string
  /** The worker binary the package carries (setup builds it into the cache). */
  readonly worker: string
}

/** What is missing, one sentence each; empty when packaging can go ahead. */
export function packagingBlockers(inputs: PackagingInputs): string[] {
  const { root } = inputs
  const blockers: string[] = []
  const require = createRequire(join(root, 'package.json'))
  const electronPath = join(root, 'node_modules', 'electron', 'path.txt')
  if (!existsSync(electronPath)) {
    blockers.push(
      'the Electron binary is not installed (its download is skipped here: `ELECTRON_SKIP_BINARY_DOWNLOAD`); on a machine with internet access run `node node_modules/electron/install.js`',
    )
  }
  try {
    require.resolve('electron-builder')
  } catch {
    blockers.push(
      'electron-builder is not installed (it downloads its platform tools when it runs): `npm install --no-save electron-builder@26`',
    )
  }
  if (!existsSync(join(root, 'app', 'renderer', 'dist', 'index.html'))) {
    blockers.push('the UI is not built: `npm run build:ui`')
  }
  if (!existsSync(inputs.worker))
    blockers.push(`the risc0 worker is not built (${inputs.worker}): \`npm run setup\``)
  if (!existsSync(join(root, 'plugins', 'prover-risc0', 'guests', 'dist', 'manifest.json'))) {
    blockers.push('the sample guests are not built: `npm run setup`')
  }
  return blockers
}
