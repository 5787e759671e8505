#!/usr/bin/env bash
# Restore as the Pulumi program runs it: verify the whole backup (HOMEIQ_RESTORE_VERIFY_ONLY=1), stop
# the containers that read the restored volumes, then restore. A missing or
# corrupt backup is refused before any container is stopped or any file is written.
#
# Environment: everything restore.sh takes, plus
#   HOMEIQ_STOP_CONTAINERS  space-separated container names to stop before their databases are
#                           replaced (Pulumi starts their replacements after this step)
# Never add `set -x` here: HOMEIQ_INFLUX_TOKEN is a secret.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

echo "[homeiq-restore] verifying ${HOMEIQ_RESTORE_DIR:-?} before stopping anything"
HOMEIQ_RESTORE_VERIFY_ONLY=1 bash "${here}/restore.sh"

for container in ${HOMEIQ_STOP_CONTAINERS:-}; do
    if [ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null || true)" = "true" ]; then
        echo "[homeiq-restore] stopping ${container} so its database can be replaced"
        docker stop --time 30 "$container" >/dev/null
    fi
done

exec bash "${here}/restore.sh"
