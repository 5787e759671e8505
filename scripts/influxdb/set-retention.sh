#!/usr/bin/env bash
# Makes the retention of one InfluxDB 2.x bucket equal to HOMEIQ_INFLUX_RETENTION
# on a running InfluxDB container. The influxdb image applies
# DOCKER_INFLUXDB_INIT_RETENTION only when it first creates the bucket; this
# script applies a later change. Run by a Pulumi Command resource and by hand.
#
# Everything comes from HOMEIQ_* environment variables (contract: README.md in
# this folder); no arguments. The token (HOMEIQ_INFLUX_TOKEN) is read from the
# environment only, handed to `docker exec` by name (-e INFLUX_TOKEN), and never
# printed. Never add `set -x` here.
#
# Calls, inside the container (influx 2.7 CLI syntax):
#   influx bucket list --org ORG --name BUCKET --hide-headers
#   influx bucket update --id ID --retention RETENTION     (only if it differs)
#
# Exit: 0 done (changed or already equal); 2 a HOMEIQ_* variable is missing or
# malformed; 3 docker / the container is not usable, or the bucket cannot be
# found (nothing changed); 4 the update failed or did not take effect.
set -euo pipefail

readonly EXIT_USAGE=2
readonly EXIT_PRECONDITION=3
readonly EXIT_UPDATE=4
readonly TAG=homeiq-influx-retention

log() { printf '[%s] %s\n' "$TAG" "$*"; }
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}
# require_var <NAME> <regex> <description>: never prints the value.
require_var() {
  local name=$1 re=$2 what=$3
  [[ -n ${!name:-} ]] || die "$EXIT_USAGE" "environment variable $name is required ($what)"
  [[ -z $re || ${!name} =~ $re ]] || die "$EXIT_USAGE" "environment variable $name is malformed: expected $what"
}
indent() { sed -u "s/^/  influx: /"; }

# --- environment -------------------------------------------------------------------
# Org and bucket names: printable, no tab/newline (the list output is tab-separated),
# not starting with '-' (they are passed as flag values).
readonly RE_NAME='^[^-[:cntrl:]][^[:cntrl:]]*$'
require_var HOMEIQ_INFLUX_CONTAINER '^[A-Za-z0-9][A-Za-z0-9_.-]*$' "a Docker container name"
require_var HOMEIQ_INFLUX_TOKEN '' "the InfluxDB operator token (secret)"
require_var HOMEIQ_INFLUX_ORG "$RE_NAME" "an organization name without control characters, not starting with '-'"
require_var HOMEIQ_INFLUX_BUCKET "$RE_NAME" "a bucket name without control characters, not starting with '-'"
# 0s (forever) or 1-99999 days (the program's homeiq:influxdbRetentionDays has the same bound, catalog/rules.ts).
readonly RE_RETENTION='^(0s|[1-9][0-9]{0,4}d)$'
require_var HOMEIQ_INFLUX_RETENTION "$RE_RETENTION" "0s (infinite) or <days>d such as 365d"
[[ -n ${DOCKER_HOST:-} ]] || unset DOCKER_HOST # an empty DOCKER_HOST means the default engine

CONTAINER=$HOMEIQ_INFLUX_CONTAINER
ORG=$HOMEIQ_INFLUX_ORG
BUCKET=$HOMEIQ_INFLUX_BUCKET
RETENTION=$HOMEIQ_INFLUX_RETENTION
# What `influx bucket list` shows for it (Go duration notation).
if [[ $RETENTION == 0s ]]; then
  WANT=infinite
else
  WANT="$((10#${RETENTION%d} * 24))h0m0s"
fi

# --- preconditions -------------------------------------------------------------------
command -v docker >/dev/null || die "$EXIT_PRECONDITION" "the docker CLI is not on PATH"
if ! running=$(docker container inspect --format '{{.State.Running}}' "$CONTAINER" 2>&1); then
  die "$EXIT_PRECONDITION" "influxdb container $CONTAINER does not exist or the Docker engine does not answer (DOCKER_HOST=${DOCKER_HOST:-default}): ${running##*$'\n'}"
fi
[[ $running == true ]] || die "$EXIT_PRECONDITION" "influxdb container $CONTAINER is not running; start it and retry"

# influx <args...>: the influx CLI in the container, token by environment only
# (it is in the docker CLI's environment, never in an argv).
influx() { INFLUX_TOKEN=$HOMEIQ_INFLUX_TOKEN docker exec -e INFLUX_TOKEN "$CONTAINER" influx "$@"; }

# current_retention: prints "<id>\t<retention>" of the bucket; exits 3 if it cannot.
current_retention() {
  local out rc=0 matches
  out=$(influx bucket list --org "$ORG" --name "$BUCKET" --hide-headers 2>&1) || rc=$?
  if ((rc != 0)); then
    printf '%s\n' "$out" | indent >&2
    if [[ $out == *"not found"* ]]; then
      die "$EXIT_PRECONDITION" "bucket '$BUCKET' not found in org '$ORG' (container $CONTAINER); nothing changed"
    fi
    # influx 2.7: "401 Unauthorized: unauthorized access". The token was accepted when the data was set up,
    # so this one is another: DOCKER_INFLUXDB_INIT_ADMIN_TOKEN applies only to an empty data volume.
    if [[ $out == *[Uu]nauthorized* ]]; then
      die "$EXIT_PRECONDITION" "InfluxDB in container $CONTAINER refused HOMEIQ_INFLUX_TOKEN: it is not the operator token its data was set up with. A data volume kept from an earlier deployment keeps the token it was first set up with (pulumi destroy keeps the volume; an unset homeiq:influxdbAdminToken is generated anew); set homeiq:influxdbAdminToken to that token (pulumi config set --secret homeiq:influxdbAdminToken), or remove the volume if its data is not wanted; nothing changed"
    fi
    die "$EXIT_PRECONDITION" "'influx bucket list' for bucket '$BUCKET' in org '$ORG' failed in container $CONTAINER (exit $rc, see above); nothing changed"
  fi
  # Tab-separated: ID, Name, Retention, Shard group duration, Organization ID, Schema Type.
  matches=$(printf '%s\n' "$out" | awk -F'\t' -v b="$BUCKET" '
    function trim(s) { gsub(/^[ ]+|[ ]+$/, "", s); return s }
    trim($2) == b { print trim($1) "\t" trim($3) }')
  [[ -n $matches ]] || die "$EXIT_PRECONDITION" "bucket '$BUCKET' not found in org '$ORG' (container $CONTAINER); nothing changed"
  [[ $matches != *$'\n'* ]] || die "$EXIT_PRECONDITION" "more than one bucket named '$BUCKET' listed in org '$ORG' (container $CONTAINER); nothing changed"
  printf '%s\n' "$matches"
}

# --- look, compare, update -------------------------------------------------------------
row=$(current_retention)
ID=${row%%$'\t'*}
HAVE=${row#*$'\t'}
[[ $ID =~ ^[0-9a-f]+$ ]] || die "$EXIT_PRECONDITION" "bucket '$BUCKET' in org '$ORG': unexpected bucket id in 'influx bucket list' output"
log "bucket '$BUCKET' (id $ID) in org '$ORG', container $CONTAINER: current retention $HAVE, wanted $RETENTION ($WANT)"

if [[ $HAVE == "$WANT" ]]; then
  log "retention unchanged: already $HAVE"
  exit 0
fi

log "updating retention: $HAVE -> $WANT"
if ! influx bucket update --id "$ID" --retention "$RETENTION" 2>&1 | indent; then
  die "$EXIT_UPDATE" "'influx bucket update' of bucket '$BUCKET' (id $ID) in org '$ORG' failed in container $CONTAINER (see above); retention is still $HAVE"
fi
row=$(current_retention)
NOW=${row#*$'\t'}
[[ $NOW == "$WANT" ]] ||
  die "$EXIT_UPDATE" "after 'influx bucket update', bucket '$BUCKET' in org '$ORG' shows retention $NOW, not $WANT"
log "retention changed: $HAVE -> $NOW"
