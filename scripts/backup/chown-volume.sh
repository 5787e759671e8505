#!/usr/bin/env bash
# Hands existing Docker volumes to a uid:gid, once, before a service that now
# runs as a non-root user starts on them (data-api and sports-data used to run
# as root, so their existing volumes are root-owned).
#
# For each "volume=uid:gid" in HOMEIQ_CHOWN_VOLUMES:
#   - the volume does not exist   -> nothing to do (first deploy: Docker creates
#                                    it from the image with the image's owner);
#   - every entry already owned   -> nothing to do (no write at all);
#   - otherwise                   -> `chown -R uid:gid` inside a one-off helper
#                                    container (HOMEIQ_HELPER_IMAGE, needs sh,
#                                    find, chown; busybox is enough).
# The services using the volume should not be running while it is handed over.
#
# Contract (HOMEIQ_* variables, exit codes): README.md in this folder.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-chown
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

require_var HOMEIQ_CHOWN_VOLUMES "" "space-separated volume=uid:gid entries"
require_var HOMEIQ_HELPER_IMAGE "" "an image with sh, find and chown present on the Docker host"
VOLS=() OWNERS=()
for entry in $HOMEIQ_CHOWN_VOLUMES; do
  [[ $entry =~ ^([A-Za-z0-9][A-Za-z0-9_.-]*)=([0-9]+:[0-9]+)$ ]] ||
    die "$EXIT_USAGE" "HOMEIQ_CHOWN_VOLUMES entry '$entry' is not volume=uid:gid"
  VOLS+=("${BASH_REMATCH[1]}") OWNERS+=("${BASH_REMATCH[2]}")
done

need_docker
docker image inspect "$HOMEIQ_HELPER_IMAGE" >/dev/null 2>&1 ||
  die "$EXIT_DOCKER" "helper image $HOMEIQ_HELPER_IMAGE is not present on the Docker host"

# Prints the number of entries (the volume root included) not owned by $1.
# shellcheck disable=SC2016 # expanded by the helper's sh
COUNT_SCRIPT='uid=${1%%:*} gid=${1##*:}; find /v \( ! -user "$uid" -o ! -group "$gid" \) -print | wc -l'

for i in "${!VOLS[@]}"; do
  vol=${VOLS[i]} owner=${OWNERS[i]}
  if ! docker volume inspect "$vol" >/dev/null 2>&1; then
    log "$vol: volume does not exist (first deploy); nothing to hand over"
    continue
  fi
  if ! wrong=$(docker run --rm --network none --user 0:0 -v "$vol:/v" --entrypoint sh "$HOMEIQ_HELPER_IMAGE" \
    -c "$COUNT_SCRIPT" count "$owner" 2>&1); then
    die "$EXIT_STEP" "$vol: could not inspect ownership: $wrong"
  fi
  wrong=${wrong//[[:space:]]/}
  if [[ $wrong == 0 ]]; then
    log "$vol: already owned by $owner; nothing to do"
    continue
  fi
  log "$vol: $wrong entries not owned by $owner; chown -R $owner"
  if ! out=$(docker run --rm --network none --user 0:0 -v "$vol:/v" --entrypoint chown "$HOMEIQ_HELPER_IMAGE" \
    -R "$owner" /v 2>&1); then
    die "$EXIT_STEP" "$vol: chown -R $owner failed: $out"
  fi
  log "$vol: handed over to $owner"
done
