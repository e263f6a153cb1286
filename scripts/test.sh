#!/usr/bin/env bash
# Typechecks and runs every test with node's built-in runner (setup.sh has run before).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
say "typecheck and format check"
"$NODE" node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
"$NODE" node_modules/prettier/bin/prettier.cjs --check . --log-level warn
say "worker unit tests (cargo test)"
(cd plugins/prover-risc0/worker && CARGO_TARGET_DIR="$CARGO_TARGET_DIR_WORKER" DOCS_RS=1 cargo test --release --locked --quiet)
# Container tests talk to the engine that setup.sh started (or Docker).
WHOLESUM_CONTAINER_SOCKET="$(bash "$ROOT/scripts/podman-service.sh")"
export WHOLESUM_CONTAINER_SOCKET
say "tests"
# The risc0 prover uses every core; test files run one at a time so proofs do not fight.
"$NODE" --test --test-concurrency=1 --test-reporter=spec \
  "packages/**/*.test.ts" "app/**/*.test.ts" "plugins/*/src/**/*.test.ts" "plugins/*/guests/*/*.test.ts"
