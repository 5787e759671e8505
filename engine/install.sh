#!/usr/bin/env bash
# Installs a real Docker engine (Debian bookworm's docker.io) and the tools the
# locally built stand-in images need (busybox-static, debootstrap).
#
# Idempotent: packages already installed are skipped; `apt-get update` runs at
# most once per invocation and only when something must be installed.
# Needs root (or passwordless sudo) and Debian's package mirror.
#
# Usage: engine/install.sh            (no arguments, no environment needed)
# Exit:  0 installed or already present; 1 cannot install (reason printed).
set -euo pipefail

log() { printf '[engine/install] %s\n' "$*"; }
die() { printf '[engine/install] ERROR: %s\n' "$*" >&2; exit 1; }

# Package -> command proving it is usable. docker.io ships dockerd; the client
# may already be a newer standalone binary (/usr/local/bin/docker), which works
# with this engine (it lowers its API version), so only dockerd is required.
PACKAGES=(docker.io busybox-static debootstrap)

is_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  if is_installed "$pkg"; then
    log "$pkg: already installed"
  else
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  command -v dockerd >/dev/null || die "docker.io is installed but dockerd is not on PATH"
  log "nothing to install"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "must run as root (or with sudo) to install: ${missing[*]}"
  SUDO=(sudo -n)
fi
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 (bookworm) only"

export DEBIAN_FRONTEND=noninteractive
log "installing: ${missing[*]} (apt-get update first)"
if ! "${SUDO[@]}" apt-get update -q >/tmp/homeiq-engine-apt-update.log 2>&1; then
  tail -n 20 /tmp/homeiq-engine-apt-update.log >&2 || true
  die "apt-get update failed (is Debian's package mirror reachable?); see above"
fi
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
  >/tmp/homeiq-engine-apt-install.log 2>&1; then
  tail -n 30 /tmp/homeiq-engine-apt-install.log >&2 || true
  die "apt-get install ${missing[*]} failed; see above"
fi

for pkg in "${missing[@]}"; do
  is_installed "$pkg" || die "$pkg is still not installed after apt-get install"
done
command -v dockerd >/dev/null || die "dockerd not on PATH after installing docker.io"
log "installed: ${missing[*]} ($(dockerd --version))"
