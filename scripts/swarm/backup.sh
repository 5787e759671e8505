#!/usr/bin/env bash
# scripts/swarm/backup.sh - scripts/backup/backup.sh for a stack on swarm: run against the engine of the
# node that runs the stateful tasks (DOCKER_HOST = that node's engine, homeiq:swarmNodes), with the swarm
# service names the plan gives (HOMEIQ_INFLUX_CONTAINER, HOMEIQ_SQLITE_DBS) replaced by the containers
# of their running tasks there. Everything else, and every guarantee, is backup.sh's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
if [ -n "${HOMEIQ_INFLUX_CONTAINER:-}" ]; then
  HOMEIQ_INFLUX_CONTAINER=$(task_container "$HOMEIQ_INFLUX_CONTAINER")
fi
if [ -n "${HOMEIQ_SQLITE_DBS:-}" ]; then
  HOMEIQ_SQLITE_DBS=$(map_containers "$HOMEIQ_SQLITE_DBS")
fi
# Streamed through `docker exec` in the tasks: the direct transfer's one-off containers take the task's
# volumes with --volumes-from, which fails for a swarm task with a tmpfs mount ("get: no such volume").
HOMEIQ_BACKUP_TRANSFER=${HOMEIQ_BACKUP_TRANSFER:-stream}
export HOMEIQ_INFLUX_CONTAINER HOMEIQ_SQLITE_DBS HOMEIQ_BACKUP_TRANSFER
exec bash "$here/../backup/backup.sh"
