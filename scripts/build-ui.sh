#!/usr/bin/env bash
# Builds the desktop UI (app/renderer, Svelte 5 + Vite) into app/renderer/dist, which the node
# serves in browser mode and the Electron shell loads. A second or so; run by setup.sh.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$NODE" node_modules/vite/bin/vite.js build app/renderer --logLevel warn
say "UI built into app/renderer/dist"
