#!/usr/bin/env bash
# Off-host copies: puts every complete, good backup of a stack that is not there yet into a restic
# repository (encrypted, deduplicated: a mounted NAS path, sftp:, rest:, s3:, ...), applies there the
# deletions the local retention made (and only those), and runs `restic check`. Run by scheduled.sh after
# the scheduled backup (so backups taken at deploy time are copied at the next scheduled run), and by hand.
#
# It never deletes or changes a local backup. Each backup becomes one snapshot tagged homeiq,
# stack=<stack>, folder=<yyyymmddThhmmssZ> (and keep, for a migration's or a marked backup), dated
# with the backup's own time, host "homeiq-<stack>"; fetch-copy.sh brings one back.
#
# Environment:
#   HOMEIQ_STACK, HOMEIQ_BACKUP_ROOT   as backup.sh
#   HOMEIQ_COPY_REPO                   the restic repository: /absolute/path, sftp:..., rest:..., s3:..., b2:...,
#                                      azure:..., gs:..., rclone:...
#   HOMEIQ_COPY_PASSWORD (secret)      the repository's passphrase (given to restic as RESTIC_PASSWORD)
#   HOMEIQ_COPY_SFTP_COMMAND           optional: restic's sftp.command (a key or port not in ~/.ssh/config)
#   HOMEIQ_COPY_CHECK                  structure (default: `restic check`), read-data (every byte), none
#   (S3 and other backends read their own credentials from the environment, e.g. AWS_ACCESS_KEY_ID.)
# Exit: 0 done; 2 a variable is malformed; 3 restic missing or the repository unreachable (nothing copied);
#       4 a copy or a deletion there failed; 5 `restic check` found the repository damaged.
# Never add `set -x` here: HOMEIQ_COPY_PASSWORD is a secret.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-copy
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"
readonly EXIT_DAMAGED=5

require_var HOMEIQ_STACK "$RE_STACK" "a stack name such as dev or prod"
require_backup_root
REPO=${HOMEIQ_COPY_REPO:-}
[[ $REPO =~ ^(/|sftp:|rest:|s3:|b2:|azure:|gs:|rclone:)[^[:space:]]+$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_COPY_REPO must be a restic repository: an absolute path, or sftp:, rest:, s3:, b2:, azure:, gs:, rclone: (got '${REPO%%:*}...')"
require_var HOMEIQ_COPY_PASSWORD "" "the restic repository's passphrase (secret)"
CHECK=${HOMEIQ_COPY_CHECK:-structure}
[[ $CHECK =~ ^(structure|read-data|none)$ ]] || die "$EXIT_USAGE" "HOMEIQ_COPY_CHECK must be structure, read-data or none (got '$CHECK')"
command -v restic >/dev/null || die "$EXIT_DOCKER" "restic is not on PATH (Debian/Ubuntu: sudo apt-get install restic)"

STACK_DIR=$HOMEIQ_BACKUP_ROOT/$HOMEIQ_STACK
# The passphrase goes to restic in its environment only; the repository string is not secret
# (credentials of rest:/s3: URLs belong in the backend's own variables).
export RESTIC_PASSWORD=$HOMEIQ_COPY_PASSWORD
OPTS=(--repo "$REPO" --no-cache)
[[ -z ${HOMEIQ_COPY_SFTP_COMMAND:-} ]] || OPTS+=(--option "sftp.command=$HOMEIQ_COPY_SFTP_COMMAND")
rq() { TZ=UTC restic "${OPTS[@]}" "$@"; }
ERR=$(mktemp "${TMPDIR:-/tmp}/homeiq-copy.XXXXXX")
trap 'rm -f "$ERR"' EXIT

# --- the repository -------------------------------------------------------------------------------------
log "repository $REPO (stack '$HOMEIQ_STACK')"
if ! rq cat config >/dev/null 2>"$ERR"; then
  if grep -q 'Is there a repository at the following location' "$ERR" && grep -qi 'no such file\|not exist\|404' "$ERR"; then
    log "no restic repository there yet: initialising one (encrypted with HOMEIQ_COPY_PASSWORD; keep that passphrase outside this machine too: without it the copies cannot be read)"
    rq init >/dev/null 2>"$ERR" || die "$EXIT_DOCKER" "could not initialise a restic repository at $REPO: $(tail -n 3 "$ERR" | tr '\n' ' ')"
  else
    die "$EXIT_DOCKER" "the restic repository $REPO cannot be used (unreachable, wrong passphrase or damaged): $(tail -n 3 "$ERR" | tr '\n' ' '); no backup was copied, the local backups are untouched"
  fi
fi

# --- copy what is not there yet ---------------------------------------------------------------------------
good() {
  local want
  [[ -f $1/manifest.json && -f $1/manifest.sha256 ]] || return 1
  want=$(sed -n 's/^\([0-9a-f]\{64\}\)  manifest\.json$/\1/p' "$1/manifest.sha256")
  [[ -n $want && $(sha256_of "$1/manifest.json") == "$want" ]]
}
in_repo() { [[ $(rq snapshots --json --tag "stack=$HOMEIQ_STACK,folder=$1" 2>"$ERR") == \[\{* ]]; }

copied=0 present=0 failed=()
names=()
[[ ! -d $STACK_DIR ]] || mapfile -t names < <(find "$STACK_DIR" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
  -regex '.*/[0-9]{8}T[0-9]{6}Z' -printf '%f\n' | LC_ALL=C sort)
for name in "${names[@]}"; do
  dir=$STACK_DIR/$name
  if ! good "$dir"; then
    warn "$name: its manifest does not match manifest.sha256; not copied (restore.sh would refuse it)"
    failed+=("$name")
    continue
  fi
  if in_repo "$name"; then
    present=$((present + 1))
    continue
  fi
  tags=(--tag homeiq --tag "stack=$HOMEIQ_STACK" --tag "folder=$name")
  reason=$(sed -n 's/^  "reason": "\(.*\)",$/\1/p' "$dir/manifest.json" | head -n 1)
  [[ ! -e $STACK_DIR/$name.keep && $reason != migrate-* ]] || tags+=(--tag keep)
  t0=$(now_ns)
  if (cd "$dir" && rq backup --quiet --host "homeiq-$HOMEIQ_STACK" "${tags[@]}" \
    --time "${name:0:4}-${name:4:2}-${name:6:2} ${name:9:2}:${name:11:2}:${name:13:2}" . >/dev/null 2>"$ERR"); then
    copied=$((copied + 1))
    log "$name: copied ($(human_mb "$(du -sb "$dir" | cut -f1)") in $((($(now_ns) - t0) / 1000000)) ms)"
  else
    warn "$name: restic backup failed: $(tail -n 3 "$ERR" | tr '\n' ' ')"
    failed+=("$name")
  fi
done

# --- the local retention's deletions, applied there -----------------------------------------------------
# Only folders retention.log records as deleted: a lost local disk (no folders, no log) never empties the
# repository, and a copy the user removed by hand stays there.
forgotten=0
if [[ -f $STACK_DIR/retention.log ]]; then
  while read -r name; do
    [[ $name =~ ^[0-9]{8}T[0-9]{6}Z$ && ! -d $STACK_DIR/$name ]] || continue
    in_repo "$name" || continue
    mapfile -t ids < <(rq snapshots --json --tag "stack=$HOMEIQ_STACK,folder=$name" 2>"$ERR" | grep -o '"id":"[0-9a-f]\{64\}"' | cut -d'"' -f4)
    if ((${#ids[@]})) && rq forget --quiet "${ids[@]}" >/dev/null 2>"$ERR"; then
      forgotten=$((forgotten + 1))
      log "$name: deleted from the repository too (local retention deleted it)"
    else
      warn "$name: restic forget failed: $(tail -n 3 "$ERR" | tr '\n' ' ')"
      failed+=("forget:$name")
    fi
  done < <(sed -n 's/^[^ ]* deleted \([0-9]\{8\}T[0-9]\{6\}Z\) .*/\1/p' "$STACK_DIR/retention.log" | LC_ALL=C sort -u)
  if ((forgotten)); then
    rq prune --quiet >/dev/null 2>"$ERR" || { warn "restic prune failed: $(tail -n 3 "$ERR" | tr '\n' ' ')"; failed+=(prune); }
  fi
fi
log "$copied copied, $present already there, $forgotten deleted there"

# --- check --------------------------------------------------------------------------------------------------
if [[ $CHECK != none ]]; then
  args=()
  [[ $CHECK == structure ]] || args=(--read-data)
  if ! rq check "${args[@]}" >"$ERR" 2>&1; then
    tail -n 8 "$ERR" | sed 's/^/  restic: /' >&2
    die "$EXIT_DAMAGED" "restic check ($CHECK) found the repository $REPO damaged (see above); the local backups are untouched. Run 'restic check' and 'restic repair' on it, or start a new repository"
  fi
  log "restic check ($CHECK): no errors"
fi
((${#failed[@]} == 0)) || die "$EXIT_STEP" "not copied or not deleted there: ${failed[*]} (see the warnings above); the local backups are untouched"
