#!/usr/bin/env bash
# Shared by install.sh, tick.sh and remove.sh. Sourced, not run.
# shellcheck disable=SC2034 # variables here are used by the sourcing scripts

EXIT_USAGE=2
EXIT_HOST=3 # the host lacks what a schedule needs (crontab), nothing was changed

log() { printf '[%s] %s\n' "$LOG_TAG" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$LOG_TAG" "$*" >&2; }
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2
  exit "$code"
}

# schedule_dir: HOMEIQ_SCHEDULE_DIR, validated, with a leading ~ resolved against HOME (as backup.sh does
# for HOMEIQ_BACKUP_ROOT). The folder name goes into a crontab line: letters, digits and _ . / + - only.
schedule_dir() {
  local d=${HOMEIQ_SCHEDULE_DIR:-}
  [[ -n $d ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_SCHEDULE_DIR is required (the schedule's own folder, absolute or ~/...)"
  if [[ $d == "~" || $d == "~/"* ]]; then
    [[ ${HOME:-} == /* ]] || die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_DIR starts with ~ but HOME is not an absolute path"
    d=${HOME%/}${d:1}
  fi
  [[ $d =~ ^/[A-Za-z0-9_./+-]*[A-Za-z0-9_+-]$ && /$d/ != */../* ]] ||
    die "$EXIT_USAGE" "HOMEIQ_SCHEDULE_DIR must be an absolute path of letters, digits and _ . / + - without '..' (got '$d')"
  printf '%s\n' "$d"
}

# The line that marks a schedule's crontab entry (one per schedule folder).
cron_marker() { printf '# homeiq-schedule %s\n' "$1"; }

# edit_crontab <schedule dir> [new line]: removes that folder's entry from the user's crontab and, when
# given, adds the new one. Serialised per user: two stacks deployed at once never lose each other's line.
edit_crontab() {
  local dir=$1 line=${2:-} marker current tmp
  marker=$(cron_marker "$dir")
  exec {lockfd}>"${TMPDIR:-/tmp}/homeiq-crontab-$(id -u).lock"
  flock "$lockfd"
  # `crontab -l` exits 1 with "no crontab for <user>" when there is none yet.
  current=$(crontab -l 2>/dev/null || true)
  tmp=$(mktemp "${TMPDIR:-/tmp}/homeiq-crontab.XXXXXX")
  { grep -vxF -- "$line" <<<"$current" | grep -vF -- "$marker" || true; } | sed '/^$/d' >"$tmp"
  [[ -z $line ]] || printf '%s\n' "$line" >>"$tmp"
  if [[ -s $tmp ]]; then
    crontab "$tmp"
  else
    crontab -r 2>/dev/null || true
  fi
  rm -f "$tmp"
  exec {lockfd}>&-
}

# slot_of <when> <now epoch>: the epoch of the newest time at or before <now> at which <when> is due.
#   daily HH:MM        every day at HH:MM, host time
#   monthly D HH:MM    day D (1-28) of every month at HH:MM, host time
#   every N            every N minutes (1-1440), counted from the epoch
slot_of() {
  local when=$1 now=$2 day month hm d s n
  case $when in
    daily\ *)
      hm=${when#daily }
      day=$(date -d "@$now" +%F)
      s=$(date -d "$day $hm" +%s)
      if ((s > now)); then s=$(date -d "$(date -d "$day -1 day" +%F) $hm" +%s); fi
      ;;
    monthly\ *)
      read -r d hm <<<"${when#monthly }"
      month=$(date -d "@$now" +%Y-%m)
      s=$(date -d "$month-$(printf '%02d' "$d") $hm" +%s)
      if ((s > now)); then s=$(date -d "$(date -d "$month-01 -1 month" +%Y-%m)-$(printf '%02d' "$d") $hm" +%s); fi
      ;;
    every\ *)
      n=$((${when#every } * 60))
      s=$((now - now % n))
      ;;
    *) return 1 ;;
  esac
  printf '%s\n' "$s"
}

# valid_when <when>: true for the forms slot_of knows.
valid_when() {
  [[ $1 =~ ^daily\ ([01][0-9]|2[0-3]):[0-5][0-9]$ ]] && return 0
  [[ $1 =~ ^monthly\ ([1-9]|1[0-9]|2[0-8])\ ([01][0-9]|2[0-3]):[0-5][0-9]$ ]] && return 0
  [[ $1 =~ ^every\ ([1-9][0-9]{0,3})$ ]] && ((${BASH_REMATCH[1]} <= 1440)) && return 0
  return 1
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
