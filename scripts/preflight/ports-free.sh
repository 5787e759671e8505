#!/usr/bin/env bash
# Refuses, before a deployment creates or replaces any container, to go on while a running container
# that is not this stack's own publishes one of the stack's host ports: typically the old compose
# deployment (ha-ingestor-influxdb on 8086, ...) still running after a migration. Without this check
# Docker would fail at the first container that binds a taken port, after others were already
# created: a half-done update. The program runs it as the `host-ports` Command, which every
# container depends on.
#
# Environment (contract: README.md in this folder):
#   HOMEIQ_STACK       the stack; its own containers (label com.homeiq.stack=<stack>) are not conflicts,
#                      Pulumi replaces them itself
#   HOMEIQ_HOST_PORTS  space-separated service=port entries, e.g. "influxdb=8086 data-api=8006"
#   DOCKER_HOST        as for the docker CLI
# Exit: 0 every port is free of other containers; 2 a variable is missing or malformed; 3 the docker
# CLI or engine is not usable; 7 a port is held (each holder named; nothing was changed).
set -euo pipefail

die() {
  local code=$1
  shift
  printf '[homeiq-ports] ERROR: %s\n' "$*" >&2
  exit "$code"
}

[[ ${HOMEIQ_STACK:-} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die 2 "environment variable HOMEIQ_STACK is required (a stack name such as prod)"
[[ -n ${HOMEIQ_HOST_PORTS:-} ]] || die 2 "environment variable HOMEIQ_HOST_PORTS is required (service=port entries)"
for entry in $HOMEIQ_HOST_PORTS; do
  [[ $entry =~ ^[a-z0-9][a-z0-9-]*=[1-9][0-9]{0,4}$ ]] || die 2 "HOMEIQ_HOST_PORTS entry '$entry' is not service=port"
done
command -v docker >/dev/null || die 3 "the docker CLI is not on PATH"
if ! err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
  die 3 "the Docker engine does not answer (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}): ${err##*$'\n'}"
fi

held=() projects=() others=() other_service=
for entry in $HOMEIQ_HOST_PORTS; do
  service=${entry%%=*} port=${entry#*=}
  # A failed listing must stop the check, never read as "nothing holds the port".
  if ! listing=$(docker ps --filter "publish=$port" --format '{{.Names}}{{"\x1f"}}{{.Label "com.homeiq.stack"}}{{"\x1f"}}{{.Label "com.docker.compose.project"}}' 2>&1); then
    die 3 "could not list the containers publishing host port $port: ${listing##*$'\n'}"
  fi
  while IFS=$'\x1f' read -r name stack project; do
    [[ -n $name && $stack != "$HOMEIQ_STACK" ]] || continue
    if [[ -n $project ]]; then
      held+=("host port $port ($service) is published by container $name of compose project '$project'")
      [[ " ${projects[*]} " == *" $project "* ]] || projects+=("$project")
    else
      held+=("host port $port ($service) is published by container $name${stack:+ of HomeIQ stack '$stack'}")
      [[ " ${others[*]} " == *" $name "* ]] || others+=("$name")
      other_service=${other_service:-$service}
    fi
  done <<<"$listing"
done

if ((${#held[@]} == 0)); then
  echo "[homeiq-ports] the host ports of stack '$HOMEIQ_STACK' are free of other containers ($(wc -w <<<"$HOMEIQ_HOST_PORTS") checked)"
  exit 0
fi
{
  printf '[homeiq-ports] ERROR: stack %s cannot start: %d of its host ports are held by running containers outside it:\n' "$HOMEIQ_STACK" "${#held[@]}"
  printf '  - %s\n' "${held[@]}"
  for p in "${projects[@]}"; do
    printf "  stop the old compose deployment first (never 'down -v': its volumes hold the data): docker compose -p %s stop\n" "$p"
  done
  if ((${#others[@]})); then
    printf '  stop %s first, or give this stack other ports (homeiq:hostPorts), e.g.:\n' "${others[*]}"
    printf "    pulumi config set --path 'homeiq:hostPorts[0]' %s=PORT   (PORT: a host port nothing else uses)\n" "$other_service"
  fi
  echo "  Nothing was created, replaced or stopped."
} >&2
exit 7
