#!/usr/bin/env bash
# The scheduled backup job (scripts/schedule runs it): a backup (backup.sh, with its retention), then,
# when HOMEIQ_COPY_REPO is set, the off-host copy of every backup not copied yet (copy.sh). Deploy-time
# backups are copied by the next scheduled run. A failed copy fails the job (and so is reported), but
# never undoes the local backup.
# On swarm (HOMEIQ_SWARM_MANAGER set, DOCKER_HOST the data node's engine) the backup goes through
# scripts/swarm/backup.sh, which finds the stateful tasks' containers there, as the deploy-time backups do.
# Environment: everything backup.sh and copy.sh take. Exit: backup.sh's code when the backup failed
# (the copy is not tried); otherwise copy.sh's.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -n ${HOMEIQ_SWARM_MANAGER:-} ]]; then
  bash "$HERE/../swarm/backup.sh"
else
  bash "$HERE/backup.sh"
fi
if [[ -n ${HOMEIQ_COPY_REPO:-} ]]; then
  bash "$HERE/copy.sh"
else
  echo "[homeiq-backup] no off-host copy target set (HOMEIQ_COPY_REPO): this backup is on this machine only"
fi
