#!/usr/bin/env bash
# Builds a real Bee (the Swarm node, Go) from the Go module proxy, for the storage-swarm tests.
#
# The tests run `bee dev` on 127.0.0.1: Bee's own HTTP API, chunk store, splitter and joiner, with
# the blockchain, postage contract and p2p network mocked inside Bee (no outside address is dialed).
# `go install …@version` refuses Bee's module (its go.mod has a replace directive), so the module
# source is downloaded from the proxy and built from a temporary copy.
#
# Usage: bash plugins/storage-swarm/scripts/install-bee.sh   (idempotent; about 3 min with a warm Go
# build cache on 2 cores, much longer cold). Env: BEE_VERSION (2.7.0), WHOLESUM_BEE_DIR.
set -euo pipefail

BEE_VERSION="${BEE_VERSION:-2.7.0}"
DEST="${WHOLESUM_BEE_DIR:-$HOME/.cache/wholesum/bee}"
BIN="$DEST/bee"

if [[ -x "$BIN" ]] && [[ "$("$BIN" version 2>/dev/null)" == "$BEE_VERSION"* ]]; then
  echo "bee $BEE_VERSION is already at $BIN"
  exit 0
fi
command -v go >/dev/null || { echo "install-bee: go is not on PATH" >&2; exit 1; }

module="github.com/ethersphere/bee/v2@v$BEE_VERSION"
dir="$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -d "$dir" ]] || { echo "install-bee: could not download $module" >&2; exit 1; }

src="$(mktemp -d)"
trap 'rm -rf "$src"' EXIT
cp -r "$dir"/. "$src"
chmod -R u+w "$src"
api="$(awk '/^  version:/ { gsub(/"/, "", $2); print $2; exit }' "$src/openapi/Swarm.yaml")"

mkdir -p "$DEST"
# -p 1 and nice: these machines have 2 cores and other builds may be running.
(cd "$src" && nice -n 19 go build -p 1 -trimpath \
  -ldflags "-s -w -X github.com/ethersphere/bee/v2.version=$BEE_VERSION -X github.com/ethersphere/bee/v2/pkg/api.Version=$api" \
  -o "$BIN.tmp" ./cmd/bee)
mv "$BIN.tmp" "$BIN"
echo "built $("$BIN" version) at $BIN (API $api)"
