#!/usr/bin/env bash
# Gives each of the stack's containers its PIDs limit (the most processes and threads it may hold),
# then reads every limit back from the engine. Run by a Pulumi Command resource
# (components/pidsLimits.ts) after the containers exist, and again whenever one is replaced or a
# limit changes; safe to run by hand.
#
# Why a script: @pulumi/docker 5.x has no input for HostConfig.PidsLimit (the terraform-provider-docker
# v4.5.0 it bridges never sets it), so the container is created without one and gets it here through
# the Engine API's container update (`docker update --pids-limit`), which the engine keeps in the
# container's host config across restarts. Each container also carries its limit in its
# com.homeiq.pids-limit label; this script refuses to set a value that differs from the label.
#
# Environment: DOCKER_HOST (optional), HOMEIQ_PIDS_LIMITS (required): space-separated
# `<container>=<limit>` entries.
# Exit: 0 every limit set and read back; 2 HOMEIQ_PIDS_LIMITS missing or malformed; 3 a container is
# missing, its label disagrees, or the engine refused or did not keep the limit.
set -euo pipefail

readonly TAG=homeiq-pids-limits
readonly LABEL=com.homeiq.pids-limit
log() { printf '[%s] %s\n' "$TAG" "$*"; }
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}

[[ -n ${HOMEIQ_PIDS_LIMITS:-} && $HOMEIQ_PIDS_LIMITS =~ [^[:space:]] ]] ||
  die 2 "environment variable HOMEIQ_PIDS_LIMITS is required: space-separated <container>=<limit> entries"
[[ -n ${DOCKER_HOST:-} ]] || unset DOCKER_HOST # an empty DOCKER_HOST means the default engine

read -r -d '' -a ENTRIES <<<"$HOMEIQ_PIDS_LIMITS" || true
for entry in "${ENTRIES[@]}"; do
  [[ $entry =~ ^([a-z0-9][a-z0-9_.-]*)=([1-9][0-9]{1,6})$ ]] ||
    die 2 "HOMEIQ_PIDS_LIMITS entry '$entry' is not <container>=<limit> (a container name, a whole number from 10)"
done

for entry in "${ENTRIES[@]}"; do
  name=${entry%%=*} limit=${entry#*=}
  label=$(docker inspect --type container --format "{{ index .Config.Labels \"$LABEL\" }}" "$name" 2>&1) ||
    die 3 "container $name: ${label//$'\n'/ }"
  [[ $label == "$limit" ]] || die 3 "container $name: its $LABEL label is '$label', not $limit; nothing set for it"
  out=$(docker update --pids-limit "$limit" "$name" 2>&1) || die 3 "container $name: docker update --pids-limit $limit failed: ${out//$'\n'/ }"
  have=$(docker inspect --type container --format '{{.HostConfig.PidsLimit}}' "$name")
  [[ $have == "$limit" ]] || die 3 "container $name: the engine reports PidsLimit '$have' after setting $limit"
  log "$name: PIDs limit $limit"
done
log "PIDs limits set on ${#ENTRIES[@]} containers"
