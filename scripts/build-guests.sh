#!/usr/bin/env bash
# Builds the sample RISC Zero guests offline, without rzup or risc0's toolchain downloads.
#
# For each guest crate plugins/prover-risc0/guests/<name>/ (a directory with a Cargo.toml):
#   1. builds the user ELF for riscv32im-risc0-zkvm-elf with Debian's rustc (std built from
#      source with -Zbuild-std), mirroring the environment that risc0-build 3.0.6 sets up;
#   2. if the Rust worker exists, wraps the ELF with the v1compat kernel into a program binary
#      dist/<name>.bin and records its image ID in dist/<name>.imageid (hex);
#   3. writes dist/manifest.json describing every guest.
#
# Idempotent: cargo skips unchanged guests, and wrapping is redone only when the ELF is newer
# than its .bin. Installs nothing; see docs/guests.md.
#
# Environment (all optional):
#   WHOLESUM_GUEST_TARGET_DIR  cargo target dir   (default ~/.cache/wholesum/guest-target)
#   WHOLESUM_WORKER            worker binary      (default ~/.cache/wholesum/cargo-target/release/wholesum-risc0-worker)
#   WHOLESUM_GUEST_JOBS        cargo -j value     (default: cargo's own)
#   WHOLESUM_GUEST_UNLOCKED=1  allow Cargo.lock updates (default: --locked)
#   WHOLESUM_GUEST_RUSTC / WHOLESUM_GUEST_CARGO   compilers (default /usr/bin/rustc, /usr/bin/cargo)
#   WHOLESUM_GUEST_LINKER      linker (default rust-lld if on PATH, else ld.lld)
# Arguments: optional guest names to build (default: all).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GUESTS_DIR="$ROOT/plugins/prover-risc0/guests"
DIST="$GUESTS_DIR/dist"
TARGET_TRIPLE="riscv32im-risc0-zkvm-elf"
TARGET_DIR="${WHOLESUM_GUEST_TARGET_DIR:-$HOME/.cache/wholesum/guest-target}"
WORKER="${WHOLESUM_WORKER:-$HOME/.cache/wholesum/cargo-target/release/wholesum-risc0-worker}"
RUSTC_BIN="${WHOLESUM_GUEST_RUSTC:-/usr/bin/rustc}"
CARGO_BIN="${WHOLESUM_GUEST_CARGO:-/usr/bin/cargo}"
# memory::TEXT_START in risc0-zkvm-platform 2.2.3: where the user program's text is linked.
TEXT_START="0x00200800"
DEBIAN_PACKAGES="rustc-web cargo-web rust-web-src rust-web-llvm"

die() {
  echo "build-guests: $*" >&2
  exit 1
}
need_packages() {
  die "$1
  The guest toolchain uses Debian's Rust, not rzup. Install it with:
    sudo apt-get install -y $DEBIAN_PACKAGES
  (lld also works as the linker: sudo apt-get install -y lld)"
}

# ---- toolchain checks (fast: no compilation) --------------------------------------------------
[ -x "$RUSTC_BIN" ] || need_packages "no rustc at $RUSTC_BIN (package rustc-web)"
[ -x "$CARGO_BIN" ] || need_packages "no cargo at $CARGO_BIN (package cargo-web)"
SYSROOT="$("$RUSTC_BIN" --print sysroot)"
RUST_SRC="$SYSROOT/lib/rustlib/src/rust/library"
[ -f "$RUST_SRC/std/Cargo.toml" ] ||
  need_packages "no Rust std sources at $RUST_SRC (package rust-web-src), needed by -Zbuild-std"
"$RUSTC_BIN" --print target-list | grep -qx "$TARGET_TRIPLE" ||
  die "$RUSTC_BIN does not know the target $TARGET_TRIPLE (needs rustc >= 1.78)"
# The built-in target spec links with rust-lld (gnu flavour). Prefer it (it matches rustc's
# LLVM); else fall back to the lld package's ld.lld.
if [ -n "${WHOLESUM_GUEST_LINKER:-}" ]; then
  LINKER="$(command -v "$WHOLESUM_GUEST_LINKER")" || die "linker $WHOLESUM_GUEST_LINKER not found"
elif command -v rust-lld >/dev/null 2>&1; then
  LINKER="$(command -v rust-lld)"
elif command -v ld.lld >/dev/null 2>&1; then
  LINKER="$(command -v ld.lld)"
else
  need_packages "no linker: neither rust-lld (package rust-web-llvm) nor ld.lld (package lld) on PATH"
fi

# ---- the environment risc0-build 3.0.6 gives a guest build ------------------------------------
# Drop what a surrounding cargo / rustup invocation may have exported (risc0-build drops every
# CARGO* variable; here the user's cargo home, network and registry settings are kept).
while IFS='=' read -r name _; do
  case "$name" in
    CARGO_HOME | CARGO_NET_* | CARGO_HTTP_* | CARGO_REGISTRY_* | CARGO_REGISTRIES_* | CARGO_TERM_*) ;;
    CARGO*) unset "$name" ;;
  esac
done < <(env)
unset RUSTUP_TOOLCHAIN RUSTFLAGS RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER 2>/dev/null || true

US=$'\x1f'
RUSTFLAGS_LIST=(
  # The zkVM is single threaded: atomics become plain loads/stores.
  -C passes=lower-atomic
  # Where the user program is linked (the v1compat kernel lives below it).
  -C "link-arg=-Ttext=$TEXT_START"
  # A missing entry point is only a linker warning; make it an error.
  -C link-arg=--fatal-warnings
  -C panic=abort
  -C "linker=$LINKER"
  # getrandom 0.3 in the guest is served by risc0-zkvm-platform's sys_rand.
  --cfg 'getrandom_backend="custom"'
  # Not in risc0-build: keep machine-specific paths (panic locations) out of the ELF, so the image
  # ID does not depend on where cargo's home or this checkout is. The checkout's own prefix is
  # remapped for the guest crate alone (cargo rustc, below): in RUSTFLAGS it would change every
  # dependency's fingerprint, and each new clone would rebuild them all.
  --remap-path-prefix "${CARGO_HOME:-$HOME/.cargo}=/cargo"
)
ENCODED=""
for flag in "${RUSTFLAGS_LIST[@]}"; do
  ENCODED="${ENCODED:+$ENCODED$US}$flag"
done
export CARGO_ENCODED_RUSTFLAGS="$ENCODED"
export RUSTC="$RUSTC_BIN"
# -Z flags on a stable (Debian) toolchain.
export RUSTC_BOOTSTRAP=1
# Tell cargo where std's sources are (risc0-build does the same for RISC0_RUST_SRC).
export __CARGO_TESTS_ONLY_SRC_ROOT="$RUST_SRC"
# Crypto patches (none used here) look for this to enable the bigint2 accelerator.
export RISC0_FEATURE_bigint2=""
# No C cross compiler is used by these guests; if a dependency ever tries, fail loudly.
export CC_riscv32im_risc0_zkvm_elf="/no_risc0_cpp_toolchain_see_docs_guests_md"
export CFLAGS_riscv32im_risc0_zkvm_elf="-march=rv32im -nostdlib"

CARGO_ARGS=(
  rustc --release --target "$TARGET_TRIPLE" --target-dir "$TARGET_DIR"
  -Z build-std=alloc,core,proc_macro,panic_abort,std
  -Z build-std-features=compiler-builtins-mem
)
[ "${WHOLESUM_GUEST_UNLOCKED:-}" = "1" ] || CARGO_ARGS+=(--locked)
[ -z "${WHOLESUM_GUEST_JOBS:-}" ] || CARGO_ARGS+=(-j "$WHOLESUM_GUEST_JOBS")

json_str() {
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}
# `key = "value"` from a guest's [package.metadata.wholesum] table (flat string values only).
meta() {
  awk -v key="$2" '
    /^\[/ { in_t = ($0 == "[package.metadata.wholesum]"); next }
    in_t && $1 == key { sub(/^[^=]*=[ \t]*"/, ""); sub(/"[ \t]*$/, ""); print; exit }
  ' "$1"
}

# ---- build --------------------------------------------------------------------------------------
mapfile -t ALL < <(find "$GUESTS_DIR" -mindepth 2 -maxdepth 2 -name Cargo.toml -printf '%h\n' | sort)
SELECTED=("$@")
mkdir -p "$DIST"
HAVE_WORKER=0
[ -x "$WORKER" ] && HAVE_WORKER=1
[ "$HAVE_WORKER" = 1 ] ||
  echo "build-guests: no worker at $WORKER: building ELFs only (dist/*.bin kept only where still current)" >&2

selected() {
  [ "${#SELECTED[@]}" -eq 0 ] && return 0
  local s
  for s in "${SELECTED[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}
for s in "${SELECTED[@]}"; do
  [ -f "$GUESTS_DIR/$s/Cargo.toml" ] || die "no guest named $s (no $GUESTS_DIR/$s/Cargo.toml)"
done

for dir in "${ALL[@]}"; do
  name="$(basename "$dir")"
  selected "$name" || continue
  echo "build-guests: $name" >&2
  start=$(date +%s)
  (cd "$dir" && "$CARGO_BIN" "${CARGO_ARGS[@]}" -- --remap-path-prefix "$ROOT=/wholesum") ||
    die "cargo build failed for $name"
  elf="$TARGET_DIR/$TARGET_TRIPLE/release/$name"
  [ -f "$elf" ] || die "no ELF at $elf (the binary must be named like the guest directory)"
  echo "build-guests: $name: $(stat -c %s "$elf") bytes of ELF in $(($(date +%s) - start))s" >&2
done

# ---- wrap + manifest (every guest whose ELF exists, built now or before) -----------------------
ENTRIES=()
for dir in "${ALL[@]}"; do
  name="$(basename "$dir")"
  elf="$TARGET_DIR/$TARGET_TRIPLE/release/$name"
  bin="$DIST/$name.bin"
  idfile="$DIST/$name.imageid"
  if [ ! -f "$elf" ]; then
    rm -f "$bin" "$idfile"
    continue
  fi
  elf_bytes=$(stat -c %s "$elf")
  image_id=""
  if [ "$HAVE_WORKER" = 1 ]; then
    if [ ! -f "$bin" ] || [ ! -s "$idfile" ] || [ "$elf" -nt "$bin" ] || [ "$WORKER" -nt "$bin" ]; then
      image_id="$("$WORKER" wrap "$elf" "$bin.tmp" | tail -n 1 | tr -d '[:space:]')" ||
        die "worker wrap failed for $name"
      [[ "$image_id" =~ ^[0-9a-f]{64}$ ]] || die "worker wrap printed no image ID for $name: '$image_id'"
      mv -f "$bin.tmp" "$bin"
      printf '%s\n' "$image_id" >"$idfile"
      echo "build-guests: $name: dist/$name.bin, image ID $image_id" >&2
    fi
    image_id="$(tr -d '[:space:]' <"$idfile")"
  elif [ -f "$bin" ] && [ -s "$idfile" ] && [ ! "$elf" -nt "$bin" ]; then
    image_id="$(tr -d '[:space:]' <"$idfile")" # wrapped earlier, still current
  else
    rm -f "$bin" "$idfile" # stale: the ELF changed since it was wrapped
  fi

  toml="$dir/Cargo.toml"
  description="$(meta "$toml" description)"
  sample="$(meta "$toml" sample-input)"
  entry="{\"name\": $(json_str "$name"), "
  if [ -n "$image_id" ]; then
    entry+="\"program\": $(json_str "$name.bin"), \"imageId\": $(json_str "$image_id"), "
  else
    entry+="\"program\": null, \"imageId\": null, "
  fi
  entry+="\"elf\": $(json_str "$elf"), \"elfBytes\": $elf_bytes, "
  entry+="\"description\": $(json_str "$description"), "
  if [ -n "$sample" ]; then
    entry+="\"sampleInput\": $(json_str "../samples/$sample")}"
  else
    entry+="\"sampleInput\": null}"
  fi
  ENTRIES+=("$entry")
done

# Paths in the manifest are relative to dist/ (except "elf", which lies in the cargo target dir).
manifest="$DIST/manifest.json"
{
  echo '{'
  echo '  "version": 1,'
  echo "  \"target\": \"$TARGET_TRIPLE\","
  echo "  \"rustc\": $(json_str "$("$RUSTC_BIN" -V)"),"
  echo '  "guests": ['
  n=${#ENTRIES[@]}
  i=0
  for e in "${ENTRIES[@]}"; do
    i=$((i + 1))
    if [ "$i" -lt "$n" ]; then echo "    $e,"; else echo "    $e"; fi
  done
  echo '  ]'
  echo '}'
} >"$manifest.tmp"
mv -f "$manifest.tmp" "$manifest"
echo "build-guests: wrote $manifest" >&2
