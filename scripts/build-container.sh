#!/usr/bin/env bash
# Builds the risc0 worker image from the project's own files: the release worker binary and the
# shared libraries it links (found with ldd), on an empty base. Skips when the image already holds
# this exact binary and recipe (a label records their sha256).
source "$(dirname "$0")/lib.sh"
SOCK="$(bash "$ROOT/scripts/podman-service.sh")"
export CONTAINERS_CONF="$WHOLESUM_CACHE/containers.conf"
IMAGE="${WHOLESUM_WORKER_IMAGE:-localhost/wholesum-risc0-worker:0.1.0}"
BIN="$CARGO_TARGET_DIR_WORKER/release/wholesum-risc0-worker"
[ -x "$BIN" ] || die "no worker at $BIN: run scripts/build-worker.sh first"
sum="$(cat "$BIN" "$ROOT/resources/container/Containerfile" "$0" | sha256sum | cut -c1-64)"

engine=(podman)
[ "$SOCK" = /var/run/docker.sock ] && engine=(docker)
current="$("${engine[@]}" image inspect --format '{{ index .Labels "network.wholesum.worker-sha256" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$current" = "$sum" ]; then
  say "image $IMAGE is current"
  exit 0
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/rootfs/usr/local/bin" "$stage/rootfs/work" "$stage/rootfs/tmp" "$stage/rootfs/etc"
cp "$BIN" "$stage/rootfs/usr/local/bin/"
# The binary's shared libraries, at the paths the loader expects.
ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
  mkdir -p "$stage/rootfs$(dirname "$lib")"
  cp -L "$lib" "$stage/rootfs$lib"
done
printf 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$stage/rootfs/etc/passwd"
cp "$ROOT/resources/container/Containerfile" "$stage/Containerfile"
say "building image $IMAGE"
"${engine[@]}" build -q --label "network.wholesum.worker-sha256=$sum" -t "$IMAGE" -f "$stage/Containerfile" "$stage" >/dev/null
say "image $IMAGE built ($(du -sh "$stage/rootfs" | cut -f1))"
