#!/usr/bin/env bash
# Builds the risc0 worker in release mode, with its cargo target cached outside the clone.
source "$(dirname "$0")/lib.sh"
cd "$ROOT/plugins/prover-risc0/worker"
export CARGO_TARGET_DIR="$CARGO_TARGET_DIR_WORKER"
# risc0-circuit-recursion downloads its circuit zip at build time, which cannot work offline.
# DOCS_RS makes that one build script write an empty placeholder (no other crate in this graph
# reads DOCS_RS; checked in the 3.0.6 sources); the worker then reports recursion unavailable.
# With RECURSION_SRC_PATH pointing at the real zip, the circuit is built in instead.
if [ -n "${RECURSION_SRC_PATH:-}" ] && [ -f "$RECURSION_SRC_PATH" ]; then
  say "building the risc0 worker with the recursion circuit from $RECURSION_SRC_PATH"
else
  export DOCS_RS=1
fi
start=$(date +%s)
cargo build --release --locked || die "worker build failed (see cargo output above)"
bin="$CARGO_TARGET_DIR/release/wholesum-risc0-worker"
say "risc0 worker ready ($(( $(date +%s) - start )) s): $bin"
