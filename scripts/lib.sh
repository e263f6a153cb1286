# Shared by the project's scripts: paths, logging, and the Node 24 the project runs on.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WHOLESUM_CACHE="${WHOLESUM_CACHE:-$HOME/.cache/wholesum}"
export CARGO_TARGET_DIR_WORKER="$WHOLESUM_CACHE/cargo-target"
NODE="$ROOT/node_modules/.bin/node"
say() { printf '\033[1m[wholesum]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[wholesum] error:\033[0m %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi; }
# Installs the Debian packages not yet installed (apt-get update only when something is missing).
ensure_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}" >/dev/null
}
