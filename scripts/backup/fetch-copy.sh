#!/usr/bin/env bash
# Brings one backup back from the off-host restic repository (copy.sh's) into the local backup folder,
# verifies it completely (restore.sh's check: manifest, every file's size and sha256), and publishes it as
# <root>/<stack>/<yyyymmddThhmmssZ>: from there restore.sh, the drill and `homeiq:restoreFrom` use it as any
# local backup. For disaster recovery onto a new host and for the restore drill of the copies.
#
# Environment: HOMEIQ_STACK, HOMEIQ_BACKUP_ROOT, HOMEIQ_COPY_REPO, HOMEIQ_COPY_PASSWORD (secret),
# HOMEIQ_COPY_SFTP_COMMAND as copy.sh; HOMEIQ_COPY_FOLDER: the backup's folder name, or `latest` (default).
# Last line on stdout: HOMEIQ_BACKUP_DIR=<the folder>.
# Exit: 0 done (also when the folder is already there locally: it is verified, not replaced); 2 bad variable;
#       3 restic missing, the repository unreachable, or no such backup there; 4 the restore from restic
#       failed; 5 what came back does not verify (not published).
# Never add `set -x` here: HOMEIQ_COPY_PASSWORD is a secret.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-copy
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

require_var HOMEIQ_STACK "$RE_STACK" "a stack name such as dev or prod"
require_backup_root
REPO=${HOMEIQ_COPY_REPO:-}
[[ $REPO =~ ^(/|sftp:|rest:|s3:|b2:|azure:|gs:|rclone:)[^[:space:]]+$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_COPY_REPO must be a restic repository: an absolute path, or sftp:, rest:, s3:, b2:, azure:, gs:, rclone: (got '${REPO%%:*}...')"
require_var HOMEIQ_COPY_PASSWORD "" "the restic repository's passphrase (secret)"
WANT=${HOMEIQ_COPY_FOLDER:-latest}
[[ $WANT == latest || $WANT =~ ^[0-9]{8}T[0-9]{6}Z$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_COPY_FOLDER must be a backup folder name (yyyymmddThhmmssZ) or latest (got '$WANT')"
command -v restic >/dev/null || die "$EXIT_DOCKER" "restic is not on PATH (Debian/Ubuntu: sudo apt-get install restic)"

export RESTIC_PASSWORD=$HOMEIQ_COPY_PASSWORD
OPTS=(--repo "$REPO" --no-cache)
[[ -z ${HOMEIQ_COPY_SFTP_COMMAND:-} ]] || OPTS+=(--option "sftp.command=$HOMEIQ_COPY_SFTP_COMMAND")
rq() { TZ=UTC restic "${OPTS[@]}" "$@"; }
STACK_DIR=$HOMEIQ_BACKUP_ROOT/$HOMEIQ_STACK
ERR=$(mktemp "${TMPDIR:-/tmp}/homeiq-fetch.XXXXXX")
STAGE=''
cleanup() { rm -f "$ERR"; [[ -z $STAGE ]] || rm -rf "$STAGE"; }
trap cleanup EXIT

if ! list=$(rq snapshots --json --tag "stack=$HOMEIQ_STACK" 2>"$ERR"); then
  die "$EXIT_DOCKER" "the restic repository $REPO cannot be read (unreachable, wrong passphrase or damaged): $(tail -n 3 "$ERR" | tr '\n' ' ')"
fi
mapfile -t folders < <(grep -o '"folder=[0-9]\{8\}T[0-9]\{6\}Z"' <<<"$list" | tr -d '"' | cut -d= -f2 | LC_ALL=C sort -u)
((${#folders[@]})) || die "$EXIT_DOCKER" "the repository $REPO holds no backup of stack '$HOMEIQ_STACK'"
if [[ $WANT == latest ]]; then
  WANT=${folders[-1]}
elif [[ " ${folders[*]} " != *" $WANT "* ]]; then
  die "$EXIT_DOCKER" "the repository $REPO holds no backup $WANT of stack '$HOMEIQ_STACK' (it holds: ${folders[*]})"
fi

umask 077
mkdir -p "$STACK_DIR"
if [[ -d $STACK_DIR/$WANT ]]; then
  log "$WANT is already in $STACK_DIR; verifying it instead of fetching"
  HOMEIQ_RESTORE_DIR=$STACK_DIR/$WANT HOMEIQ_STACK=$HOMEIQ_STACK HOMEIQ_RESTORE_VERIFY_ONLY=1 bash "$HERE/restore.sh" ||
    die "$EXIT_REFUSED" "the local $STACK_DIR/$WANT does not verify (see above); move it away and run this again to fetch the copy"
  echo "HOMEIQ_BACKUP_DIR=$STACK_DIR/$WANT"
  exit 0
fi
STAGE=$STACK_DIR/.fetch-$WANT-$$
t0=$(now_ns)
log "fetching $WANT of stack '$HOMEIQ_STACK' from $REPO"
rq restore latest --tag "stack=$HOMEIQ_STACK,folder=$WANT" --target "$STAGE" >/dev/null 2>"$ERR" ||
  die "$EXIT_STEP" "restic restore of $WANT failed: $(tail -n 3 "$ERR" | tr '\n' ' ')"
HOMEIQ_RESTORE_DIR=$STAGE HOMEIQ_STACK=$HOMEIQ_STACK HOMEIQ_RESTORE_VERIFY_ONLY=1 bash "$HERE/restore.sh" ||
  die "$EXIT_REFUSED" "the copy of $WANT does not verify against its own manifest (see above); not published"
find "$STAGE" -exec sync -- {} + 2>/dev/null || true
mv -T "$STAGE" "$STACK_DIR/$WANT"
STAGE=''
log "fetched and verified $STACK_DIR/$WANT ($(human_mb "$(du -sb "$STACK_DIR/$WANT" | cut -f1)") in $((($(now_ns) - t0) / 1000000)) ms)"
echo "HOMEIQ_BACKUP_DIR=$STACK_DIR/$WANT"
