# shellcheck shell=bash
# scripts/swarm/lib.sh - what the swarm wrappers share. A swarm service's task runs in a container
# named <service>.<slot>.<task id> on the node that runs it; the backup and restore scripts take
# container names, so the wrappers find the task's container on the node's own engine (DOCKER_HOST).

# task_container <service>: the running container of the service's task on this engine, or fail naming both.
task_container() {
  local name
  name=$(docker ps --filter "label=com.docker.swarm.service.name=$1" --filter status=running --format '{{.Names}}' | head -n 1)
  if [ -z "$name" ]; then
    echo "[homeiq-swarm] service $1 has no running task on ${DOCKER_HOST:-the local engine}; it must run on the node whose engine that is (its placement pins it to the data node)" >&2
    return 1
  fi
  printf '%s\n' "$name"
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
