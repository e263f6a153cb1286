#!/usr/bin/env bash
# Builds risc0's receipt verifier for WebAssembly (packages/receipt-verifier/rust) with Debian's
# Rust: std for wasm32-unknown-unknown is built from the rust-web-src sources (-Zbuild-std), as the
# guests' std is, and linked with rust-lld (or lld's wasm-ld). Writes
# packages/receipt-verifier/dist/receipt_verifier.wasm; cargo skips the work when nothing changed.
source "$(dirname "$0")/lib.sh"
CRATE="$ROOT/packages/receipt-verifier/rust"
OUT="$ROOT/packages/receipt-verifier/dist"
TARGET_DIR="${WHOLESUM_VERIFIER_TARGET_DIR:-$WHOLESUM_CACHE/verifier-target}"
RUSTC_BIN="${WHOLESUM_GUEST_RUSTC:-/usr/bin/rustc}"
CARGO_BIN="${WHOLESUM_GUEST_CARGO:-/usr/bin/cargo}"

[ -x "$RUSTC_BIN" ] && [ -x "$CARGO_BIN" ] || ensure_debian_packages rustc-web cargo-web rust-web-src
RUST_SRC="$("$RUSTC_BIN" --print sysroot)/lib/rustlib/src/rust/library"
[ -f "$RUST_SRC/std/Cargo.toml" ] || ensure_debian_packages rust-web-src
# rustc's wasm32 target links with rust-lld; lld's wasm-ld is the same linker under its own name.
linker=()
command -v rust-lld >/dev/null 2>&1 || {
  command -v wasm-ld >/dev/null 2>&1 || ensure_debian_packages lld
  linker=(-C linker=wasm-ld)
}

started=$SECONDS
unset RUSTUP_TOOLCHAIN RUSTFLAGS RUSTC_WRAPPER CARGO_ENCODED_RUSTFLAGS 2>/dev/null || true
(
  cd "$CRATE"
  # Paths of this checkout and of cargo's home are remapped so that the module does not depend on
  # where it was built.
  RUSTC="$RUSTC_BIN" RUSTC_BOOTSTRAP=1 __CARGO_TESTS_ONLY_SRC_ROOT="$RUST_SRC" \
    RUSTFLAGS="${linker[*]} --remap-path-prefix=$ROOT=/wholesum --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo" \
    CARGO_TARGET_DIR="$TARGET_DIR" "$CARGO_BIN" build --release --locked --quiet \
    --target wasm32-unknown-unknown -Z build-std=std,panic_abort
)
mkdir -p "$OUT"
cp "$TARGET_DIR/wasm32-unknown-unknown/release/wholesum_receipt_verifier.wasm" "$OUT/receipt_verifier.wasm"
say "receipt verifier for WebAssembly ready ($((SECONDS - started)) s, $(du -k "$OUT/receipt_verifier.wasm" | cut -f1) KiB): $OUT/receipt_verifier.wasm"
