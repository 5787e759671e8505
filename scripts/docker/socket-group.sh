#!/usr/bin/env bash
# Prints the numeric group that owns the Docker socket on the Docker host, as the engine's
# containers see it, so admin-api (uid 1001, socket mounted read-only) can be given that group.
# Run by a Pulumi Command resource (components/dockerSocketGroup.ts) when
# homeiq:dockerSocketGroupId is not set, and by hand.
#
# It asks the engine itself: a one-off container of HOMEIQ_PROBE_IMAGE (admin-api's own image,
# which has `stat`) with the socket mounted read-only runs `stat -c %g` on it. That works the same
# for a local engine and a remote one (DOCKER_HOST=ssh://…), and needs no shell on the host.
#
# Environment: DOCKER_HOST (optional), HOMEIQ_PROBE_IMAGE (an image present on the engine that has
# `stat`), HOMEIQ_DOCKER_SOCKET (default /var/run/docker.sock).
# Output: the last line of stdout is `HOMEIQ_DOCKER_SOCKET_GID=<n>`.
# Exit: 0 printed; 2 a HOMEIQ_* variable is missing or malformed; 3 the probe failed (nothing changed).
set -euo pipefail

readonly TAG=homeiq-socket-group
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}

[[ -n ${HOMEIQ_PROBE_IMAGE:-} ]] || die 2 "environment variable HOMEIQ_PROBE_IMAGE is required (an image with stat)"
[[ $HOMEIQ_PROBE_IMAGE =~ ^[A-Za-z0-9][A-Za-z0-9_.:/@-]*$ ]] || die 2 "environment variable HOMEIQ_PROBE_IMAGE is malformed: expected an image reference"
SOCKET=${HOMEIQ_DOCKER_SOCKET:-/var/run/docker.sock}
[[ $SOCKET =~ ^/[A-Za-z0-9_./-]+$ ]] || die 2 "environment variable HOMEIQ_DOCKER_SOCKET is malformed: expected an absolute path"
[[ -n ${DOCKER_HOST:-} ]] || unset DOCKER_HOST # an empty DOCKER_HOST means the default engine

if ! out=$(docker run --rm --network none --entrypoint stat -v "$SOCKET:$SOCKET:ro" "$HOMEIQ_PROBE_IMAGE" -c %g "$SOCKET" 2>&1); then
  die 3 "could not read the group of $SOCKET through the engine: ${out//$'\n'/ }"
fi
gid=${out##*$'\n'}
[[ $gid =~ ^[0-9]{1,10}$ && $gid -le 2147483647 ]] || die 3 "stat printed '$gid', not a group id"
printf '[%s] %s is owned by group %s on the Docker host\n' "$TAG" "$SOCKET" "$gid"
printf 'HOMEIQ_DOCKER_SOCKET_GID=%s\n' "$gid"
