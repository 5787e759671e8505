#!/usr/bin/env bash
# Takes one consistent backup of a HomeIQ stack. Run by Pulumi Command resources
# (before a stateful container is replaced, on destroy, on demand) and by hand.
#
# Everything comes from HOMEIQ_* environment variables (contract: README.md in
# this folder); no arguments. Secrets (HOMEIQ_INFLUX_TOKEN) are read from the
# environment only, handed to `docker exec` by name (-e INFLUX_TOKEN), and never
# printed. Never add `set -x` here.
#
# Layout written: $HOMEIQ_BACKUP_ROOT/$HOMEIQ_STACK/<UTC yyyymmddThhmmssZ>/
#   manifest.json  manifest.sha256  config.json
#   influxdb/...                   files written by `influx backup`
#   sqlite/<service>/<db file>     SQLite online-backup copies
# The folder is built as <ts>.partial, every checksum is re-verified, then it is
# renamed; only then are backups beyond the newest HOMEIQ_BACKUP_KEEP deleted.
set -euo pipefail
umask 077 # backups hold InfluxDB's KV store (with its tokens): owner-only

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-backup
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

# --- environment ---------------------------------------------------------------
require_var HOMEIQ_STACK "$RE_STACK" "a stack name such as dev or prod"
# A leading ~ is the home folder of the machine running this script (the program's default is
# ~/homeiq-backups, left unresolved so its Command does not depend on who ran `pulumi`).
if [[ ${HOMEIQ_BACKUP_ROOT:-} == "~" || ${HOMEIQ_BACKUP_ROOT:-} == "~/"* ]]; then
  [[ ${HOME:-} == /* ]] || die "$EXIT_USAGE" "HOMEIQ_BACKUP_ROOT starts with ~ but HOME is not an absolute path"
  HOMEIQ_BACKUP_ROOT=${HOME%/}${HOMEIQ_BACKUP_ROOT:1}
fi
require_var HOMEIQ_BACKUP_ROOT "$RE_ABS_PATH" "an absolute path (or ~/...) of letters, digits and _ . / + - only"
path_has_dotdot "$HOMEIQ_BACKUP_ROOT" && die "$EXIT_USAGE" "HOMEIQ_BACKUP_ROOT must not contain '..'"
KEEP=${HOMEIQ_BACKUP_KEEP:-7}
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_BACKUP_KEEP must be a positive integer (got '$KEEP')"
REASON=${HOMEIQ_BACKUP_REASON:-manual}
REASON=${REASON//$'\n'/ }
INFLUX_CONTAINER=${HOMEIQ_INFLUX_CONTAINER:-}
[[ -z $INFLUX_CONTAINER || $INFLUX_CONTAINER =~ $RE_DOCKER_NAME ]] ||
  die "$EXIT_USAGE" "HOMEIQ_INFLUX_CONTAINER is not a valid container name"
INFLUX_TMP=${HOMEIQ_INFLUX_TMPDIR:-/tmp}
if [[ ! $INFLUX_TMP =~ $RE_ABS_PATH ]] || path_has_dotdot "$INFLUX_TMP"; then
  die "$EXIT_USAGE" "HOMEIQ_INFLUX_TMPDIR must be an absolute path without spaces, colons or '..'"
fi
CONFIG_JSON=${HOMEIQ_STACK_CONFIG_JSON:-"{}"}
IMAGES_JSON=${HOMEIQ_IMAGES_JSON:-"{}"}
IMAGES_JSON=${IMAGES_JSON//[$'\n\r']/ } # one line in the manifest, whose file entries are parsed by line
[[ $CONFIG_JSON =~ ^[[:space:]]*\{.*\}[[:space:]]*$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_STACK_CONFIG_JSON must be a JSON object ({...})"
[[ $IMAGES_JSON =~ ^[[:space:]]*\{.*\}[[:space:]]*$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_IMAGES_JSON must be a JSON object ({...})"

# HOMEIQ_SQLITE_DBS: "service=container:/abs/path/db service2=container2:/abs/path2"
SQL_SERVICES=() SQL_CONTAINERS=() SQL_PATHS=()
for entry in ${HOMEIQ_SQLITE_DBS:-}; do
  if [[ ! $entry =~ ^([a-z0-9][a-z0-9-]*)=([A-Za-z0-9][A-Za-z0-9_.-]*):(/[A-Za-z0-9_./+-]+)$ ]]; then
    die "$EXIT_USAGE" "HOMEIQ_SQLITE_DBS entry '$entry' is not service=container:/absolute/path/to/db"
  fi
  svc=${BASH_REMATCH[1]}
  path_has_dotdot "${BASH_REMATCH[3]}" && die "$EXIT_USAGE" "HOMEIQ_SQLITE_DBS entry '$entry': '..' in path"
  for s in "${SQL_SERVICES[@]}"; do
    [[ $s != "$svc" ]] || die "$EXIT_USAGE" "HOMEIQ_SQLITE_DBS names service '$svc' twice"
  done
  SQL_SERVICES+=("$svc") SQL_CONTAINERS+=("${BASH_REMATCH[2]}") SQL_PATHS+=("${BASH_REMATCH[3]}")
done

need_docker
command -v sha256sum >/dev/null || die "$EXIT_DOCKER" "sha256sum (coreutils) is not on PATH"

STACK_DIR=$HOMEIQ_BACKUP_ROOT/$HOMEIQ_STACK
log "stack '$HOMEIQ_STACK', reason '$REASON', backup root $HOMEIQ_BACKUP_ROOT, keep $KEEP"

# --- what exists? ----------------------------------------------------------------
influx_state=absent
if [[ -n $INFLUX_CONTAINER ]]; then
  influx_state=$(container_state "$INFLUX_CONTAINER")
  log "influxdb container $INFLUX_CONTAINER: $influx_state"
  if [[ $influx_state == stopped ]]; then
    die "$EXIT_STEP" "influxdb container $INFLUX_CONTAINER exists but is not running; 'influx backup' needs the server up (docker start $INFLUX_CONTAINER, then retry)"
  fi
  if [[ $influx_state == running ]]; then
    require_var HOMEIQ_INFLUX_TOKEN "" "the InfluxDB operator token (secret)"
  fi
fi
SQL_STATES=()
for i in "${!SQL_SERVICES[@]}"; do
  SQL_STATES[i]=$(container_state "${SQL_CONTAINERS[i]}")
  log "sqlite ${SQL_SERVICES[i]}: container ${SQL_CONTAINERS[i]} ${SQL_STATES[i]}"
done

anything=0
[[ $influx_state == running ]] && anything=1
for st in "${SQL_STATES[@]}"; do [[ $st == absent ]] || anything=1; done
if ((anything == 0)); then
  # Documented choice: no folder and no marker, so retention and restore only
  # ever see real backups.
  log "nothing to back up yet: no InfluxDB or SQLite container of stack '$HOMEIQ_STACK' exists (first deploy?)"
  echo "HOMEIQ_BACKUP_DIR="
  exit 0
fi

# --- the .partial folder -----------------------------------------------------------
mkdir -p "$STACK_DIR" || die "$EXIT_STEP" "cannot create $STACK_DIR"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  TS=$(date -u +%Y%m%dT%H%M%SZ)
  if [[ ! -e $STACK_DIR/$TS && ! -e $STACK_DIR/$TS.partial ]] && mkdir "$STACK_DIR/$TS.partial" 2>/dev/null; then
    break
  fi
  TS=
  sleep 1 # another backup of this stack took this second
done
[[ -n $TS ]] || die "$EXIT_STEP" "could not create a fresh backup folder under $STACK_DIR"
PARTIAL=$STACK_DIR/$TS.partial
FINAL=$STACK_DIR/$TS
CREATED_AT=$(date -u -d "${TS:0:8} ${TS:9:2}:${TS:11:2}:${TS:13:2}" +%Y-%m-%dT%H:%M:%SZ)
influx_tmp_in_container=

cleanup() {
  local rc=$?
  if [[ -n $influx_tmp_in_container ]]; then
    docker exec "$INFLUX_CONTAINER" rm -rf "$influx_tmp_in_container" >/dev/null 2>&1 || true
  fi
  if ((rc != 0)) && [[ -d $PARTIAL ]]; then
    rm -rf "$PARTIAL"
    printf '[%s] removed the incomplete backup folder %s\n' "$LOG_TAG" "$PARTIAL" >&2
  fi
}
trap cleanup EXIT
log "writing $PARTIAL"

# --- InfluxDB -------------------------------------------------------------------------
influx_json='null'
if [[ $influx_state == running ]]; then
  influx_tmp_in_container=$INFLUX_TMP/homeiq-backup-$TS-$$
  log "influxdb: influx backup in $INFLUX_CONTAINER (token passed by environment)"
  t0=$(now_ns)
  # The token goes to the docker CLI's environment only; `-e INFLUX_TOKEN` names
  # it, and the influx CLI reads $INFLUX_TOKEN itself: it is in no argv.
  if ! INFLUX_TOKEN=$HOMEIQ_INFLUX_TOKEN docker exec -e INFLUX_TOKEN "$INFLUX_CONTAINER" \
    influx backup "$influx_tmp_in_container" 2>&1 | sed -u 's/^/  influx: /'; then
    die "$EXIT_STEP" "influxdb: 'influx backup' failed in container $INFLUX_CONTAINER (see the lines above)"
  fi
  mkdir "$PARTIAL/influxdb"
  log "influxdb: copying the backup out of the container"
  if ! docker exec "$INFLUX_CONTAINER" tar -C "$influx_tmp_in_container" -cf - . |
    tar -C "$PARTIAL/influxdb" -xf - --no-same-owner --no-same-permissions; then
    die "$EXIT_STEP" "influxdb: streaming $influx_tmp_in_container out of $INFLUX_CONTAINER failed"
  fi
  docker exec "$INFLUX_CONTAINER" rm -rf "$influx_tmp_in_container" >/dev/null 2>&1 ||
    warn "influxdb: could not remove $influx_tmp_in_container in $INFLUX_CONTAINER"
  influx_tmp_in_container=
  [[ -n $(find "$PARTIAL/influxdb" -type f -print -quit) ]] ||
    die "$EXIT_STEP" "influxdb: 'influx backup' produced no files"
  bytes=$(du -sb "$PARTIAL/influxdb" | cut -f1)
  ns=$(($(now_ns) - t0))
  log "influxdb: $(human_mb "$bytes") in $((ns / 1000000)) ms ($(rate "$bytes" "$ns"))"
  influx_json="{\"container\": $(json_str "$INFLUX_CONTAINER"), \"status\": \"backed-up\", \"dir\": \"influxdb\"}"
elif [[ -n $INFLUX_CONTAINER ]]; then
  log "influxdb: container $INFLUX_CONTAINER does not exist; nothing to back up for it"
  influx_json="{\"container\": $(json_str "$INFLUX_CONTAINER"), \"status\": \"not-deployed\"}"
fi

# --- SQLite -----------------------------------------------------------------------------
# The program goes in argv (`python3 -c`, not secret), not on stdin: no stdin
# attach, which the 20.10 CLI can hang in (docker/cli#2542).
SQLITE_BACKUP_PY=$(<"$HERE/sqlite_backup.py")
sqlite_lines=()
for i in "${!SQL_SERVICES[@]}"; do
  svc=${SQL_SERVICES[i]} ctr=${SQL_CONTAINERS[i]} dbpath=${SQL_PATHS[i]} state=${SQL_STATES[i]}
  base=$(basename "$dbpath")
  rel=sqlite/$svc/$base
  common="\"service\": $(json_str "$svc"), \"container\": $(json_str "$ctr"), \"path\": $(json_str "$dbpath")"
  if [[ $state == absent ]]; then
    log "sqlite $svc: container $ctr does not exist; nothing to back up for it"
    sqlite_lines+=("{$common, \"status\": \"not-deployed\"}")
    continue
  fi
  mkdir -p "$PARTIAL/sqlite/$svc"
  errf=$PARTIAL/.sqlite-$svc.stderr
  t0=$(now_ns)
  if [[ $state == running ]]; then
    log "sqlite $svc: online backup of $dbpath in running container $ctr"
    method="exec"
    cmd=(docker exec "$ctr" python3 -c "$SQLITE_BACKUP_PY" "$dbpath")
  else
    image=$(docker container inspect --format '{{.Image}}' "$ctr")
    user=$(docker container inspect --format '{{.Config.User}}' "$ctr")
    log "sqlite $svc: container $ctr is stopped; online backup of $dbpath through a one-off container of its image"
    method="run"
    cmd=(docker run --rm --network none --volumes-from "$ctr" ${user:+--user "$user"} --entrypoint python3 "$image" -c "$SQLITE_BACKUP_PY" "$dbpath")
  fi
  set +e
  "${cmd[@]}" </dev/null >"$PARTIAL/$rel" 2>"$errf"
  rc=$?
  set -e
  grep -v '^HOMEIQ_SQLITE_RESULT ' "$errf" | sed 's/^/  /' || true
  result=$(sed -n 's/^HOMEIQ_SQLITE_RESULT //p' "$errf" | tail -n 1)
  rm -f "$errf"
  if ((rc == 3)); then
    log "sqlite $svc: $ctr has no database at $dbpath yet; nothing to back up for it"
    rm -rf "${PARTIAL:?}/sqlite/$svc"
    sqlite_lines+=("{$common, \"status\": \"no-database-file\", \"method\": \"$method\"}")
    continue
  fi
  ((rc == 0)) || die "$EXIT_STEP" "sqlite $svc: online backup of $dbpath in $ctr failed (exit $rc; see the lines above)"
  want_sha=$(sed -n 's/.*"sha256": "\([0-9a-f]\{64\}\)".*/\1/p' <<<"$result")
  want_size=$(sed -n 's/.*"size": \([0-9]*\).*/\1/p' <<<"$result")
  got_sha=$(sha256sum "$PARTIAL/$rel" | cut -d' ' -f1)
  got_size=$(stat -c %s "$PARTIAL/$rel")
  if [[ -z $want_sha || $want_sha != "$got_sha" || $want_size != "$got_size" ]]; then
    die "$EXIT_STEP" "sqlite $svc: the copy received ($got_size bytes) does not match what the container sent (${want_size:-?} bytes)"
  fi
  ns=$(($(now_ns) - t0))
  log "sqlite $svc: $(human_mb "$got_size") in $((ns / 1000000)) ms ($(rate "$got_size" "$ns")), quick_check ok"
  sqlite_lines+=("{$common, \"status\": \"backed-up\", \"method\": \"$method\", \"file\": $(json_str "$rel")}")
done

# --- config, manifest ------------------------------------------------------------------
printf '%s\n' "$CONFIG_JSON" >"$PARTIAL/config.json"

log "computing checksums"
file_lines=()
while IFS= read -r -d '' f; do
  rel=${f#"$PARTIAL"/}
  [[ $rel =~ ^[A-Za-z0-9_./+-]+$ ]] || die "$EXIT_STEP" "unexpected file name in the backup: '$rel'"
  size=$(stat -c %s "$f")
  sha=$(sha256sum "$f" | cut -d' ' -f1)
  file_lines+=("    {\"path\": \"$rel\", \"size\": $size, \"sha256\": \"$sha\"}")
done < <(find "$PARTIAL" -type f ! -name manifest.json ! -name manifest.sha256 -print0 | sort -z)

join_lines() { # separator items...: the items with the separator between them
  local sep=$1 first=1 item
  shift
  for item in "$@"; do
    ((first)) || printf '%s' "$sep"
    first=0
    printf '%s' "$item"
  done
}
{
  printf '{\n'
  printf '  "format": "homeiq-backup/1",\n'
  printf '  "stack": %s,\n' "$(json_str "$HOMEIQ_STACK")"
  printf '  "createdAt": "%s",\n' "$CREATED_AT"
  printf '  "reason": %s,\n' "$(json_str "$REASON")"
  printf '  "images": %s,\n' "$IMAGES_JSON"
  printf '  "influxdb": %s,\n' "$influx_json"
  printf '  "sqlite": ['
  if ((${#sqlite_lines[@]})); then
    printf '\n    '
    join_lines $',\n    ' "${sqlite_lines[@]}"
    printf '\n  '
  fi
  printf '],\n'
  printf '  "files": [\n'
  join_lines $',\n' "${file_lines[@]}"
  printf '\n  ]\n}\n'
} >"$PARTIAL/manifest.json"
(cd "$PARTIAL" && sha256sum manifest.json >manifest.sha256)

# --- verify what was written, then publish ---------------------------------------------
log "verifying ${#file_lines[@]} files against the manifest"
for l in "${file_lines[@]}"; do
  [[ $l =~ \"path\":\ \"([^\"]+)\",\ \"size\":\ ([0-9]+),\ \"sha256\":\ \"([0-9a-f]{64})\" ]] ||
    die "$EXIT_STEP" "internal error: cannot parse manifest line $l"
  p=${BASH_REMATCH[1]}
  [[ $(stat -c %s "$PARTIAL/$p") == "${BASH_REMATCH[2]}" ]] || die "$EXIT_STEP" "verification: size of $p changed"
  [[ $(sha256sum "$PARTIAL/$p" | cut -d' ' -f1) == "${BASH_REMATCH[3]}" ]] ||
    die "$EXIT_STEP" "verification: checksum of $p changed"
done
(cd "$PARTIAL" && sha256sum --quiet -c manifest.sha256) || die "$EXIT_STEP" "verification: manifest.json changed"
sync -f "$PARTIAL/manifest.json" 2>/dev/null || true
mv -T "$PARTIAL" "$FINAL" || die "$EXIT_STEP" "could not rename $PARTIAL to $FINAL"
total=$(du -sb "$FINAL" | cut -f1)
log "backup complete: $FINAL ($(human_mb "$total"), ${#file_lines[@]} files)"

# --- retention: newest $KEEP complete backups of this stack ------------------------------
mapfile -t complete < <(find "$STACK_DIR" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
  -regex '.*/[0-9]{8}T[0-9]{6}Z' -printf '%f\n' | sort)
excess=$((${#complete[@]} - KEEP))
if ((excess > 0)); then
  for old in "${complete[@]:0:excess}"; do
    log "retention: deleting $STACK_DIR/$old (keeping the newest $KEEP)"
    rm -rf "${STACK_DIR:?}/$old"
  done
else
  log "retention: ${#complete[@]} backup(s) of '$HOMEIQ_STACK', keeping up to $KEEP"
fi
echo "HOMEIQ_BACKUP_DIR=$FINAL"
