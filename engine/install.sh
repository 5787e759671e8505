#!/usr/bin/env bash
# Installs a real Docker Engine >= 25 for the tests: Debian 13 (trixie)'s docker.io 26.1 with its CLI
# plugins (buildx, compose v2), containerd and tini, extracted from Debian's mirror into one folder
# ($HOMEIQ_ENGINE_DIR, default /opt/homeiq-docker-26). Nothing of trixie is installed into the system:
# its packages are downloaded with a private apt configuration and unpacked with `dpkg-deb -x`.
# Debian 12's own docker.io (20.10) cannot be used: the program's health checks rely on the start
# interval, which needs API 1.44 (Engine 25).
#
# From Debian 12 (bookworm) itself, with apt: runc (trixie's needs a newer libc), iptables,
# busybox-static and debootstrap (the stand-in images), curl (engine/start.sh pings with it; the notifier
# posts with it), cron (scheduled backups run from the user's crontab; engine/start-cron.sh starts the
# daemon), restic and openssh-client (off-host copies of backups), openssh-server (the tests of ssh://
# Docker hosts run their own sshd, with its own config and keys: test/engine/sshd.ts).
#
# Also links the buildx and compose plugins into /usr/local/lib/docker/cli-plugins (so any docker
# CLI on PATH has `docker buildx` and `docker compose`), and links the docker CLI into /usr/local/bin
# when no docker CLI is on PATH.
#
# Idempotent: bookworm packages already installed are skipped; the trixie folder is kept when its
# stamp file names the same package versions. `apt-get update` runs only when something is missing.
# Needs root (or passwordless sudo) and Debian's package mirror.
#
# Usage: engine/install.sh          Environment (optional): HOMEIQ_ENGINE_DIR, HOMEIQ_DEBIAN_MIRROR
# Exit:  0 installed or already present; 1 cannot install (reason printed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=engine/engine-env.sh
source "$HERE/engine-env.sh"

log() { printf '[engine/install] %s\n' "$*"; }
die() { printf '[engine/install] ERROR: %s\n' "$*" >&2; exit 1; }

BOOKWORM_PACKAGES=(runc iptables busybox-static debootstrap curl ca-certificates cron restic openssh-client openssh-server)
TRIXIE_PACKAGES=(docker.io docker-cli docker-buildx docker-compose containerd tini)

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "must run as root (or with sudo)"
  SUDO=(sudo -n)
fi
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 (bookworm) only"
export DEBIAN_FRONTEND=noninteractive

# --- bookworm packages -------------------------------------------------------------------------------
is_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
missing=()
for pkg in "${BOOKWORM_PACKAGES[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
if ((${#missing[@]} > 0)); then
  log "installing from bookworm: ${missing[*]} (apt-get update first)"
  if ! "${SUDO[@]}" apt-get update -q >/tmp/homeiq-engine-apt-update.log 2>&1; then
    tail -n 20 /tmp/homeiq-engine-apt-update.log >&2 || true
    die "apt-get update failed (is Debian's package mirror reachable?); see above"
  fi
  if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/tmp/homeiq-engine-apt-install.log 2>&1; then
    tail -n 30 /tmp/homeiq-engine-apt-install.log >&2 || true
    die "apt-get install ${missing[*]} failed; see above"
  fi
  for pkg in "${missing[@]}"; do is_installed "$pkg" || die "$pkg is still not installed after apt-get install"; done
else
  log "bookworm packages present: ${BOOKWORM_PACKAGES[*]}"
fi

# --- trixie engine, unpacked into $ENGINE_DIR ------------------------------------------------------------
mirror=${HOMEIQ_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(grep -h -o -E 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 1p | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r $keyring ]] || die "$keyring not found (package debian-archive-keyring)"

APT=$(mktemp -d /tmp/homeiq-trixie-apt.XXXXXX)
trap 'rm -rf "$APT"' EXIT
mkdir -p "$APT"/etc/{sources.list.d,preferences.d,apt.conf.d} "$APT"/state/lists/partial "$APT"/cache/archives/partial
printf 'deb [signed-by=%s] %s trixie main\n' "$keyring" "$mirror" >"$APT/etc/sources.list"
: >"$APT/state/status"
apt_opts=(-o "Dir::Etc=$APT/etc" -o "Dir::State=$APT/state" -o "Dir::State::status=$APT/state/status"
  -o "Dir::Cache=$APT/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

log "reading trixie's package index from $mirror"
if ! apt-get "${apt_opts[@]}" update -q >"$APT/update.log" 2>&1; then
  # Offline but already unpacked: keep what is there.
  if [[ -x $ENGINE_DIR/usr/sbin/dockerd && -f $ENGINE_DIR/.homeiq-stamp ]]; then
    log "cannot reach trixie's index; keeping the engine already in $ENGINE_DIR"
    exit 0
  fi
  tail -n 20 "$APT/update.log" >&2 || true
  die "apt-get update of trixie from $mirror failed; see above"
fi
wanted=$(apt-cache "${apt_opts[@]}" policy "${TRIXIE_PACKAGES[@]}" | awk '/^[a-z]/{p=$1} /Candidate:/{print p, $2}')
[[ $(wc -l <<<"$wanted") -eq ${#TRIXIE_PACKAGES[@]} && $wanted != *"(none)"* ]] ||
  die "trixie does not offer all of ${TRIXIE_PACKAGES[*]}:"$'\n'"$wanted"

if [[ -f $ENGINE_DIR/.homeiq-stamp && $(cat "$ENGINE_DIR/.homeiq-stamp") == "$wanted" && -x $ENGINE_DIR/usr/sbin/dockerd ]]; then
  log "engine in $ENGINE_DIR is current"
else
  log "downloading from trixie: ${TRIXIE_PACKAGES[*]}"
  if ! (cd "$APT/cache/archives" && apt-get "${apt_opts[@]}" download "${TRIXIE_PACKAGES[@]}") >"$APT/download.log" 2>&1; then
    tail -n 20 "$APT/download.log" >&2 || true
    die "apt-get download from trixie failed; see above"
  fi
  staging="$ENGINE_DIR.new"
  rm -rf "$staging"
  mkdir -p "$staging"
  for deb in "$APT"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$staging"; done
  printf '%s\n' "$wanted" >"$staging/.homeiq-stamp"
  rm -rf "$ENGINE_DIR"
  mv "$staging" "$ENGINE_DIR"
  log "unpacked into $ENGINE_DIR"
fi

# docker-init is a relative link to tini-static: the unpacked tini provides it.
[[ -x $ENGINE_DIR/usr/bin/docker-init ]] || die "$ENGINE_DIR/usr/bin/docker-init does not resolve (tini missing)"
"$ENGINE_DIR/usr/sbin/dockerd" --version >/dev/null 2>&1 || die "$ENGINE_DIR/usr/sbin/dockerd does not run on this machine"

mkdir -p /usr/local/lib/docker/cli-plugins
for plugin in docker-buildx docker-compose; do
  ln -sfn "$ENGINE_DIR/usr/libexec/docker/cli-plugins/$plugin" "/usr/local/lib/docker/cli-plugins/$plugin"
done
if ! command -v docker >/dev/null; then
  ln -sfn "$ENGINE_DIR/usr/bin/docker" /usr/local/bin/docker
  log "no docker CLI on PATH: linked /usr/local/bin/docker to the engine's CLI"
fi
log "ready: $("$ENGINE_DIR/usr/sbin/dockerd" --version); $(docker buildx version 2>/dev/null | cut -d' ' -f1-2); $(docker compose version 2>/dev/null)"
