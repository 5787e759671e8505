#!/usr/bin/env bash
# Shared helpers for backup.sh, restore.sh and chown-volume.sh. Sourced, not run.
# Needs only bash, coreutils and the docker CLI on the host.
# shellcheck disable=SC2034 # variables here are used by the sourcing scripts

# Exit codes shared by the scripts (documented in README.md).
readonly EXIT_USAGE=2   # a HOMEIQ_* variable is missing or malformed
readonly EXIT_DOCKER=3  # the docker CLI or engine is not usable, or a precondition on it fails
readonly EXIT_STEP=4    # a backup / chown step failed
readonly EXIT_REFUSED=5 # restore refused: the backup folder failed verification (nothing touched)
readonly EXIT_RESTORE=6 # restore failed after it had started changing data

LOG_TAG=${LOG_TAG:-homeiq}

log() { printf '[%s] %s\n' "$LOG_TAG" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$LOG_TAG" "$*" >&2; }
# die <exit code> <message>
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2
  exit "$code"
}

# json_str <text>: a JSON string literal (quotes included).
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# require_var <NAME> [regex] [description]: the variable is set, non-empty and
# (if given) matches the regex; exits EXIT_USAGE naming it otherwise. Never prints
# the value (some are secrets).
require_var() {
  local name=$1 re=${2:-} what=${3:-}
  [[ -n ${!name:-} ]] || die "$EXIT_USAGE" "environment variable $name is required${what:+ ($what)}"
  if [[ -n $re && ! ${!name} =~ $re ]]; then
    die "$EXIT_USAGE" "environment variable $name is malformed${what:+: expected $what}"
  fi
}

# A name Docker accepts for a container or volume.
readonly RE_DOCKER_NAME='^[A-Za-z0-9][A-Za-z0-9_.-]*$'
# A service key as used in the HomeIQ catalog (websocket-ingestion, data-api, ...).
readonly RE_SERVICE='^[a-z0-9][a-z0-9-]*$'
# An absolute path without whitespace, colons or '..' components.
readonly RE_ABS_PATH='^/[A-Za-z0-9_./+-]*$'
readonly RE_STACK='^[A-Za-z0-9][A-Za-z0-9_.-]*$'
readonly RE_OWNER='^[0-9]+:[0-9]+$'

path_has_dotdot() { [[ /$1/ == */../* ]]; }

# require_backup_root: HOMEIQ_BACKUP_ROOT, with a leading ~ expanded to $HOME (as the config key allows), an
# absolute path without '..'; exits EXIT_USAGE naming the variable otherwise. Every script that reads the
# backup folder checks it here, the same way.
require_backup_root() {
  if [[ ${HOMEIQ_BACKUP_ROOT:-} == "~" || ${HOMEIQ_BACKUP_ROOT:-} == "~/"* ]]; then
    [[ ${HOME:-} == /* ]] || die "$EXIT_USAGE" "HOMEIQ_BACKUP_ROOT starts with ~ but HOME is not an absolute path"
    HOMEIQ_BACKUP_ROOT=${HOME%/}${HOMEIQ_BACKUP_ROOT:1}
  fi
  require_var HOMEIQ_BACKUP_ROOT "$RE_ABS_PATH" "an absolute path (or ~/...) of letters, digits and _ . / + - only"
  path_has_dotdot "$HOMEIQ_BACKUP_ROOT" && die "$EXIT_USAGE" "HOMEIQ_BACKUP_ROOT must not contain '..'"
  return 0
}

need_docker() {
  command -v docker >/dev/null || die "$EXIT_DOCKER" "the docker CLI is not on PATH"
  local err
  if ! err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
    die "$EXIT_DOCKER" "the Docker engine does not answer (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}): ${err##*$'\n'}"
  fi
}

# container_state <name>: prints running | stopped | absent.
container_state() {
  local running
  if running=$(docker container inspect --format '{{.State.Running}}' "$1" 2>/dev/null); then
    [[ $running == true ]] && echo running || echo stopped
  else
    echo absent
  fi
}

# config_set_line <key> <value> <stack>: a `pulumi config set` command line that passes <value> as exactly
# one argument whatever it holds: printf %q quotes it for bash, so spaces, quotes, $( ), `, &, ; and line
# breaks can never run or split (test/unit/scriptRules.test.ts runs it on hostile strings).
config_set_line() {
  printf 'pulumi config set %q %q --stack %q\n' "$1" "$2" "$3"
}

# human_mb <bytes>: bytes as MiB with one decimal.
human_mb() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# rate <bytes> <nanoseconds>: MiB/s with one decimal.
rate() { awk -v b="$1" -v ns="$2" 'BEGIN { if (ns <= 0) ns = 1; printf "%.1f MiB/s", (b / 1048576) / (ns / 1e9) }'; }

now_ns() { date +%s%N; }

# sha256_files <file>...: prints "<sha256> <file>" for each file, reading each once. Uses
# `openssl dgst` when the host has it (SHA-NI / assembler: several times faster than coreutils
# sha256sum on the same bytes), else sha256sum. Exits non-zero if a file cannot be read.
sha256_files() {
  (($#)) || return 0
  if command -v openssl >/dev/null; then
    # `-r` prints "<hex> *<file>", one line per file, in argument order.
    openssl dgst -sha256 -r "$@" | sed 's/^\([0-9a-f]\{64\}\) \*/\1 /'
  else
    sha256sum "$@" | sed 's/^\([0-9a-f]\{64\}\)  /\1 /'
  fi
}

# sha256_of <file>: the sha256 of one file.
sha256_of() {
  local line
  line=$(sha256_files "$1") || return 1
  printf '%s\n' "${line%% *}"
}

# --- scratch objects, interruptions, test pauses -------------------------------------------------
# Every container, volume and image a script makes for its own use carries two labels:
#   com.homeiq.scratch=<tool>                      homeiq-backup, homeiq-restore or homeiq-migrate
#   com.homeiq.scratch.owner=<host>/<boot id>/<pid> the run that made it
# A run removes its own at exit: after success, an error, and SIGINT, SIGTERM or SIGHUP, whether
# the signal went to the script alone or to its whole process group (Ctrl-C, a closed terminal,
# `timeout`, a service manager). What a run could not remove (SIGKILL, a crash, a power loss) the
# next run of any of these scripts removes (sweep_abandoned_scratch): only objects with both labels
# whose owner is provably gone (this host, and another boot or no such process). Objects of a run
# that is still going, or of another host sharing the engine, are never touched.
SCRATCH_HOST=$(uname -n)
SCRATCH_BOOT=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
SCRATCH_OWNER="$SCRATCH_HOST/$SCRATCH_BOOT/$$"
SCRATCH_LABEL_ARGS=(--label "com.homeiq.scratch=$LOG_TAG" --label "com.homeiq.scratch.owner=$SCRATCH_OWNER")
# The same labels as a Dockerfile instruction, for `docker commit --change`.
SCRATCH_LABEL_CHANGE="LABEL \"com.homeiq.scratch\"=\"$LOG_TAG\" \"com.homeiq.scratch.owner\"=\"$SCRATCH_OWNER\""

# pid_alive <pid>: true when a process with that pid exists on this host (EPERM counts as alive).
pid_alive() {
  if [[ -d /proc/$$ ]]; then
    [[ -d /proc/$1 ]]
  else
    kill -0 "$1" 2>/dev/null || [[ $(kill -0 "$1" 2>&1) == *ermit* ]]
  fi
}

# owner_gone <host/boot/pid>: true only when the run that wrote this owner label provably ended.
owner_gone() {
  local host=${1%%/*} rest=${1#*/} boot pid
  boot=${rest%%/*} pid=${rest##*/}
  [[ $host == "$SCRATCH_HOST" && $pid =~ ^[0-9]+$ && $rest == */* ]] || return 1
  ((pid != $$)) || return 1
  if [[ $boot != "$SCRATCH_BOOT" && $boot != unknown && $SCRATCH_BOOT != unknown ]]; then
    return 0 # made before this machine last booted
  fi
  ! pid_alive "$pid"
}

# scratch_objects <container|volume|image> [owner]: "<id or name><TAB><owner>" lines of labelled scratch objects.
scratch_objects() {
  local filter=label=com.homeiq.scratch.owner${2:+=$2} id
  case $1 in
    container) docker ps -a --filter "$filter" --format '{{.ID}}{{"\t"}}{{.Label "com.homeiq.scratch.owner"}}' ;;
    volume) docker volume ls --filter "$filter" --format '{{.Name}}{{"\t"}}{{.Label "com.homeiq.scratch.owner"}}' ;;
    image)
      for id in $(docker image ls -q --no-trunc --filter "$filter" | sort -u); do
        docker image inspect --format '{{.ID}}{{"\t"}}{{index .Config.Labels "com.homeiq.scratch.owner"}}' "$id" 2>/dev/null || true
      done
      ;;
  esac
}

# remove_scratch <container|volume|image> <id or name>...: removes them, ignoring any already gone.
remove_scratch() {
  local kind=$1
  shift
  (($#)) || return 0
  case $kind in
    # No -v: a scratch container may share an old container's volumes (--volumes-from); its own are named.
    container) docker rm -f "$@" >/dev/null 2>&1 || true ;;
    volume) docker volume rm -f "$@" >/dev/null 2>&1 || true ;;
    image) docker image rm -f "$@" >/dev/null 2>&1 || true ;;
  esac
}

# remove_own_scratch: removes every scratch object of this run; prints how many there were.
remove_own_scratch() {
  local kind ids n=0
  for kind in container volume image; do
    mapfile -t ids < <(scratch_objects "$kind" "$SCRATCH_OWNER" | cut -f1)
    remove_scratch "$kind" "${ids[@]}"
    n=$((n + ${#ids[@]}))
  done
  echo "$n"
}

# sweep_abandoned_scratch: removes scratch objects whose run ended without removing them.
sweep_abandoned_scratch() {
  local kind id owner gone=() owners=()
  for kind in container volume image; do
    gone=()
    while IFS=$'\t' read -r id owner; do
      [[ -n $id ]] || continue
      if owner_gone "$owner"; then
        gone+=("$id")
        [[ " ${owners[*]} " == *" ${owner##*/} "* ]] || owners+=("${owner##*/}")
      fi
    done < <(scratch_objects "$kind")
    if ((${#gone[@]})); then
      remove_scratch "$kind" "${gone[@]}"
      log "removed ${#gone[@]} scratch $kind(s) left by an interrupted run (pid ${owners[*]}, no longer running)"
    fi
  done
}

# guarded <command...>: runs it in its own process group, stdin from /dev/null, and waits. A signal to
# this script's process group then reaches this script only: its cleanup decides what happens to the
# command (it waits for it, or removes the container it runs), instead of a docker CLI cut off
# mid-request leaving the engine to create a container, volume or image after the cleanup looked.
GUARDED_PID=''
guarded() {
  local rc=0
  set -m
  "$@" </dev/null &
  GUARDED_PID=$!
  set +m
  wait "$GUARDED_PID" || rc=$?
  GUARDED_PID=''
  return "$rc"
}
# wait_guarded: lets a guarded command that was running when the script was interrupted finish.
wait_guarded() {
  [[ -z $GUARDED_PID ]] || wait "$GUARDED_PID" 2>/dev/null || true
  GUARDED_PID=''
}

# on_exit <function>: runs <function> <exit code> once when the script exits, however it exits.
# SIGINT, SIGTERM and SIGHUP exit with 128 + the signal's number (130, 143, 129), after the cleanup;
# while it runs, further signals are ignored (a second Ctrl-C does not cut it short; SIGKILL does,
# and the next run sweeps what is left).
INTERRUPTED=''
EXIT_FUNCTION=''
on_exit() {
  EXIT_FUNCTION=$1
  trap run_exit_function EXIT
  trap 'interrupted INT' INT
  trap 'interrupted TERM' TERM
  trap 'interrupted HUP' HUP
}
interrupted() {
  trap '' INT TERM HUP PIPE
  INTERRUPTED=$1
  printf '[%s] interrupted by SIG%s: cleaning up\n' "$LOG_TAG" "$1" >&2
  exit $((128 + $(kill -l "$1")))
}
run_exit_function() {
  local rc=$?
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  [[ -z $EXIT_FUNCTION ]] || "$EXIT_FUNCTION" "$rc"
  exit "$rc"
}

# test_pause <step>: a test hook, inert unless HOMEIQ_TEST_PAUSE_AT names <step>: then it creates
# $HOMEIQ_TEST_PAUSE_DIR/<step>.reached and waits until <step>.go exists there, so an engine test can
# interrupt the script at exactly that step (test/engine/interruptions.test.ts).
test_pause() {
  [[ -n ${HOMEIQ_TEST_PAUSE_AT:-} && ${HOMEIQ_TEST_PAUSE_AT} == "$1" && -d ${HOMEIQ_TEST_PAUSE_DIR:-} ]] || return 0
  : >"$HOMEIQ_TEST_PAUSE_DIR/$1.reached"
  until [[ -e $HOMEIQ_TEST_PAUSE_DIR/$1.go ]]; do
    sleep 0.05 &
    wait $! || true
  done
}
