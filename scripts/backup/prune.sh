#!/usr/bin/env bash
# Retention for one stack's backups: run by backup.sh after each successful backup, and by hand.
#
# Among the complete backups of HOMEIQ_STACK under HOMEIQ_BACKUP_ROOT (folders named exactly
# yyyymmddThhmmssZ; never a .partial folder, never another stack's), deletes those older than
# HOMEIQ_BACKUP_KEEP_DAYS days, except:
#   - the newest HOMEIQ_BACKUP_KEEP good backups (good: manifest.json matches manifest.sha256), so
#     the only good backup is never deleted however old it is;
#   - a backup made by a migration (its manifest's reason starts with "migrate-"), and one the user
#     marked by creating <stack dir>/<folder name>.keep: kept until the user removes it (or the mark).
# Every deletion is printed and appended to <stack dir>/retention.log.
#
# Environment: HOMEIQ_STACK, HOMEIQ_BACKUP_ROOT (absolute, or ~/...), HOMEIQ_BACKUP_KEEP (>= 1,
# default 7), HOMEIQ_BACKUP_KEEP_DAYS (>= 0, default 30), HOMEIQ_NOW (epoch seconds; tests).
# Exit: 0 done (also when there is nothing to delete); 2 a variable is malformed; 4 a deletion failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=${LOG_TAG:-homeiq-backup}
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

require_var HOMEIQ_STACK "$RE_STACK" "a stack name such as dev or prod"
require_backup_root
KEEP=${HOMEIQ_BACKUP_KEEP:-7}
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_BACKUP_KEEP must be a positive integer (got '$KEEP')"
KEEP_DAYS=${HOMEIQ_BACKUP_KEEP_DAYS:-30}
[[ $KEEP_DAYS =~ ^(0|[1-9][0-9]{0,4})$ ]] || die "$EXIT_USAGE" "HOMEIQ_BACKUP_KEEP_DAYS must be a whole number of days from 0 to 99999 (got '$KEEP_DAYS')"
NOW=${HOMEIQ_NOW:-$(date +%s)}
[[ $NOW =~ ^[0-9]+$ ]] || die "$EXIT_USAGE" "HOMEIQ_NOW must be epoch seconds (got '$NOW')"

STACK_DIR=$HOMEIQ_BACKUP_ROOT/$HOMEIQ_STACK
[[ -d $STACK_DIR ]] || { log "retention: no backups of '$HOMEIQ_STACK' under $HOMEIQ_BACKUP_ROOT"; exit 0; }
cutoff=$((NOW - KEEP_DAYS * 86400))

# good <folder>: its manifest is whole (what restore.sh checks first; the files are checked by the drill).
good() {
  local want
  [[ -f $1/manifest.json && -f $1/manifest.sha256 ]] || return 1
  want=$(sed -n 's/^\([0-9a-f]\{64\}\)  manifest\.json$/\1/p' "$1/manifest.sha256")
  [[ -n $want && $(sha256_of "$1/manifest.json") == "$want" ]]
}
reason_of() { sed -n 's/^  "reason": "\(.*\)",$/\1/p' "$1/manifest.json" 2>/dev/null | head -n 1; }
epoch_of() { date -u -d "${1:0:8} ${1:9:2}:${1:11:2}:${1:13:2}" +%s; }

mapfile -t names < <(find "$STACK_DIR" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
  -regex '.*/[0-9]{8}T[0-9]{6}Z' -printf '%f\n' | LC_ALL=C sort -r) # newest first
GOOD=()
good_total=0
for i in "${!names[@]}"; do
  GOOD[i]=0
  if good "$STACK_DIR/${names[i]}"; then GOOD[i]=1 good_total=$((good_total + 1)); fi
done
if ((${#names[@]} && good_total == 0)); then
  warn "retention: none of the ${#names[@]} backup(s) of '$HOMEIQ_STACK' has an intact manifest; deleting nothing"
  exit 0
fi
good_seen=0 deleted=0 kept_old=0 failed=0
for i in "${!names[@]}"; do
  name=${names[i]} dir=$STACK_DIR/${names[i]} is_good=${GOOD[i]}
  ((is_good == 0)) || good_seen=$((good_seen + 1))
  age_ok=0
  (($(epoch_of "$name") >= cutoff)) && age_ok=1
  why=''
  if ((age_ok)); then
    continue
  elif ((is_good && good_seen <= KEEP)); then
    why="one of the newest $KEEP good backups"
  elif [[ -e $STACK_DIR/$name.keep ]]; then
    why="marked to keep ($name.keep)"
  elif [[ $(reason_of "$dir") == migrate-* ]]; then
    why="made by a migration ($(reason_of "$dir"))"
  fi
  if [[ -n $why ]]; then
    kept_old=$((kept_old + 1))
    log "retention: keeping $name (older than $KEEP_DAYS days): $why"
    continue
  fi
  line="$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%SZ) deleted $name (older than $KEEP_DAYS days$( ((is_good)) || echo ', manifest damaged'); reason: $(reason_of "$dir"))"
  if rm -rf "${STACK_DIR:?}/$name"; then
    deleted=$((deleted + 1))
    log "retention: $line"
    printf '%s\n' "$line" >>"$STACK_DIR/retention.log"
  else
    failed=1
    warn "retention: could not delete $dir"
  fi
done
log "retention: ${#names[@]} backup(s) of '$HOMEIQ_STACK' found ($good_total good), $deleted deleted, $kept_old older than $KEEP_DAYS days kept"
((failed == 0)) || exit "$EXIT_STEP"
