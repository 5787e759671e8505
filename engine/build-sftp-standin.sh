#!/usr/bin/env bash
# Builds homeiq-standin/sftp:stack (engine/stack-standins/images/sftp: Debian's openssh-server) for the
# off-host copy tests, FROM homeiq-standin/debian:stack (engine/build-stack-standins.sh). Idempotent: the
# image carries the sha256 of its folder and base image and is kept while they are unchanged.
# Exit: 0 the image is present; 1 the build failed (its last lines printed).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=$HERE/stack-standins/images/sftp
IMG=homeiq-standin/sftp:stack
BASE=homeiq-standin/debian:stack
LABEL=com.homeiq.standin.content
log() { printf '[engine/build-sftp-standin] %s\n' "$*"; }
docker image inspect "$BASE" >/dev/null 2>&1 || { log "ERROR: $BASE not found: run engine/build-stack-standins.sh first" >&2; exit 1; }
hash=$({ (cd "$DIR" && find . -type f -print0 | sort -z | xargs -0 sha256sum); docker image inspect --format '{{.Id}}' "$BASE"; } | sha256sum | cut -d' ' -f1)
have=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMG" 2>/dev/null || true)
if [[ $have == "$hash" ]]; then
  log "$IMG is current"
  exit 0
fi
log "building $IMG"
log_file=$(mktemp /tmp/homeiq-sftp-build.XXXXXX)
trap 'rm -f "$log_file"' EXIT
if ! DOCKER_BUILDKIT=1 docker build --progress=plain --label "$LABEL=$hash" -t "$IMG" "$DIR" >"$log_file" 2>&1; then
  tail -n 30 "$log_file" >&2
  exit 1
fi
log "built $IMG"
