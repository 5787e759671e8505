#!/usr/bin/env bash
# scripts/swarm/set-retention.sh - scripts/influxdb/set-retention.sh for a stack on swarm: run against the
# engine of the node that runs InfluxDB's task (DOCKER_HOST), with HOMEIQ_INFLUX_CONTAINER (the InfluxDB
# service's name) replaced by its running task's container there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
HOMEIQ_INFLUX_CONTAINER=$(task_container "${HOMEIQ_INFLUX_CONTAINER:?HOMEIQ_INFLUX_CONTAINER (the InfluxDB service) is required}")
export HOMEIQ_INFLUX_CONTAINER
exec bash "$here/../influxdb/set-retention.sh"
