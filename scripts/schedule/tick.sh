#!/usr/bin/env bash
# Run every minute by the user's crontab (install.sh put the line there): runs the schedule's job when it
# is due, otherwise does nothing and prints nothing. Also safe to run by hand.
#
# Due = the newest time the schedule names (its slot) is later than the slot of the last successful run.
# So a time missed while the host was off (or cron was stopped) runs at the first tick after, once,
# however many times were missed; a failed run is retried every retry_minutes (not every minute).
# Every run is recorded (runs.log, last-run.json, runs/<start>.log); a failed run, and a run that starts
# more than late_minutes after its time, are reported through scripts/notify/notify.sh.
#
# HOMEIQ_SCHEDULE_DIR (required) names the schedule's folder. HOMEIQ_NOW=<epoch seconds> replaces the
# clock (tests); it is not passed to the job.
set -euo pipefail
umask 077

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-schedule
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

DIR=$(schedule_dir)
[[ -f $DIR/schedule && -f $DIR/env && -f $DIR/state ]] || die "$EXIT_USAGE" "$DIR holds no installed schedule (run install.sh)"
NOW_OVERRIDE=${HOMEIQ_NOW:-}
[[ -z $NOW_OVERRIDE || $NOW_OVERRIDE =~ ^[0-9]+$ ]] || die "$EXIT_USAGE" "HOMEIQ_NOW must be epoch seconds (got '$NOW_OVERRIDE')"
now() { if [[ -n $NOW_OVERRIDE ]]; then echo "$NOW_OVERRIDE"; else date +%s; fi; }

setting() { sed -n "s/^$1=//p" "$DIR/schedule"; }
JOB=$(setting job) STACK=$(setting stack) WHEN=$(setting when) COMMAND=$(setting command)
RETRY=$(setting retry_minutes) LATE=$(setting late_minutes)
valid_when "$WHEN" || die "$EXIT_USAGE" "$DIR/schedule: when='$WHEN' is not a schedule"

# One tick at a time: a job that runs longer than a minute is not started again by the next tick.
exec {lockfd}>>"$DIR/tick.lock"
flock -n "$lockfd" || exit 0

last_slot=$(sed -n 's/^last_slot=//p' "$DIR/state")
last_failure=$(sed -n 's/^last_failure=//p' "$DIR/state")
start=$(now)
slot=$(slot_of "$WHEN" "$start")
((slot > ${last_slot:-0})) || exit 0
if ((${last_failure:-0} > 0 && start - last_failure < RETRY * 60)); then exit 0; fi

mkdir -p "$DIR/runs"
run_id=$(date -u -d "@$start" +%Y%m%dT%H%M%SZ)
run_log=$DIR/runs/$run_id.log
late_by=$((start - slot))
log "$JOB of stack '$STACK': running the run due at $(iso "$slot") (log: $run_log)"

# The job gets the environment install.sh saved, in a fresh bash; not HOMEIQ_NOW, not our own variables.
rc=0
env -u HOMEIQ_NOW -u HOMEIQ_SCHEDULE_DIR bash -c 'source "$1/env" && exec bash "$1/scripts/$2"' job "$DIR" "$COMMAND" \
  </dev/null >"$run_log" 2>&1 || rc=$?
end=$(now)

if ((rc == 0)); then
  result=ok
  printf 'last_slot=%s\nlast_failure=0\n' "$slot" >"$DIR/state.new"
else
  result=failed
  printf 'last_slot=%s\nlast_failure=%s\n' "${last_slot:-0}" "$start" >"$DIR/state.new"
fi
mv -f "$DIR/state.new" "$DIR/state"

json_esc() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; printf '%s' "$s"; }
printf '%s %s due=%s result=%s exit=%d seconds=%d log=%s\n' "$(iso "$start")" "$JOB" "$(iso "$slot")" "$result" "$rc" $((end - start)) "$run_log" >>"$DIR/runs.log"
# Written whole and renamed, after runs.log: whoever sees last-run.json sees the run's whole record. The
# notification below comes after it; the tick is over when tick.lock is free.
printf '{"job": "%s", "stack": "%s", "due": "%s", "started": "%s", "finished": "%s", "result": "%s", "exitCode": %d, "log": "%s"}\n' \
  "$JOB" "$(json_esc "$STACK")" "$(iso "$slot")" "$(iso "$start")" "$(iso "$end")" "$result" "$rc" "$(json_esc "$run_log")" >"$DIR/last-run.json.new"
mv -f "$DIR/last-run.json.new" "$DIR/last-run.json"
# The newest 30 run logs are kept.
mapfile -t old_logs < <(find "$DIR/runs" -maxdepth 1 -name '*.log' -printf '%f\n' | LC_ALL=C sort | head -n -30)
for f in "${old_logs[@]}"; do rm -f "$DIR/runs/$f"; done

notify() { # <title> <message>: through notify.sh with the job's environment (HOMEIQ_HA_URL, ...)
  if ! env -u HOMEIQ_NOW HOMEIQ_NOTIFY_TITLE="$1" HOMEIQ_NOTIFY_MESSAGE="$2" HOMEIQ_NOTIFY_ID="homeiq_${JOB//-/_}_${STACK//[^A-Za-z0-9]/_}" \
    bash -c 'source "$1/env" && exec bash "$1/scripts/notify/notify.sh"' notify "$DIR"; then
    warn "the notification could not be delivered: $1"
  fi
}
if [[ $result == failed ]]; then
  # The job's last lines say what failed; the scripts never print secrets.
  log "$JOB of stack '$STACK' FAILED (exit $rc); see $run_log"
  notify "HomeIQ $JOB of stack '$STACK' failed" \
    "The scheduled $JOB due at $(iso "$slot") failed (exit $rc) on $(uname -n); retried in $RETRY minutes. Last lines of $run_log:
$(tail -n 12 "$run_log")"
  exit 1
fi
log "$JOB of stack '$STACK': done"
if ((late_by > LATE * 60)); then
  notify "HomeIQ $JOB of stack '$STACK' ran late" \
    "The scheduled $JOB due at $(iso "$slot") did not run at its time (the host was off, or cron was not running); it ran at $(iso "$start") and succeeded."
fi
