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
