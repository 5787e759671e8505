#!/usr/bin/env bash
# scripts/swarm/restore.sh - scripts/backup/restore-stack.sh for a stack on swarm. The whole backup is
# verified first; then each service whose database is replaced is scaled to 0 through the manager
# (stopping its container would only make swarm start another) and its task is awaited gone from the
# data node; then restore.sh runs on the data node's engine. The program's update of those services
# (their restored-from label changed) brings them back at one replica.
#
# Environment: restore.sh's (DOCKER_HOST = the data node's engine; HOMEIQ_INFLUX_CONTAINER = the InfluxDB
# service's name), plus
#   HOMEIQ_SWARM_MANAGER   the manager's engine (for `docker service scale`)
#   HOMEIQ_STOP_SERVICES   swarm services to scale to 0 before their databases are replaced
# Never add `set -x` here: HOMEIQ_INFLUX_TOKEN is a secret.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
: "${HOMEIQ_SWARM_MANAGER:?HOMEIQ_SWARM_MANAGER (the engine of a swarm manager) is required}"

echo "[homeiq-restore] verifying ${HOMEIQ_RESTORE_DIR:-?} before stopping anything"
HOMEIQ_RESTORE_VERIFY_ONLY=1 bash "$here/../backup/restore.sh"

for svc in ${HOMEIQ_STOP_SERVICES:-}; do
  if DOCKER_HOST=$HOMEIQ_SWARM_MANAGER docker service inspect "$svc" >/dev/null 2>&1; then
    echo "[homeiq-restore] scaling ${svc} to 0 so its database can be replaced"
    DOCKER_HOST=$HOMEIQ_SWARM_MANAGER docker service scale --detach "$svc=0" >/dev/null
    # Bounded by the clock, not a count: through an ssh:// engine each docker call is a login of its own.
    deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
      [ -z "$(docker ps -q --filter "label=com.docker.swarm.service.name=$svc")" ] && break
      sleep 0.1
    done
    if [ -n "$(docker ps -q --filter "label=com.docker.swarm.service.name=$svc")" ]; then
      echo "[homeiq-restore] ${svc} still has a running container on ${DOCKER_HOST:-the data node} after 60 s; nothing was restored" >&2
      exit 1
    fi
  fi
done

if [ -n "${HOMEIQ_INFLUX_CONTAINER:-}" ]; then
  HOMEIQ_INFLUX_CONTAINER=$(task_container "$HOMEIQ_INFLUX_CONTAINER")
  export HOMEIQ_INFLUX_CONTAINER
fi
exec bash "$here/../backup/restore.sh"
