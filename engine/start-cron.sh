#!/usr/bin/env bash
# Starts Debian's cron daemon for the scheduled-backup tests (test/engine/backup-schedule.test.ts), or
# reuses one that runs. On the users' hosts the service manager starts cron at boot; this machine has no
# service manager. cron is installed by engine/install.sh. Never stops anything.
#
# Exit: 0 a cron daemon runs; 1 it cannot be started (reason printed).
set -euo pipefail

log() { printf '[engine/start-cron] %s\n' "$*"; }
die() { printf '[engine/start-cron] ERROR: %s\n' "$*" >&2; exit 1; }

if pgrep -x cron >/dev/null; then
  log "cron is running"
  exit 0
fi
[[ -x /usr/sbin/cron ]] || die "/usr/sbin/cron is not installed (engine/install.sh installs Debian's cron)"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "cron must be started as root (or with sudo)"
  SUDO=(sudo -n)
fi
# cron daemonizes itself and writes /run/crond.pid.
"${SUDO[@]}" /usr/sbin/cron
for _ in $(seq 1 50); do
  pgrep -x cron >/dev/null && { log "cron started"; exit 0; }
  sleep 0.1
done
die "cron did not start"
