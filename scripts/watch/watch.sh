#!/usr/bin/env bash
# The watch between deploys: run by the host scheduler (scripts/schedule/tick.sh) every few minutes on
# the Docker host, it checks the running stack against the review's criteria, as `npm run status`
# does, and tells the user through scripts/notify/notify.sh when a service stays down or unhealthy, a
# criterion stays broken, or a disk passes its threshold: ONE notice per problem when it has lasted its
# grace time, and ONE when it clears. A state file remembers what was seen and what was told. Contract
# in README.md here.
#
# Never add `set -x`: the notifier's secrets are in this script's environment.
set -euo pipefail
export LC_ALL=C
umask 077

readonly TAG='[homeiq-watch]'
readonly EXIT_USAGE=2 EXIT_TOOL=3
HERE=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
log() { printf '%s %s\n' "$TAG" "$*"; }
die() {
  local code=$1
  shift
  printf '%s ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}

# --- environment ---------------------------------------------------------------------------
int_var() { # <NAME> <default> <min> <max>
  local name=$1 v
  v=${!name:-$2}
  [[ $v =~ ^[0-9]{1,7}$ ]] && ((10#$v >= $3 && 10#$v <= $4)) ||
    die "$EXIT_USAGE" "environment variable $name='$v' is malformed: expected a whole number from $3 to $4"
  printf '%d' "$((10#$v))"
}

STACK=${HOMEIQ_WATCH_STACK:-}
[[ $STACK =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_WATCH_STACK='$STACK' is malformed: expected the stack's name ([a-z0-9][a-z0-9-]*)"
STATE=${HOMEIQ_WATCH_STATE_FILE:-}
[[ $STATE == /* || $STATE == '~/'* ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_WATCH_STATE_FILE='$STATE' is malformed: expected an absolute path or ~/... (where the watch remembers what it told)"
STATE=${STATE/#\~/$HOME}
# On swarm (scripts/watch/swarm.sh): the stack's services through the manager instead of containers.
read -r -d '' -a SWARM_SERVICES <<<"${HOMEIQ_WATCH_SWARM_SERVICES:-}" || true
if ((${#SWARM_SERVICES[@]} > 0)); then
  for c in "${SWARM_SERVICES[@]}"; do
    [[ $c =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_WATCH_SWARM_SERVICES entry '$c' is not a service name ([a-z0-9][a-z0-9_.-]*)"
  done
  SWARM_DATA_NODE=${HOMEIQ_WATCH_SWARM_DATA_NODE:-}
  [[ $SWARM_DATA_NODE =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_WATCH_SWARM_DATA_NODE='$SWARM_DATA_NODE' is malformed: expected the data node's hostname"
  SWARM_DATA_HOST=${HOMEIQ_WATCH_SWARM_DATA_HOST:-}
  [[ $SWARM_DATA_HOST =~ ^(unix|ssh|tcp)://[^[:space:]]+$ ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_WATCH_SWARM_DATA_HOST='$SWARM_DATA_HOST' is malformed: expected the data node's engine (unix://, ssh:// or tcp://)"
  read -r -d '' -a SWARM_VOLUME_MOUNTS <<<"${HOMEIQ_WATCH_SWARM_VOLUME_MOUNTS:-}" || true
  for c in "${SWARM_VOLUME_MOUNTS[@]}"; do
    [[ $c =~ ^[a-z0-9][a-z0-9_.-]*:/[^[:space:]]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_WATCH_SWARM_VOLUME_MOUNTS entry '$c' is not service:/path"
  done
  read -r -d '' -a SWARM_NODES <<<"${HOMEIQ_WATCH_SWARM_NODES:-}" || true
  for c in "${SWARM_NODES[@]}"; do
    [[ $c =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*=(unix|ssh|tcp)://[^[:space:]]+$ ]] || die "$EXIT_USAGE" "HOMEIQ_WATCH_SWARM_NODES entry '$c' is not hostname=engine (unix://, ssh:// or tcp://)"
  done
  CONTAINERS=()
else
  [[ ${HOMEIQ_WATCH_CONTAINERS:-} =~ [^[:space:]] ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_WATCH_CONTAINERS is required: the stack's container names, space-separated"
  read -r -d '' -a CONTAINERS <<<"$HOMEIQ_WATCH_CONTAINERS" || true
  for c in "${CONTAINERS[@]}"; do
    [[ $c =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_WATCH_CONTAINERS entry '$c' is not a container name ([a-z0-9][a-z0-9_.-]*)"
  done
fi
DOWN_MINUTES=$(int_var HOMEIQ_WATCH_DOWN_MINUTES 5 0 10080)
CRITERION_MINUTES=$(int_var HOMEIQ_WATCH_CRITERION_MINUTES 30 0 10080)
MAX_LATENCY_MS=$(int_var HOMEIQ_WATCH_MAX_LATENCY_MS 100 1 600000)
MEMORY_PERCENT=$(int_var HOMEIQ_WATCH_MEMORY_PERCENT 70 1 100)
CPU_PERCENT=$(int_var HOMEIQ_WATCH_CPU_PERCENT 50 1 100000)
DISK_PERCENT=$(int_var HOMEIQ_WATCH_DISK_PERCENT 90 1 100)
read -r -d '' -a DISK_PATHS <<<"${HOMEIQ_WATCH_DISK_PATHS:-}" || true
for p in "${DISK_PATHS[@]}"; do
  [[ $p == /* || $p == '~' || $p == '~/'* ]] || die "$EXIT_USAGE" "HOMEIQ_WATCH_DISK_PATHS entry '$p' is not an absolute path"
done
NOW_OVERRIDE=${HOMEIQ_NOW:-}
[[ -z $NOW_OVERRIDE || $NOW_OVERRIDE =~ ^[0-9]+$ ]] || die "$EXIT_USAGE" "HOMEIQ_NOW must be epoch seconds (got '$NOW_OVERRIDE')"
SILENCE=${HOMEIQ_WATCH_SILENCE_FILE:-$STATE.silence}
command -v docker >/dev/null || die "$EXIT_TOOL" "docker is not on PATH (the watch asks the engine)"
[[ -n ${DOCKER_HOST:-} ]] || unset DOCKER_HOST
NOW=${NOW_OVERRIDE:-$(date +%s)}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/homeiq-watch.XXXXXX") || die "$EXIT_TOOL" "cannot create a temporary folder"
trap 'rm -rf -- "$WORK"' EXIT

# --- measure: every problem now, as `id<TAB>kind<TAB>message` ------------------------------------
# kind: down (grace DOWN_MINUTES), slow/errors/memory/cpu (grace CRITERION_MINUTES), disk (at once).
PROBLEMS=$WORK/problems
: >"$PROBLEMS"
problem() { printf '%s:%s\t%s\t%s\n' "$1" "$2" "$1" "$3" >>"$PROBLEMS"; }

# shellcheck source=scripts/validate/error-lines.sh
source "$HERE/../validate/error-lines.sh"

# pct_x100 <"12.34%"> -> 1234 (hundredths of a percent)
pct_x100() {
  local t=${1%\%} whole frac
  [[ $t =~ ^([0-9]+)(\.([0-9]+))?$ ]] || {
    echo -1
    return
  }
  whole=${BASH_REMATCH[1]} frac="${BASH_REMATCH[3]}00"
  echo $((10#$whole * 100 + 10#${frac:0:2}))
}

if ! engine=$(docker version --format '{{.Server.Version}}' 2>&1); then
  problem down engine "the Docker engine${DOCKER_HOST:+ at $DOCKER_HOST} does not answer: ${engine//$'\n'/ }"
elif ((${#SWARM_SERVICES[@]} > 0)); then
  # shellcheck source=scripts/watch/swarm.sh
  source "$HERE/swarm.sh"
  measure_swarm
else
  declare -A STATE_OF=() HEALTH_OF=() STARTED_OF=() CPUS_OF=()
  out=$(docker inspect --type container --format '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.StartedAt}} {{.HostConfig.NanoCpus}}' "${CONTAINERS[@]}" 2>/dev/null) || true
  while read -r name st health started cpus; do
    [[ -n ${name:-} ]] || continue
    name=${name#/}
    STATE_OF[$name]=$st HEALTH_OF[$name]=$health STARTED_OF[$name]=$started CPUS_OF[$name]=$cpus
  done <<<"$out"
  RUNNING=()
  for c in "${CONTAINERS[@]}"; do
    st=${STATE_OF[$c]:-missing}
    if [[ $st == missing ]]; then
      problem down "$c" "$c does not exist"
    elif [[ $st != running ]]; then
      problem down "$c" "$c is $st"
    else
      RUNNING+=("$c")
      [[ ${HEALTH_OF[$c]} == healthy ]] || problem down "$c" "$c is running but ${HEALTH_OF[$c]/#none/without a health check}"
    fi
  done

  # Memory and CPU against each container's limits (docker stats: CPU in % of one CPU).
  if ((${#RUNNING[@]} > 0)); then
    stats=$(docker stats --no-stream --format '{{.Name}} {{.MemPerc}} {{.CPUPerc}}' "${RUNNING[@]}" 2>/dev/null) || stats=''
    while read -r name mem cpu; do
      [[ -n ${name:-} ]] || continue
      m=$(pct_x100 "$mem") u=$(pct_x100 "$cpu")
      ((m < MEMORY_PERCENT * 100)) || problem memory "$name" "$name uses $mem of its memory limit (criterion: under $MEMORY_PERCENT %)"
      nano=${CPUS_OF[$name]:-0}
      if ((nano > 0 && u >= 0)); then
        of_limit=$((u * 1000000000 / nano)) # hundredths of a percent of its CPU limit
        ((of_limit < CPU_PERCENT * 100)) ||
          problem cpu "$name" "$name uses $((of_limit / 100)).$(printf '%02d' $((of_limit % 100))) % of its CPU limit (criterion: under $CPU_PERCENT %)"
      fi
    done <<<"$stats"
  fi

  # Error lines since each container started.
  for c in "${RUNNING[@]}"; do
    docker logs --since "${STARTED_OF[$c]}" "$c" >"$WORK/logs" 2>&1 || continue
    n=$(count_error_lines "$WORK/logs")
    ((n == 0)) || problem errors "$c" "$c wrote $n error line(s) since it started at ${STARTED_OF[$c]} (see: docker logs --since ${STARTED_OF[$c]} $c)"
  done
fi

# Endpoints: the deploy gate's own probes (scripts/validate/validate.sh), once each, with its p95.
if [[ ${HOMEIQ_WATCH_TARGETS:-} =~ [^[:space:]] ]]; then
  rc=0
  HOMEIQ_VALIDATE_TARGETS=$HOMEIQ_WATCH_TARGETS HOMEIQ_VALIDATE_ATTEMPTS=1 HOMEIQ_VALIDATE_TIMEOUT_SECONDS=5 \
    HOMEIQ_VALIDATE_MAX_LATENCY_MS=$MAX_LATENCY_MS HOMEIQ_VALIDATE_RESULTS_FILE=$WORK/endpoints \
    HOMEIQ_VALIDATE_CONTAINERS='' HOMEIQ_VALIDATE_ERROR_LINES='' HOMEIQ_VALIDATE_REPORT_USAGE='' \
    bash "$HERE/../validate/validate.sh" >"$WORK/validate.out" 2>&1 || rc=$?
  ((rc <= 1)) || die "$EXIT_USAGE" "HOMEIQ_WATCH_TARGETS was refused by the gate's probes: $(tail -n 1 "$WORK/validate.out")"
  while IFS=$'\t' read -r svc status _; do
    [[ -n ${svc:-} && $status != ok ]] || continue
    # A container already down is one problem, not two: its endpoint fails with it.
    grep -q "^down:$STACK-$svc"$'\t' "$PROBLEMS" && continue
    if [[ $status == slow* ]]; then
      problem slow "$svc endpoint" "$svc answers slowly: $status (criterion: p95 under $MAX_LATENCY_MS ms)"
    else
      problem down "$svc endpoint" "$svc's endpoint fails: $status"
    fi
  done <"$WORK/endpoints"
fi

# Disks: the filesystem of each path (the backup folder, ...).
for p in "${DISK_PATHS[@]}"; do
  p=${p/#\~/$HOME}
  q=$p
  while [[ ! -e $q && $q != / ]]; do q=$(dirname -- "$q"); done
  use=$(df -P -- "$q" 2>/dev/null | { read -r _ && read -r _ _ _ _ pct _ && echo "${pct%\%}"; }) || use=''
  [[ $use =~ ^[0-9]+$ ]] || continue
  ((use < DISK_PERCENT)) || problem disk "$p" "the filesystem of $p is $use % full (threshold: $DISK_PERCENT %)"
done

# --- decide: one notice per problem once it has lasted its grace, one when it clears ------------------
# State file lines: id<TAB>first seen (epoch)<TAB>notified (0/1)<TAB>message
declare -A SEEN=() TOLD=() MSG=() NOW_KIND=() NOW_MSG=()
if [[ -f $STATE ]]; then
  while IFS=$'\t' read -r id first told msg; do
    [[ -n ${id:-} && $first =~ ^[0-9]+$ ]] || continue
    SEEN[$id]=$first TOLD[$id]=$told MSG[$id]=$msg
  done <"$STATE"
fi
while IFS=$'\t' read -r id kind msg; do
  [[ -n ${id:-} && -z ${NOW_KIND[$id]:-} ]] || continue
  NOW_KIND[$id]=$kind NOW_MSG[$id]=$msg
done <"$PROBLEMS"

silenced() { # <id>: listed (or matched by a glob line) in the silence file
  local line
  [[ -f $SILENCE ]] || return 1
  while IFS= read -r line; do
    line=${line%%#*}
    line=${line//[[:space:]]/}
    [[ -n $line ]] || continue
    # shellcheck disable=SC2053 # the line is a glob on purpose (memory:*)
    [[ $1 == $line ]] && return 0
  done <"$SILENCE"
  return 1
}

# notify <id> <title> <message>: true when delivered. One Home Assistant notification id per problem, so
# the "cleared" notice replaces the problem's in Home Assistant's list.
notify() {
  local nid
  nid="homeiq_watch_${STACK}_${1}"
  nid=${nid,,}
  nid=${nid//[^a-z0-9_]/_}
  HOMEIQ_NOTIFY_TITLE=$2 HOMEIQ_NOTIFY_MESSAGE=$3 HOMEIQ_NOTIFY_ID=$nid bash "$HERE/../notify/notify.sh" >"$WORK/notify.out" 2>&1 && return 0
  log "WARNING: the notice could not be delivered (kept; tried again next run): $(tail -n 1 "$WORK/notify.out")"
  return 1
}

HOST=$(uname -n)
NEW_STATE=$WORK/state
: >"$NEW_STATE"
told_now=0 cleared_now=0
for id in "${!NOW_KIND[@]}"; do
  kind=${NOW_KIND[$id]} msg=${NOW_MSG[$id]}
  first=${SEEN[$id]:-$NOW} told=${TOLD[$id]:-0}
  case $kind in
    down) grace=$DOWN_MINUTES ;;
    disk) grace=0 ;;
    *) grace=$CRITERION_MINUTES ;;
  esac
  lasted=$((NOW - first))
  if ((told == 0)); then
    if silenced "$id"; then
      log "$id: $msg (silenced in $SILENCE)"
    elif ((lasted >= grace * 60)); then
      if notify "$id" "HomeIQ $STACK: $msg" "$msg. Seen since $(iso "$first") by the watch on $HOST. \`npm run status -- $STACK\` shows the whole stack. A notice comes again only after this has cleared. To silence it, add the line '$id' to $SILENCE."; then
        told=1 told_now=$((told_now + 1))
        log "$id: NOTIFIED: $msg"
      fi
    else
      log "$id: $msg (for $((lasted / 60)) of $grace minutes before a notice)"
    fi
  else
    log "$id: $msg (notified; still so)"
  fi
  printf '%s\t%s\t%s\t%s\n' "$id" "$first" "$told" "${msg//$'\t'/ }" >>"$NEW_STATE"
done
for id in "${!SEEN[@]}"; do
  [[ -z ${NOW_KIND[$id]:-} ]] || continue
  if [[ ${TOLD[$id]} == 1 ]]; then
    if notify "$id" "HomeIQ $STACK: resolved: ${MSG[$id]}" "Resolved at $(iso "$NOW") (seen since $(iso "${SEEN[$id]}")): ${MSG[$id]}. Checked by the watch on $HOST."; then
      cleared_now=$((cleared_now + 1))
      log "$id: CLEARED (notified): ${MSG[$id]}"
    else
      # Not delivered: keep it, so the "resolved" notice is tried again next run.
      printf '%s\t%s\t%s\t%s\n' "$id" "${SEEN[$id]}" 1 "${MSG[$id]}" >>"$NEW_STATE"
    fi
  else
    log "$id: cleared before its notice: ${MSG[$id]}"
  fi
done
mkdir -p -- "$(dirname -- "$STATE")"
mv -f -- "$NEW_STATE" "$STATE"
log "stack $STACK at $(iso "$NOW"): ${#NOW_KIND[@]} problem(s) now, $told_now notified, $cleared_now cleared"
