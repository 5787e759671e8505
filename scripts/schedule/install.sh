#!/usr/bin/env bash
# Sets up (or updates) one scheduled job of a stack on this host, run by the program's BackupSchedule
# Command at `pulumi up` and usable by hand. The job then runs with no Pulumi running: the user's
# crontab runs scripts/schedule/tick.sh every minute, which runs the job when its time (or a time
# missed while the host was off) has come. Contract: README.md here.
#
# Writes into HOMEIQ_SCHEDULE_DIR (mode 0700):
#   schedule   the job's settings (no secrets)
#   env        the job's environment, mode 0600: every HOMEIQ_* variable given here except
#              HOMEIQ_SCHEDULE_* and HOMEIQ_TEST_*, plus PATH and DOCKER_HOST (secrets included:
#              the job needs them with no Pulumi around; owner-only, like the backups themselves)
#   scripts/   a copy of the repository's scripts/ (the job never depends on where the checkout is)
#   state      last_slot / last_failure (kept when the schedule is unchanged)
# and one line into the user's crontab, marked `# homeiq-schedule <dir>`.
# Never add `set -x` here: the environment holds secrets.
set -euo pipefail
umask 077

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-schedule
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

DIR=$(schedule_dir)
JOB=${HOMEIQ_SCHEDULE_JOB:-}
[[ $JOB =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_JOB must be a job name of lower-case letters, digits and - (got '$JOB')"
STACK=${HOMEIQ_SCHEDULE_STACK:-}
[[ $STACK =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_STACK must be a stack name (got '$STACK')"
WHEN=${HOMEIQ_SCHEDULE_WHEN:-}
if [[ $WHEN == off ]]; then
  # Turned off: whatever was installed for this folder goes.
  log "$JOB of stack '${HOMEIQ_SCHEDULE_STACK:-?}' is off"
  exec bash "$HERE/remove.sh"
fi
valid_when "$WHEN" ||
  die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_WHEN must be 'daily HH:MM', 'monthly D HH:MM' (D 1-28), 'every N' (minutes, 1-1440) or off (got '$WHEN')"
COMMAND=${HOMEIQ_SCHEDULE_COMMAND:-}
[[ $COMMAND =~ ^[a-z0-9-]+/[A-Za-z0-9_.-]+\.sh$ && -f $HERE/../$COMMAND ]] ||
  die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_COMMAND must name a script under scripts/, such as backup/backup.sh (got '$COMMAND')"
RETRY=${HOMEIQ_SCHEDULE_RETRY_MINUTES:-60}
[[ $RETRY =~ ^[1-9][0-9]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_RETRY_MINUTES must be a positive integer (got '$RETRY')"
LATE=${HOMEIQ_SCHEDULE_LATE_MINUTES:-60}
[[ $LATE =~ ^[1-9][0-9]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_LATE_MINUTES must be a positive integer (got '$LATE')"
case ${DOCKER_HOST:-} in
  "" | unix://*) ;;
  # The job runs where this script runs; with a remote engine that is not the Docker host, which
  # may be off when this machine is (a laptop). Refused rather than half-working.
  *)
    # On swarm the job reaches the data node's engine (DOCKER_HOST, ssh:// as the deploy-time backups do)
    # from the manager: this machine must be the manager (HOMEIQ_SWARM_MANAGER local), which runs with the swarm.
    [[ ${HOMEIQ_SWARM_MANAGER:-} == unix://* ]] ||
      die "$EXIT_USAGE" "a schedule runs on the machine that runs 'pulumi up'; with DOCKER_HOST=${DOCKER_HOST%%://*}://... that is not the Docker host${HOMEIQ_SWARM_MANAGER:+ nor the swarm manager}. Run pulumi on the Docker host${HOMEIQ_SWARM_MANAGER:+ (on swarm: the manager)}, or turn the schedule off"
    ;;
esac
# Every ssh:// engine the job reaches: its DOCKER_HOST, and on swarm the watch's data node and nodes.
ssh_engines=()
for engine in "${DOCKER_HOST:-}" "${HOMEIQ_WATCH_SWARM_DATA_HOST:-}" ${HOMEIQ_WATCH_SWARM_NODES:-}; do
  engine=${engine#*=} # a HOMEIQ_WATCH_SWARM_NODES entry is hostname=engine
  if [[ $engine == ssh://* && " ${ssh_engines[*]} " != *" $engine "* ]]; then ssh_engines+=("$engine"); fi
done
for engine in "${ssh_engines[@]}"; do
  # cron runs the job with no ssh agent and no terminal: a login that works here through the agent (or
  # by asking for a passphrase) would fail at every run. Tried now as cron will try it, before anything changes.
  if ! err=$(env -u SSH_AUTH_SOCK -u SSH_ASKPASS -u DISPLAY DOCKER_HOST="$engine" setsid -w timeout 60 docker version --format '{{.Server.Version}}' </dev/null 2>&1 >/dev/null); then
    die "$EXIT_HOST" "the $JOB job reaches the engine $engine through ssh from cron, which has no ssh agent and no terminal, and that way the engine does not answer: ${err##*$'\n'}. Fix: give this user a key for that login that needs neither (IdentityFile in ~/.ssh/config, the host's key in ~/.ssh/known_hosts; check with: env -u SSH_AUTH_SOCK setsid -w ssh -o BatchMode=yes $engine true), or turn the schedule off; nothing was changed"
  fi
done
command -v crontab >/dev/null ||
  die "$EXIT_HOST" "crontab is not on PATH: scheduled jobs run from the user's crontab (Debian/Ubuntu: sudo apt-get install cron); nothing was changed"
command -v flock >/dev/null || die "$EXIT_HOST" "flock (util-linux) is not on PATH; nothing was changed"

mkdir -p "$DIR"
chmod 0700 "$DIR"
: >"$DIR/.homeiq-schedule" # marks the folder as a schedule's, so remove.sh deletes nothing else

# The job's environment, one `export NAME=<quoted value>` per line, written to a new file and renamed.
tmp=$(mktemp "$DIR/.env.XXXXXX")
{
  printf 'export PATH=%q\n' "$PATH"
  [[ -z ${DOCKER_HOST:-} ]] || printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
  while IFS= read -r name; do
    case $name in HOMEIQ_SCHEDULE_* | HOMEIQ_TEST_* | HOMEIQ_NOW) continue ;; esac
    printf 'export %s=%q\n' "$name" "${!name}"
  done < <(compgen -e | grep '^HOMEIQ_' | LC_ALL=C sort)
} >"$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$DIR/env"

# A private copy of scripts/: the job keeps working when the checkout moves or changes.
rm -rf "$DIR/scripts.new"
cp -R "$HERE/.." "$DIR/scripts.new"
rm -rf "$DIR/scripts"
mv "$DIR/scripts.new" "$DIR/scripts"

previous_when=$(sed -n 's/^when=//p' "$DIR/schedule" 2>/dev/null || true)
{
  printf 'job=%s\nstack=%s\nwhen=%s\ncommand=%s\nretry_minutes=%s\nlate_minutes=%s\n' "$JOB" "$STACK" "$WHEN" "$COMMAND" "$RETRY" "$LATE"
} >"$DIR/schedule"
# The first run is the next time due from now, not one for a time before the schedule existed; an
# unchanged schedule keeps its state, so a run that is due (or was missed) stays due.
if [[ $previous_when != "$WHEN" || ! -f $DIR/state ]]; then
  printf 'last_slot=%s\nlast_failure=0\n' "$(slot_of "$WHEN" "$(date +%s)")" >"$DIR/state"
fi

edit_crontab "$DIR" "* * * * * HOMEIQ_SCHEDULE_DIR=$DIR /bin/bash $DIR/scripts/schedule/tick.sh >>$DIR/tick.log 2>&1 $(cron_marker "$DIR")"
if ! pgrep -x cron >/dev/null 2>&1 && ! pgrep -x crond >/dev/null 2>&1; then
  warn "no cron daemon is running on this host: the schedule is installed but will not run until cron runs (Debian/Ubuntu: sudo systemctl enable --now cron)"
fi
log "$JOB of stack '$STACK' scheduled ($WHEN, host time $(date +%Z)); folder $DIR"
