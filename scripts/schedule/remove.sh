#!/usr/bin/env bash
# Removes a schedule set up by install.sh: its crontab line, then its folder (settings, the env file with
# its secrets, the scripts copy, state and logs). Waits for a run in progress to finish first. Run by the
# BackupSchedule Command on `pulumi destroy` (and when the schedule is turned off); idempotent.
# Never touches backups: they live elsewhere (HOMEIQ_BACKUP_ROOT).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-schedule
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

DIR=$(schedule_dir)
if command -v crontab >/dev/null; then
  edit_crontab "$DIR"
fi
if [[ ! -d $DIR ]]; then
  log "no schedule at $DIR; nothing to remove"
  exit 0
fi
[[ -f $DIR/.homeiq-schedule ]] || die "$EXIT_USAGE" "$DIR is not a schedule folder (no .homeiq-schedule marker); not removed"
# tick.sh holds this lock for the whole run: a run in progress finishes before its folder goes.
exec {lockfd}>>"$DIR/tick.lock"
flock "$lockfd"
rm -rf "$DIR"
log "schedule at $DIR removed"
