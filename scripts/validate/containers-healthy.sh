#!/usr/bin/env bash
# Container health gate of a HomeIQ stack: every container named must be running and `healthy` in
# Docker's own health state. Run by a Pulumi Command (components/containerHealthGate.ts) whose
# triggers are the containers' ids, so it runs on every `pulumi up` that created or replaced a
# container, including the rerun after a container failed @pulumi/docker's health wait: the docker
# provider keeps such a container in state and does not wait for it again (docs/provider-behaviour.md,
# finding 4), so without this gate that rerun could report success while the container is unhealthy.
#
# Environment:
#   HOMEIQ_HEALTH_CONTAINERS      required; space-separated container names
#   HOMEIQ_HEALTH_WAIT_SECONDS    how long a container still `starting` is waited for, default 60
#   DOCKER_HOST                   optional (empty: the default engine)
# Output: a table CONTAINER / STATE / HEALTH, then "health gate passed: N of N containers healthy".
# Exit: 0 all healthy; 1 at least one is not (table + "health gate failed: ..."); 2 malformed
# environment; 3 docker missing.
set -euo pipefail
export LC_ALL=C

readonly TAG='[homeiq-health-gate]'
readonly RE_NAME='^[A-Za-z0-9][A-Za-z0-9_.-]*$'

die() {
  local code=$1
  shift
  printf '%s ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}

[[ ${HOMEIQ_HEALTH_CONTAINERS:-} =~ [^[:space:]] ]] ||
  die 2 "environment variable HOMEIQ_HEALTH_CONTAINERS is required: space-separated container names"
WAIT=${HOMEIQ_HEALTH_WAIT_SECONDS:-60}
[[ $WAIT =~ ^[0-9]{1,5}$ ]] || die 2 "environment variable HOMEIQ_HEALTH_WAIT_SECONDS='$WAIT' is malformed: expected whole seconds (0-99999)"
WAIT=$((10#$WAIT))
read -r -d '' -a NAMES <<<"$HOMEIQ_HEALTH_CONTAINERS" || true
for n in "${NAMES[@]}"; do
  [[ $n =~ $RE_NAME ]] || die 2 "HOMEIQ_HEALTH_CONTAINERS entry '$n' is not a container name ([A-Za-z0-9][A-Za-z0-9_.-]*)"
done
[[ -n ${DOCKER_HOST:-} ]] || unset DOCKER_HOST # an empty DOCKER_HOST means the default engine
command -v docker >/dev/null || die 3 "docker is not on PATH (the health gate asks the engine with docker inspect)"

declare -A STATE=() HEALTH=()
# read_states: one `docker inspect` of every container; a missing one keeps state "missing".
read_states() {
  local out name state health
  for n in "${NAMES[@]}"; do STATE[$n]=missing HEALTH[$n]=-; done
  # docker inspect exits 1 when a name is missing, and still prints the others.
  out=$(docker inspect --format '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "${NAMES[@]}" 2>/dev/null) || true
  while read -r name state health; do
    [[ -n ${name:-} ]] || continue
    name=${name#/}
    STATE[$name]=$state
    HEALTH[$name]=$health
  done <<<"$out"
}

deadline=$((SECONDS + WAIT))
while :; do
  read_states
  starting=0
  for n in "${NAMES[@]}"; do
    [[ ${STATE[$n]} == running && ${HEALTH[$n]} == starting ]] && starting=1
  done
  ((starting == 0 || SECONDS >= deadline)) && break
  sleep 1
done

FAILED=()
w=9
for n in "${NAMES[@]}"; do ((${#n} > w)) && w=${#n}; done
echo
printf '%-*s  %-9s  %s\n' "$w" CONTAINER STATE HEALTH
for n in "${NAMES[@]}"; do
  printf '%-*s  %-9s  %s\n' "$w" "$n" "${STATE[$n]}" "${HEALTH[$n]}"
  [[ ${STATE[$n]} == running && ${HEALTH[$n]} == healthy ]] || FAILED+=("$n (${STATE[$n]}, health ${HEALTH[$n]})")
done
echo
TOTAL=${#NAMES[@]}
if ((${#FAILED[@]} > 0)); then
  echo "health gate failed: ${#FAILED[@]} of $TOTAL containers not healthy"
  joined=$(printf '%s, ' "${FAILED[@]}")
  printf '%s ERROR: not healthy: %s\n' "$TAG" "${joined%, }" >&2
  exit 1
fi
echo "health gate passed: $TOTAL of $TOTAL containers healthy"
