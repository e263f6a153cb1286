#!/usr/bin/env bash
# Makes a Docker-compatible container engine available: Docker if it answers, else Podman's API
# service on $WHOLESUM_CONTAINER_SOCKET (installed and started here if needed). Prints the socket.
source "$(dirname "$0")/lib.sh"
SOCK="${WHOLESUM_CONTAINER_SOCKET:-/run/wholesum/podman.sock}"
ping() { curl -sf --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

if ping "$SOCK"; then echo "$SOCK"; exit 0; fi
if [ -z "${WHOLESUM_CONTAINER_SOCKET:-}" ] && ping /var/run/docker.sock; then echo /var/run/docker.sock; exit 0; fi

ensure_debian_packages podman runc curl
# crun fails on this machine's cgroup setup and the default ulimits are refused: use runc and
# no default ulimits (both verified on these machines). Kept in our own file, not /etc.
export CONTAINERS_CONF="$WHOLESUM_CACHE/containers.conf"
mkdir -p "$WHOLESUM_CACHE" "$(dirname "$SOCK")"
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF
say "starting podman system service on $SOCK"
# From the cache folder: conmon writes an `oom` marker file into its working directory when a
# container is killed for memory, and the service's children inherit this one. Only the service
# itself goes to the background, with every standard stream away from ours: callers read this
# script through $(...), which waits until nothing holds its pipe open.
(
  cd "$WHOLESUM_CACHE" || exit 1
  nohup podman system service --time=0 "unix://$SOCK" < /dev/null > "$WHOLESUM_CACHE/podman-service.log" 2>&1 &
)
for _ in $(seq 1 50); do
  ping "$SOCK" && { echo "$SOCK"; exit 0; }
  sleep 0.2
done
die "podman service did not answer on $SOCK (see $WHOLESUM_CACHE/podman-service.log)"
