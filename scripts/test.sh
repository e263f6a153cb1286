#!/usr/bin/env bash
# Typechecks and runs every test with node's built-in runner (setup.sh has run before).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
say "typecheck and format check"
"$NODE" node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
"$NODE" node_modules/prettier/bin/prettier.cjs --check . --log-level warn
# The renderer: its Svelte components and browser code, then its Node-run tests.
(cd app/renderer && "$NODE" ../../node_modules/svelte-check/bin/svelte-check --tsconfig ./tsconfig.json --fail-on-warnings --output human | tail -n 20)
"$NODE" node_modules/typescript/bin/tsc -p app/renderer/tsconfig.node.json --noEmit
say "worker unit tests (cargo test)"
(cd plugins/prover-risc0/worker && CARGO_TARGET_DIR="$CARGO_TARGET_DIR_WORKER" DOCS_RS=1 cargo test --release --locked --quiet)
# Container tests talk to the engine that setup.sh started (or Docker).
WHOLESUM_CONTAINER_SOCKET="$(bash "$ROOT/scripts/podman-service.sh")"
export WHOLESUM_CONTAINER_SOCKET
say "tests"
# The risc0 prover uses every core; test files run one at a time so proofs do not fight. A test
# that hangs fails after 20 min (the longest runs about 4) instead of using up the CI budget.
rc=0
"$NODE" --test --test-concurrency=1 --test-reporter=spec --test-timeout=1200000 \
  "packages/**/*.test.ts" "app/**/*.test.ts" "plugins/*/src/**/*.test.ts" "plugins/*/guests/*/*.test.ts" || rc=$?
# The engine's own account, for a failure that only the container tests saw.
if [ "$rc" -ne 0 ] && [ -f "$WHOLESUM_CACHE/podman-service.log" ]; then
  say "tests failed; the podman service's last log lines:"
  tail -n 40 "$WHOLESUM_CACHE/podman-service.log" || true
fi
exit "$rc"
