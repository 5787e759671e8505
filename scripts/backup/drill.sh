#!/usr/bin/env bash
# The restore drill: proves the newest backup restores, without touching the live stack. Run monthly by the
# schedule (scripts/schedule) and by hand.
#
# For the newest local backup of the stack (and, when HOMEIQ_COPY_REPO is set, the newest off-host copy,
# fetched into a scratch folder): restore.sh verifies it completely (manifest, every file's size and
# sha256), then restores it into SCRATCH containers and volumes of the services' own images (as the
# manifest records them), on no network (--network none): a fresh InfluxDB gets `influx restore --full`,
# each SQLite database goes into a scratch volume; then every database gets PRAGMA integrity_check and its
# tables' row counts, and InfluxDB must answer `influx bucket list` with the stack's token. Every scratch
# object is removed afterwards (labelled as lib.sh describes: a killed drill's are swept by the next run).
#
# Records each run in <root>/<stack>/drill.log (one line per source) and <root>/<stack>/drill-last.txt.
# Environment: HOMEIQ_STACK, HOMEIQ_BACKUP_ROOT, HOMEIQ_INFLUX_TOKEN (secret; the scratch InfluxDB is set up
# with it, and the restored one must accept it), optional HOMEIQ_COPY_* as copy.sh, HOMEIQ_DRILL_FOLDER (a
# folder name; default the newest).
# Exit: 0 every source restored and checked; 2 bad variable; 3 no backup, or an image/engine missing;
#       4 a source failed the drill (named; the other is still drilled).
# Never add `set -x` here: the token is a secret.
set -euo pipefail
umask 077

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-drill
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

require_var HOMEIQ_STACK "$RE_STACK" "a stack name such as dev or prod"
require_backup_root
WANT=${HOMEIQ_DRILL_FOLDER:-}
[[ -z $WANT || $WANT =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die "$EXIT_USAGE" "HOMEIQ_DRILL_FOLDER must be a backup folder name (yyyymmddThhmmssZ) (got '$WANT')"
STACK_DIR=$HOMEIQ_BACKUP_ROOT/$HOMEIQ_STACK
need_docker
sweep_abandoned_scratch

WORK=$(mktemp -d "${TMPDIR:-/tmp}/homeiq-drill.XXXXXX")
cleanup() {
  remove_own_scratch >/dev/null
  rm -rf "$WORK"
}
on_exit cleanup

# manifest_image <dir> <service>: the image the manifest records for a service ("" if none).
manifest_image() {
  sed -n 's/^  "images": \(.*\),$/\1/p' "$1/manifest.json" | grep -o "\"$2\": *\"[^\"]*\"" | sed 's/.*: *"\(.*\)"/\1/' | head -n 1
}

# drill_one <backup folder> <source label>: prints progress; returns 0 when restored and checked.
drill_one() {
  local dir=$1 source=$2 n=$RANDOM influx_image helper='' svc f vol rows restores=() ok=1
  log "$source: drilling $dir"
  if ! HOMEIQ_RESTORE_DIR=$dir HOMEIQ_STACK=$HOMEIQ_STACK HOMEIQ_RESTORE_VERIFY_ONLY=1 bash "$HERE/restore.sh" 2>&1 | sed 's/^/  /'; then
    warn "$source: $dir does not verify (see above): it would not restore"
    return 1
  fi
  # What the backup holds, and the images it was taken with.
  local influx_files sqlite_files=()
  influx_files=$(grep -c '"path": "influxdb/' "$dir/manifest.json" || true)
  mapfile -t sqlite_files < <(sed -n 's/^    {"path": "\(sqlite\/[^"]*\)".*/\1/p' "$dir/manifest.json")
  local scratch=homeiq-drill-$$-$n influx_ctr=''
  if ((influx_files > 0)); then
    influx_image=$(manifest_image "$dir" influxdb)
    [[ -n $influx_image ]] && docker image inspect "$influx_image" >/dev/null 2>&1 || {
      warn "$source: the InfluxDB image the backup was taken with (${influx_image:-not recorded}) is not on this host"
      return 1
    }
    influx_ctr=$scratch-influxdb
    docker volume create "${SCRATCH_LABEL_ARGS[@]}" "$influx_ctr" >/dev/null
    # /etc/influxdb2 on a scratch volume too: the image declares it a VOLUME, and the setup writes the
    # stack's token into its influx-configs; an anonymous volume there would outlive the drill (the scratch
    # cleanup removes containers without -v), leaving the token on disk after every drill.
    docker volume create "${SCRATCH_LABEL_ARGS[@]}" "$influx_ctr-config" >/dev/null
    # A fresh server on no network, set up as the influxdb:2.7 entrypoint does; its operator token is the
    # stack's (by environment), so `influx restore --full` may replace everything.
    # The password and the token are in the docker CLI's environment, named by -e, never in its argv.
    DOCKER_INFLUXDB_INIT_ADMIN_TOKEN=$HOMEIQ_INFLUX_TOKEN DOCKER_INFLUXDB_INIT_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=') \
      docker run -d --name "$influx_ctr" "${SCRATCH_LABEL_ARGS[@]}" --network none -v "$influx_ctr:/var/lib/influxdb2" -v "$influx_ctr-config:/etc/influxdb2" \
      -e DOCKER_INFLUXDB_INIT_MODE=setup -e DOCKER_INFLUXDB_INIT_USERNAME=drill -e DOCKER_INFLUXDB_INIT_PASSWORD \
      -e DOCKER_INFLUXDB_INIT_ORG=drill -e DOCKER_INFLUXDB_INIT_BUCKET=drill -e DOCKER_INFLUXDB_INIT_ADMIN_TOKEN \
      "$influx_image" >/dev/null 2>"$WORK/err" || { warn "$source: cannot start a scratch InfluxDB: $(tail -n 2 "$WORK/err")"; return 1; }
    # Bounded by the clock, not a count: through an ssh:// engine each docker call is a login of its own.
    local deadline=$((SECONDS + 120))
    until docker exec "$influx_ctr" influx ping >/dev/null 2>&1; do
      ((SECONDS < deadline)) || { warn "$source: the scratch InfluxDB did not answer within 120 s"; return 1; }
      sleep 0.5
    done
  fi
  for f in "${sqlite_files[@]}"; do
    svc=${f#sqlite/} svc=${svc%%/*}
    [[ -n $helper ]] || helper=$(manifest_image "$dir" "$svc")
    vol=$scratch-$svc
    docker volume create "${SCRATCH_LABEL_ARGS[@]}" "$vol" >/dev/null
    restores+=("$svc=$vol:$(basename "$f")")
  done
  if [[ -n $helper ]] && ! docker image inspect "$helper" >/dev/null 2>&1; then
    warn "$source: the image the backup was taken with ($helper) is not on this host"
    return 1
  fi
  if ! HOMEIQ_RESTORE_DIR=$dir HOMEIQ_STACK=$HOMEIQ_STACK HOMEIQ_INFLUX_CONTAINER=$influx_ctr HOMEIQ_INFLUX_TOKEN=$HOMEIQ_INFLUX_TOKEN \
    HOMEIQ_SQLITE_RESTORES="${restores[*]}" HOMEIQ_RESTORE_HELPER_IMAGE=$helper bash "$HERE/restore.sh" 2>&1 | sed 's/^/  /'; then
    warn "$source: restoring $dir into scratch containers failed (see above)"
    return 1
  fi
  local checks=()
  if [[ -n $influx_ctr ]]; then
    # The stack's bucket, as config.json (the stack's non-secret config) names it, must be there: the
    # program writes its keys (influxdbOrg, influxdbBucket), a config by hand may say org and bucket.
    local org bucket
    org=$(grep -o '"\(influxdbOrg\|org\)": *"[^"]*"' "$dir/config.json" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
    bucket=$(grep -o '"\(influxdbBucket\|bucket\)": *"[^"]*"' "$dir/config.json" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
    if [[ -z $org || -z $bucket ]]; then
      warn "$source: config.json names no InfluxDB org and bucket; only the restore itself was checked"
      checks+=("influxdb: restored")
    elif INFLUX_TOKEN=$HOMEIQ_INFLUX_TOKEN docker exec -e INFLUX_TOKEN "$influx_ctr" influx bucket list --org "$org" --name "$bucket" --hide-headers >"$WORK/buckets" 2>&1 &&
      [[ -s $WORK/buckets ]]; then
      checks+=("influxdb: restored, answers with the stack's token, bucket $bucket of org $org present")
    else
      warn "$source: the restored InfluxDB does not list bucket $bucket of org $org with the stack's token: $(tail -n 2 "$WORK/buckets")"
      ok=0
    fi
  fi
  for r in "${restores[@]}"; do
    svc=${r%%=*} vol=${r#*=} vol=${vol%%:*}
    if rows=$(docker run --rm "${SCRATCH_LABEL_ARGS[@]}" --network none -v "$vol:/d:ro" --entrypoint python3 "$helper" -c '
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro&immutable=1", uri=True)
r = c.execute("PRAGMA integrity_check").fetchone()[0]
if r != "ok":
    print("integrity_check: " + r)
    sys.exit(8)
tables = [t for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE ? ORDER BY name", ("table", "sqlite_%"))]
print(" ".join("%s=%d" % (t, c.execute("SELECT count(*) FROM \"%s\"" % t.replace("\"", "\"\"")).fetchone()[0]) for t in tables))
' "/d/$(basename "${r##*:}")" 2>&1); then
      checks+=("sqlite $svc: integrity_check ok, rows: ${rows:-no tables}")
    else
      warn "$source: sqlite $svc: $rows"
      ok=0
    fi
  done
  local c
  for c in "${checks[@]}"; do log "$source: $c"; done
  ((ok)) || return 1
  printf '%s\n' "${checks[@]}" >"$WORK/checks"
}

record() { # <source> <folder> <ok|FAILED>
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $1 $2 $3"
  printf '%s\n' "$line" >>"$STACK_DIR/drill.log"
  printf '%s\n' "$line" >>"$WORK/summary"
}

failed=()
# --- the newest local backup ---------------------------------------------------------------------------------
mkdir -p "$STACK_DIR"
newest=$WANT
if [[ -z $newest ]]; then
  newest=$(find "$STACK_DIR" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9]{8}T[0-9]{6}Z' -printf '%f\n' | LC_ALL=C sort | tail -n 1)
fi
[[ -n $newest && -d $STACK_DIR/$newest ]] || die "$EXIT_DOCKER" "no backup of stack '$HOMEIQ_STACK' under $HOMEIQ_BACKUP_ROOT${WANT:+ named $WANT} to drill"
if drill_one "$STACK_DIR/$newest" local; then record local "$newest" ok; else record local "$newest" FAILED; failed+=("local:$newest"); fi
remove_own_scratch >/dev/null

# --- the newest off-host copy ----------------------------------------------------------------------------------
if [[ -n ${HOMEIQ_COPY_REPO:-} ]]; then
  copy_root=$WORK/copy
  if out=$(HOMEIQ_BACKUP_ROOT=$copy_root HOMEIQ_COPY_FOLDER=latest bash "$HERE/fetch-copy.sh" 2>&1); then
    sed 's/^/  /' <<<"$out" | grep -v '^  HOMEIQ_BACKUP_DIR=' || true
    dir=$(sed -n 's/^HOMEIQ_BACKUP_DIR=//p' <<<"$out" | tail -n 1)
    if drill_one "$dir" copy; then record copy "$(basename "$dir")" ok; else record copy "$(basename "$dir")" FAILED; failed+=("copy:$(basename "$dir")"); fi
  else
    sed 's/^/  /' <<<"$out" >&2
    warn "copy: the newest off-host copy could not be fetched from $HOMEIQ_COPY_REPO (see above)"
    record copy "-" FAILED
    failed+=("copy:fetch")
  fi
fi

cp "$WORK/summary" "$STACK_DIR/drill-last.txt"
((${#failed[@]} == 0)) || die "$EXIT_STEP" "restore drill FAILED for: ${failed[*]} (see above); the live stack was not touched"
log "restore drill passed: $(tr '\n' ';' <"$WORK/summary")"
