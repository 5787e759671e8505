#!/usr/bin/env bash
# scripts/swarm/limits.sh - gives one swarm service the limits @pulumi/docker cannot: its PIDs limit
# (TaskTemplate.Resources.Limits.Pids) and its ulimits (ContainerSpec.Ulimits), both in the Engine API
# since 1.41. Run by a Pulumi Command after the service's create and after each change of its spec
# (components/swarmLimits.ts); safe to run by hand.
#
# Why a script: terraform-provider-docker v4.5.0 (under @pulumi/docker 5.x) has neither field, and its
# update sends a whole spec built from its inputs, so every update of the service by the provider
# drops what this script set; the Command runs again after it. The limits are in the service's spec,
# so every task swarm starts (a restart, a reschedule) gets them. Setting them is a rolling update of
# the service (its task is replaced once more, health-gated, rolled back if unhealthy). A spec that
# already has them is left alone: nothing restarts.
#
# Environment:
#   DOCKER_HOST          the swarm manager's engine
#   HOMEIQ_SERVICE       the swarm service
#   HOMEIQ_PIDS_LIMIT    the most processes and threads a task may hold (a whole number from 10)
#   HOMEIQ_ULIMITS       optional: space-separated `name=soft:hard` (e.g. nofile=65536:65536)
#   HOMEIQ_TIMEOUT_SECONDS  optional: how long the update may take to complete (default 180)
# Exit: 0 the spec has the limits and the update completed; 2 bad environment; 3 the service is
# missing, or the update was rolled back, paused or did not complete in time.
set -euo pipefail

readonly TAG=homeiq-swarm-limits
log() { printf '[%s] %s\n' "$TAG" "$*"; }
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}

: "${DOCKER_HOST:?DOCKER_HOST (the swarm manager) is required}"
SERVICE=${HOMEIQ_SERVICE:-}
LIMIT=${HOMEIQ_PIDS_LIMIT:-}
TIMEOUT=${HOMEIQ_TIMEOUT_SECONDS:-180}
[[ $SERVICE =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || die 2 "HOMEIQ_SERVICE is '$SERVICE'; allowed: a swarm service name"
[[ $LIMIT =~ ^[1-9][0-9]{1,6}$ ]] || die 2 "HOMEIQ_PIDS_LIMIT is '$LIMIT' for $SERVICE; allowed: a whole number from 10"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die 2 "HOMEIQ_TIMEOUT_SECONDS is '$TIMEOUT'; allowed: a whole number of seconds"
read -r -a ULIMITS <<<"${HOMEIQ_ULIMITS:-}" || true
wanted_ulimits=()
args=(--limit-pids "$LIMIT")
for u in "${ULIMITS[@]}"; do
  [[ $u =~ ^([a-z]+)=([0-9]+):([0-9]+)$ ]] || die 2 "HOMEIQ_ULIMITS entry '$u' for $SERVICE is not name=soft:hard (e.g. nofile=65536:65536)"
  args+=(--ulimit-add "$u")
  wanted_ulimits+=("${BASH_REMATCH[1]}=${BASH_REMATCH[2]}:${BASH_REMATCH[3]}")
done
# `pids=N ulimits=a=1:2 b=3:4`: the limits in one comparable form (ulimits sorted by name).
normal() { # pids, then the ulimits as words
  local pids=$1
  shift
  printf 'pids=%s ulimits=%s' "${pids:-0}" "$(printf '%s\n' "$@" | grep -v '^$' | sort | paste -sd ' ' - || true)"
}
wanted=$(normal "$LIMIT" "${wanted_ulimits[@]}")

# What the spec has now, in the same form.
have() {
  docker service inspect "$SERVICE" --format \
    '{{with .Spec.TaskTemplate.Resources}}{{with .Limits}}{{.Pids}}{{end}}{{end}}|{{range .Spec.TaskTemplate.ContainerSpec.Ulimits}}{{.Name}}={{.Soft}}:{{.Hard}} {{end}}'
}
now=$(have 2>&1) || die 3 "service $SERVICE: ${now//$'\n'/ }"
# The service declares its limit in a task label (what the policy pack checks): never set another.
label=$(docker service inspect "$SERVICE" --format '{{index .Spec.TaskTemplate.ContainerSpec.Labels "com.homeiq.pids-limit"}}')
[[ $label == "$LIMIT" ]] || die 3 "service $SERVICE: its com.homeiq.pids-limit label is '$label', not $LIMIT; nothing set"
as_wanted() {
  local ul
  read -r -a ul <<<"${1#*|}" || true
  normal "${1%%|*}" "${ul[@]}"
}
if [[ $(as_wanted "$now") == "$wanted" ]]; then
  log "$SERVICE: already has $wanted; nothing to update"
  exit 0
fi

out=$(docker service update --detach --quiet "${args[@]}" "$SERVICE" 2>&1) || die 3 "service $SERVICE: docker service update failed: ${out//$'\n'/ }"
deadline=$((SECONDS + TIMEOUT))
while :; do
  state=$(docker service inspect "$SERVICE" --format '{{with .UpdateStatus}}{{.State}}|{{.Message}}{{end}}')
  case ${state%%|*} in
    completed) break ;;
    rollback_started | rollback_completed | rollback_paused | paused)
      die 3 "service $SERVICE: the update that sets $wanted ended '${state%%|*}' (${state#*|}); its task did not get healthy with these limits" ;;
  esac
  ((SECONDS < deadline)) || die 3 "service $SERVICE: the update that sets $wanted did not complete within ${TIMEOUT}s (state '${state%%|*}')"
  sleep 1
done
now=$(have)
[[ $(as_wanted "$now") == "$wanted" ]] || die 3 "service $SERVICE: after the update its spec has $(as_wanted "$now"), not $wanted"
log "$SERVICE: $wanted"
