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
#   HOMEIQ_HELPER_IMAGE an image on the engine with `cat`: a one-off container of it on the host's network
#                      reads the Docker host's listening TCP sockets (/proc/net/tcp, tcp6), so a process
#                      there (a native influxd, Grafana) is seen too, wherever the engine runs
#   DOCKER_HOST        as for the docker CLI
# Exit: 0 every port is free of other containers and processes; 2 a variable is missing or malformed; 3 the
# docker CLI or engine is not usable; 7 a port is held (each holder named; nothing was changed).
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
[[ ${HOMEIQ_HELPER_IMAGE:-} =~ ^[A-Za-z0-9][A-Za-z0-9_./:@-]*$ ]] || die 2 "environment variable HOMEIQ_HELPER_IMAGE is required (an image on the engine with cat)"
command -v docker >/dev/null || die 3 "the docker CLI is not on PATH"
if ! err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
  die 3 "the Docker engine does not answer (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}): ${err##*$'\n'}"
fi

# The TCP ports something listens on in the Docker host's network namespace (state 0A: LISTEN), from a
# one-off container of the helper image on the host's network: the engine may be on another machine.
if ! sockets=$(docker run --rm --network host --log-driver none --entrypoint cat "$HOMEIQ_HELPER_IMAGE" /proc/net/tcp /proc/net/tcp6 2>&1); then
  die 3 "could not list the Docker host's listening sockets (a container of $HOMEIQ_HELPER_IMAGE on the host network): ${sockets##*$'\n'}"
fi
declare -A LISTENING=()
while read -r _ local _ state _; do
  [[ $state == 0A && $local == *:* ]] || continue
  LISTENING[$((16#${local##*:}))]=1
done <<<"$sockets"

held=() projects=() others=() other_service= processes=0
for entry in $HOMEIQ_HOST_PORTS; do
  service=${entry%%=*} port=${entry#*=}
  # A failed listing must stop the check, never read as "nothing holds the port".
  if ! listing=$(docker ps --filter "publish=$port" --format '{{.Names}}{{"\x1f"}}{{.Label "com.homeiq.stack"}}{{"\x1f"}}{{.Label "com.docker.compose.project"}}' 2>&1); then
    die 3 "could not list the containers publishing host port $port: ${listing##*$'\n'}"
  fi
  # Listening, and published by no container (the stack's own included): a process of the Docker host.
  if [[ -n ${LISTENING[$port]:-} && -z $listing ]]; then
    held+=("host port $port ($service) is taken by a process on the Docker host, not a container (a native service such as influxd or Grafana?)")
    processes=1
    other_service=${other_service:-$service}
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
  echo "[homeiq-ports] the host ports of stack '$HOMEIQ_STACK' are free of other containers and host processes ($(wc -w <<<"$HOMEIQ_HOST_PORTS") checked)"
  exit 0
fi
{
  printf '[homeiq-ports] ERROR: stack %s cannot start: %d of its host ports are held outside it:\n' "$HOMEIQ_STACK" "${#held[@]}"
  printf '  - %s\n' "${held[@]}"
  for p in "${projects[@]}"; do
    printf "  stop the old compose deployment first (never 'down -v': its volumes hold the data): docker compose -p %s stop\n" "$p"
  done
  if ((${#others[@]} || processes)); then
    ((${#others[@]} == 0)) || printf '  stop %s first, or ' "${others[*]}"
    ((${#others[@]})) || printf '  stop that process (ss -ltnp shows it, on the Docker host), or '
    printf 'give this stack other ports (homeiq:hostPorts), e.g.:\n'
    printf "    pulumi config set --path 'homeiq:hostPorts[0]' %s=PORT --stack %s   (PORT: a host port nothing else uses)\n" "$other_service" "$HOMEIQ_STACK"
  fi
  echo "  Nothing was created, replaced or stopped."
} >&2
exit 7
