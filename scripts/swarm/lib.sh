# shellcheck shell=bash
# scripts/swarm/lib.sh - what the swarm wrappers share. A swarm service's task runs in a container
# named <service>.<slot>.<task id> on the node that runs it; the backup and restore scripts take
# container names, so the wrappers find the task's container on the node's own engine (DOCKER_HOST).

# task_container <service>: the running container of the service's task on this engine. A service
# with no task here is passed on by name (the scripts then find it absent, as on a first deploy),
# unless the manager (HOMEIQ_SWARM_MANAGER) says it runs on another node: then fail, naming both.
task_container() {
  local name elsewhere
  name=$(docker ps --filter "label=com.docker.swarm.service.name=$1" --filter status=running --format '{{.Names}}' | head -n 1)
  if [ -n "$name" ]; then printf '%s\n' "$name"; return 0; fi
  if [ -n "${HOMEIQ_SWARM_MANAGER:-}" ]; then
    elsewhere=$(DOCKER_HOST=$HOMEIQ_SWARM_MANAGER docker service ps "$1" --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' 2>/dev/null | grep ' Running' | head -n 1 || true)
    if [ -n "$elsewhere" ]; then
      echo "[homeiq-swarm] service $1 runs on ${elsewhere%% *}, not on the node of ${DOCKER_HOST:-the local engine}; its placement must pin it to the data node" >&2
      return 1
    fi
  fi
  printf '%s\n' "$1"
}

# map_containers "<key>=<service>:<rest> ...": the same list with each service replaced by its task's container.
map_containers() {
  local out=() entry key svc rest c
  for entry in $1; do
    key=${entry%%=*}; rest=${entry#*=}; svc=${rest%%:*}; rest=${rest#*:}
    c=$(task_container "$svc") || return 1
    out+=("$key=$c:$rest")
  done
  printf '%s' "${out[*]}"
}
