#!/usr/bin/env bash
# scripts/swarm/preflight.sh - before anything is created on a swarm: refuse a swarm the stack cannot
# run on, then label each node with its roles (placement constraints of the apps services read them).
#
# Environment:
#   DOCKER_HOST                the swarm manager's engine
#   HOMEIQ_SWARM_NODES         `hostname=role[+role]@dockerHost ...` (homeiq:swarmNodes, each with its engine)
#   HOMEIQ_SWARM_MIN_ENGINE    lowest Engine major version (health checks as the program writes them)
#   HOMEIQ_SWARM_REQUIRE_NNP   1: every node's daemon must enforce no-new-privileges (swarm services cannot ask for it)
# Exit 1 with every problem and its fix; prints `swarm ready: <n> nodes` when all is well.
set -uo pipefail

: "${DOCKER_HOST:?DOCKER_HOST (the swarm manager) is required}"
: "${HOMEIQ_SWARM_NODES:?HOMEIQ_SWARM_NODES is required}"
MIN=${HOMEIQ_SWARM_MIN_ENGINE:-25}
NNP=${HOMEIQ_SWARM_REQUIRE_NNP:-0}

problems=()
state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>&1) || {
  echo "swarm preflight: cannot reach the manager at $DOCKER_HOST: $state" >&2; exit 1; }
if [ "$state" != "active true" ]; then
  echo "swarm preflight: $DOCKER_HOST is not a swarm manager (state: $state). Fix: docker swarm init on it, or point homeiq:dockerHost at a manager." >&2
  exit 1
fi

declare -A listed
while read -r host status avail version; do
  listed[$host]="$status $avail $version"
done < <(docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}' | while read -r h s a; do
  echo "$h $s $a $(docker node inspect "$h" --format '{{.Description.Engine.EngineVersion}}')"; done)

for entry in $HOMEIQ_SWARM_NODES; do
  host=${entry%%=*}; rest=${entry#*=}; roles=${rest%%@*}; engine=${rest#*@}
  info=${listed[$host]:-}
  if [ -z "$info" ]; then
    problems+=("node $host (homeiq:swarmNodes) is not in the swarm; fix: docker swarm join on it, or correct its hostname")
    continue
  fi
  read -r status avail version <<<"$info"
  [ "$status" = Ready ] || problems+=("node $host is $status, not Ready; fix: start its dockerd, or remove it from homeiq:swarmNodes")
  [ "$avail" = Active ] || problems+=("node $host is $avail, not Active; fix: docker node update --availability active $host")
  major=${version%%.*}
  if ! [[ "$major" =~ ^[0-9]+$ ]] || [ "$major" -lt "$MIN" ]; then
    problems+=("node $host runs Docker Engine $version; at least $MIN is needed (health checks use API 1.44); fix: upgrade its engine")
  fi
  if [ "$NNP" = 1 ]; then
    opts=$(DOCKER_HOST=$engine docker info --format '{{.SecurityOptions}} {{.Name}}' 2>&1)
    if [[ "$opts" != *"$host"* ]]; then
      problems+=("cannot check no-new-privileges on $host through its engine $engine ($opts); fix: give its engine in homeiq:swarmNodes ($host=$roles@ssh://user@$host)")
    elif [[ "$opts" != *no-new-privileges* ]]; then
      problems+=("node $host does not enforce no-new-privileges, which the profile requires and swarm services cannot ask for; fix: \"no-new-privileges\": true in its /etc/docker/daemon.json, then restart dockerd")
    fi
  fi
done

if [ ${#problems[@]} -gt 0 ]; then
  echo "swarm preflight: this swarm cannot run the stack:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi

# Labels for placement: homeiq.role.<role>=true on each node with that role, removed from the others.
for entry in $HOMEIQ_SWARM_NODES; do
  host=${entry%%=*}; rest=${entry#*=}; roles=${rest%%@*}
  args=()
  for role in data apps; do
    if [[ "+$roles+" == *"+$role+"* ]]; then args+=(--label-add "homeiq.role.$role=true"); else args+=(--label-rm "homeiq.role.$role"); fi
  done
  docker node update "${args[@]}" "$host" >/dev/null 2>&1 || {
    # --label-rm of a label the node does not have fails: add only
    add=(); for role in data apps; do [[ "+$roles+" == *"+$role+"* ]] && add+=(--label-add "homeiq.role.$role=true"); done
    docker node update "${add[@]}" "$host" >/dev/null
  }
done
echo "swarm ready: $(wc -w <<<"$HOMEIQ_SWARM_NODES") nodes"
