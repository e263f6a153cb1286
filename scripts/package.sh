#!/usr/bin/env bash
# Packages the desktop app with electron-builder (AppImage and deb, dmg, nsis: electron-builder.yml).
# Stops with a list of what is missing, before building anything, where the Electron binary or
# electron-builder are not installed (they cannot be downloaded on an offline machine).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
worker="$CARGO_TARGET_DIR_WORKER/release/wholesum-risc0-worker"
"$NODE" --input-type=module -e "
import { packagingBlockers } from './app/main/src/electron/packaging.ts'
const missing = packagingBlockers({ root: process.cwd(), worker: process.argv[1] })
if (missing.length > 0) {
  console.error('[wholesum] cannot package the desktop app on this machine:')
  for (const m of missing) console.error('  - ' + m)
  process.exit(2)
}" "$worker"
# Sandboxed preloads must be CommonJS JavaScript: compile the one preload.
"$NODE" node_modules/typescript/bin/tsc app/main/src/electron/preload.cts --outDir app/main/src/electron \
  --module commonjs --target es2023 --types node --skipLibCheck
mkdir -p out/package/worker && cp "$worker" out/package/worker/
"$NODE" node_modules/electron-builder/cli.js --config electron-builder.yml "$@"
