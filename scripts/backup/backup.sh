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
# Transfer: on a local engine (DIRECT) `influx backup` and the SQLite online backup
# run in one-off containers of the services' own images that write straight into
# the bind-mounted backup folder (each byte written once); on a remote engine
# (STREAM) the bytes come through the docker CLI. Every file is then hashed once,
# after it was written and fsynced, into the manifest.
# The folder is built as <ts>.partial, checked against the manifest, fsynced, then
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
require_backup_root
KEEP=${HOMEIQ_BACKUP_KEEP:-7}
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_BACKUP_KEEP must be a positive integer (got '$KEEP')"
KEEP_DAYS=${HOMEIQ_BACKUP_KEEP_DAYS:-30}
[[ $KEEP_DAYS =~ ^(0|[1-9][0-9]{0,4})$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_BACKUP_KEEP_DAYS must be a whole number of days from 0 to 99999 (got '$KEEP_DAYS')"
LOCK_WAIT=${HOMEIQ_BACKUP_LOCK_WAIT_SECONDS:-3600}
[[ $LOCK_WAIT =~ ^[0-9]+$ ]] || die "$EXIT_USAGE" "HOMEIQ_BACKUP_LOCK_WAIT_SECONDS must be a whole number of seconds (got '$LOCK_WAIT')"
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
IF_NOTHING=${HOMEIQ_BACKUP_IF_NOTHING:-fail}
[[ $IF_NOTHING =~ ^(fail|skip)$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_BACKUP_IF_NOTHING must be fail or skip (got '$IF_NOTHING')"
TRANSFER=${HOMEIQ_BACKUP_TRANSFER:-auto}
[[ $TRANSFER =~ ^(auto|direct|stream)$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_BACKUP_TRANSFER must be auto, direct or stream (got '$TRANSFER')"
case ${DOCKER_HOST:-} in
  "" | unix://*) ;;
  *)
    # A bind mount names a folder on the engine's machine: only a local engine can write into ours.
    [[ $TRANSFER != direct ]] ||
      die "$EXIT_USAGE" "HOMEIQ_BACKUP_TRANSFER=direct needs a local engine (DOCKER_HOST unset or unix://...)"
    TRANSFER=stream
    ;;
esac

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
sweep_abandoned_scratch
command -v sha256sum >/dev/null || die "$EXIT_DOCKER" "sha256sum (coreutils) is not on PATH"
INFLUX_BACKUP_SH=$(<"$HERE/influx_backup.sh")

STACK_DIR=$HOMEIQ_BACKUP_ROOT/$HOMEIQ_STACK
log "stack '$HOMEIQ_STACK', reason '$REASON', backup root $HOMEIQ_BACKUP_ROOT, keep $KEEP_DAYS days (never fewer than the newest $KEEP), transfer $TRANSFER"

# --- what exists? ----------------------------------------------------------------
# inspect_container <name>: "running|<image id>|<user>", "stopped|<image id>|<user>" or "absent||"
# (one docker call: what the steps need later, too).
inspect_container() {
  local facts
  if facts=$(docker container inspect --format '{{.State.Running}}|{{.Image}}|{{.Config.User}}' "$1" 2>/dev/null); then
    [[ $facts == true\|* ]] && echo "running|${facts#*|}" || echo "stopped|${facts#*|}"
  else
    echo "absent||"
  fi
}
influx_state=absent INFLUX_IMAGE=
if [[ -n $INFLUX_CONTAINER ]]; then
  IFS='|' read -r influx_state INFLUX_IMAGE _ < <(inspect_container "$INFLUX_CONTAINER")
  log "influxdb container $INFLUX_CONTAINER: $influx_state"
  if [[ $influx_state == stopped ]]; then
    die "$EXIT_STEP" "influxdb container $INFLUX_CONTAINER exists but is not running; 'influx backup' needs the server up (docker start $INFLUX_CONTAINER, then retry)"
  fi
  if [[ $influx_state == running ]]; then
    require_var HOMEIQ_INFLUX_TOKEN "" "the InfluxDB operator token (secret)"
  fi
fi
SQL_STATES=() SQL_IMAGES=() SQL_USERS=()
for i in "${!SQL_SERVICES[@]}"; do
  IFS='|' read -r "SQL_STATES[i]" "SQL_IMAGES[i]" "SQL_USERS[i]" < <(inspect_container "${SQL_CONTAINERS[i]}")
  log "sqlite ${SQL_SERVICES[i]}: container ${SQL_CONTAINERS[i]} ${SQL_STATES[i]}"
done

anything=0
[[ $influx_state == running ]] && anything=1
for st in "${SQL_STATES[@]}"; do [[ $st == absent ]] || anything=1; done
if ((anything == 0)); then
  looked_for="InfluxDB container '${INFLUX_CONTAINER:-(HOMEIQ_INFLUX_CONTAINER not set)}'"
  for i in "${!SQL_SERVICES[@]}"; do looked_for+=", ${SQL_SERVICES[i]} container '${SQL_CONTAINERS[i]}'"; done
  ((${#SQL_SERVICES[@]})) || looked_for+=", no SQLite database (HOMEIQ_SQLITE_DBS not set)"
  if [[ $IF_NOTHING == skip ]]; then
    # The pre-change backup of a first deploy. No folder and no marker, so retention and restore only
    # ever see real backups.
    log "nothing to back up yet: no InfluxDB or SQLite container of stack '$HOMEIQ_STACK' exists (first deploy?); looked for $looked_for"
    echo "HOMEIQ_BACKUP_DIR="
    exit 0
  fi
  # Anything else (by hand, scheduled, on destroy) expects a deployed stack: a backup that silently
  # backs up nothing is worse than none.
  die "$EXIT_DOCKER" "nothing to back up for stack '$HOMEIQ_STACK': looked for $looked_for, and none exists (or is running). Check the names (the stack's schedule folder <backup root>/<stack>/.schedule/backup/env holds the environment the program uses), or set HOMEIQ_BACKUP_IF_NOTHING=skip for a stack not deployed yet"
fi

# --- the .partial folder -----------------------------------------------------------
# Its owner (host/boot/pid, as on scratch objects) is recorded beside it in .<ts>.partial.owner, so a
# later run can tell a folder abandoned by a killed run or a power loss from one still being written.
mkdir -p "$STACK_DIR" || die "$EXIT_STEP" "cannot create $STACK_DIR"
# One backup of a stack at a time: a scheduled run (scripts/schedule) and a deploy-time backup wait for
# each other instead of running at once. The lock is released when this script and its steps exit. It
# lives in /tmp (per user and backup folder; cron and a login shell can have different TMPDIRs), so the
# stack's folder holds only backups.
LOCK_FILE=/tmp/homeiq-backup-$(id -u)-$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-16).lock
exec {BACKUP_LOCK_FD}>>"$LOCK_FILE"
if ! flock -n "$BACKUP_LOCK_FD"; then
  log "another backup of stack '$HOMEIQ_STACK' is running ($(tr -d '\n' <"$LOCK_FILE" 2>/dev/null || true)); waiting up to $LOCK_WAIT s for it to finish"
  flock -w "$LOCK_WAIT" "$BACKUP_LOCK_FD" ||
    die "$EXIT_STEP" "another backup of stack '$HOMEIQ_STACK' still held $LOCK_FILE after $LOCK_WAIT s (HOMEIQ_BACKUP_LOCK_WAIT_SECONDS); nothing was written"
fi
printf '%s reason %s since %s\n' "$SCRATCH_OWNER" "$REASON" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$LOCK_FILE"
test_pause backup-locked
sweep_abandoned_partials() {
  local d ts owner_file owner
  for d in "$STACK_DIR"/*.partial; do
    [[ -d $d ]] || continue
    ts=${d##*/} ts=${ts%.partial}
    [[ $ts =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || continue
    owner_file=$STACK_DIR/.$ts.partial.owner
    if [[ -f $owner_file ]]; then
      owner=$(<"$owner_file")
      owner_gone "$owner" || continue
      rm -rf "$d" "$owner_file" || { warn "could not remove $d, left by an interrupted backup"; continue; }
      log "removed $d, left by an interrupted backup (pid ${owner##*/}, no longer running)"
    elif [[ -n $(find "$d" -maxdepth 0 -mmin +10) ]]; then
      # No owner record: written by an older backup.sh, or killed in the instant between mkdir and the
      # record. A running backup writes its record at once, so ten minutes without one is abandoned.
      rm -rf "$d" || { warn "could not remove $d, left by an interrupted backup"; continue; }
      log "removed $d, left by an interrupted backup (no owner record, untouched for more than 10 minutes)"
    fi
  done
  for owner_file in "$STACK_DIR"/.*.partial.owner; do
    [[ -f $owner_file && ! -d $STACK_DIR/$(basename "${owner_file#"$STACK_DIR"/.}" .owner) ]] || continue
    owner_gone "$(<"$owner_file")" && rm -f "$owner_file"
  done
  return 0
}
sweep_abandoned_partials

PARTIAL='' FINAL='' OWNER_FILE='' WORK='' STEP_PIDS=() STEP_NAMES=()
cleanup() {
  local rc=$1 pid
  if ((rc != 0)); then
    # The one-off containers first (their docker CLIs then return), then the steps that ran them.
    remove_own_scratch >/dev/null
    for pid in "${STEP_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    remove_own_scratch >/dev/null
  fi
  # Left by a STREAM InfluxDB step that did not finish.
  if [[ -n $WORK && -f $WORK/influx-tmp ]]; then
    docker exec "$INFLUX_CONTAINER" rm -rf "$(<"$WORK/influx-tmp")" >/dev/null 2>&1 || true
  fi
  [[ -z $WORK ]] || rm -rf "$WORK"
  if ((rc != 0)) && [[ -n $PARTIAL && -d $PARTIAL ]]; then
    if rm -rf "$PARTIAL"; then
      printf '[%s] removed the incomplete backup folder %s\n' "$LOG_TAG" "$PARTIAL" >&2
    else
      printf '[%s] WARNING: could not remove all of the incomplete backup folder %s\n' "$LOG_TAG" "$PARTIAL" >&2
    fi
  fi
  [[ -z $OWNER_FILE || -d $PARTIAL ]] || rm -f "$OWNER_FILE"
}
on_exit cleanup
for _ in 1 2 3 4 5 6 7 8 9 10; do
  TS=$(date -u +%Y%m%dT%H%M%SZ)
  if [[ ! -e $STACK_DIR/$TS && ! -e $STACK_DIR/$TS.partial ]] && mkdir "$STACK_DIR/$TS.partial" 2>/dev/null; then
    PARTIAL=$STACK_DIR/$TS.partial
    OWNER_FILE=$STACK_DIR/.$TS.partial.owner
    printf '%s\n' "$SCRATCH_OWNER" >"$OWNER_FILE"
    break
  fi
  TS=
  sleep 1 # another backup of this stack took this second
done
[[ -n $TS ]] || die "$EXIT_STEP" "could not create a fresh backup folder under $STACK_DIR"
FINAL=$STACK_DIR/$TS
CREATED_AT=$(date -u -d "${TS:0:8} ${TS:9:2}:${TS:11:2}:${TS:13:2}" +%Y-%m-%dT%H:%M:%SZ)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/homeiq-backup.XXXXXX") # step logs and results; never inside the backup
log "writing $PARTIAL"
test_pause backup-partial-created

# --- DIRECT transfer helpers --------------------------------------------------------------
# A DIRECT step bind-mounts its folder of $PARTIAL into a one-off container named
# homeiq-backup-<step>-<ts>-<pid>, after putting a marker file there; the container first checks
# that it sees the marker and may write beside it.
new_marker() { # <folder>: creates a marker file in it and prints its name
  local m=.homeiq-direct-$TS-$$-$RANDOM
  : >"$1/$m"
  echo "$m"
}
# direct_unavailable <exit code> <log file>: true when a DIRECT step showed, before writing
# anything, that this engine cannot write into $PARTIAL: the container said so (exit 11: not
# the same folder, or a user namespace), or the engine has no such folder (a remote engine
# behind a docker context).
direct_unavailable() {
  (($1 == 11)) || { (($1 == 125)) && grep -q 'bind source path does not exist' "$2"; }
}
# fall_back_to_stream <step>: in auto mode the step streams instead; a forced direct fails.
fall_back_to_stream() {
  [[ $TRANSFER == auto ]] ||
    die "$EXIT_STEP" "$1: the Docker engine cannot write into $PARTIAL (HOMEIQ_BACKUP_TRANSFER=$TRANSFER)"
  log "$1: the Docker engine cannot write into $PARTIAL (a remote engine or a user namespace): streaming through the docker CLI instead"
}
# hash_into <result file> <file>...: "<sha256> <path relative to $PARTIAL>" lines, each file read once.
hash_into() {
  local out=$1 sha f
  shift
  sha256_files "$@" | while read -r sha f; do printf '%s %s\n' "$sha" "${f#"$PARTIAL"/}"; done >"$out"
  (($(wc -l <"$out") == $#)) || die "$EXIT_STEP" "could not compute the sha256 of every file in $*"
}

# --- the steps ------------------------------------------------------------------------------
# Each step runs in the background (InfluxDB and every SQLite database at once) and leaves in
# $WORK its manifest entry (<step>.json) and its files' hashes (<step>.sha256).

backup_influxdb() {
  local t0 rc marker transfer= bytes ns tmp
  mkdir "$PARTIAL/influxdb"
  t0=$(now_ns)
  if [[ $TRANSFER != stream ]]; then
    # A one-off container of the influx container's image, in its network namespace and with
    # its volumes, runs `influx backup` as `docker exec` would, into the bind-mounted folder.
    marker=$(new_marker "$PARTIAL/influxdb")
    log "influxdb: influx backup in a one-off container of $INFLUX_CONTAINER's image, straight into $PARTIAL/influxdb (token passed by environment)"
    set +e
    # The token goes to the docker CLI's environment only; `-e INFLUX_TOKEN` names it.
    INFLUX_TOKEN=$HOMEIQ_INFLUX_TOKEN docker run --rm --name "homeiq-backup-influxdb-$TS-$$" "${SCRATCH_LABEL_ARGS[@]}" --network "container:$INFLUX_CONTAINER" \
      --volumes-from "$INFLUX_CONTAINER" --user 0:0 --mount "type=bind,src=$PARTIAL/influxdb,dst=/homeiq-backup" \
      -e INFLUX_TOKEN --entrypoint sh "$INFLUX_IMAGE" -c "$INFLUX_BACKUP_SH" influx-backup "$marker" </dev/null 2>&1 |
      tee "$WORK/influxdb.docker" | sed 's/^/  influx: /'
    rc=${PIPESTATUS[0]}
    set -e
    rm -f "$PARTIAL/influxdb/$marker"
    if ((rc == 0)); then
      transfer=direct
    elif direct_unavailable "$rc" "$WORK/influxdb.docker"; then
      fall_back_to_stream influxdb
    else
      die "$EXIT_STEP" "influxdb: 'influx backup' failed in a one-off container of $INFLUX_CONTAINER's image (exit $rc; see the lines above)"
    fi
  fi
  if [[ -z $transfer ]]; then
    tmp=$INFLUX_TMP/homeiq-backup-$TS-$$
    echo "$tmp" >"$WORK/influx-tmp" # for cleanup
    log "influxdb: influx backup in $INFLUX_CONTAINER (token passed by environment)"
    # The token goes to the docker CLI's environment only; `-e INFLUX_TOKEN` names
    # it, and the influx CLI reads $INFLUX_TOKEN itself: it is in no argv.
    if ! INFLUX_TOKEN=$HOMEIQ_INFLUX_TOKEN docker exec -e INFLUX_TOKEN "$INFLUX_CONTAINER" \
      influx backup "$tmp" 2>&1 | sed 's/^/  influx: /'; then
      die "$EXIT_STEP" "influxdb: 'influx backup' failed in container $INFLUX_CONTAINER (see the lines above)"
    fi
    log "influxdb: copying the backup out of the container"
    if ! docker exec "$INFLUX_CONTAINER" tar -C "$tmp" -cf - . |
      tar -C "$PARTIAL/influxdb" -xf - --no-same-owner --no-same-permissions; then
      die "$EXIT_STEP" "influxdb: streaming $tmp out of $INFLUX_CONTAINER failed"
    fi
    docker exec "$INFLUX_CONTAINER" rm -rf "$tmp" >/dev/null 2>&1 ||
      warn "influxdb: could not remove $tmp in $INFLUX_CONTAINER"
    rm -f "$WORK/influx-tmp"
    transfer=stream
  fi
  local files=()
  mapfile -d '' files < <(find "$PARTIAL/influxdb" -type f -print0)
  ((${#files[@]})) || die "$EXIT_STEP" "influxdb: 'influx backup' produced no files"
  hash_into "$WORK/influxdb.sha256" "${files[@]}"
  bytes=$(du -sb "$PARTIAL/influxdb" | cut -f1)
  ns=$(($(now_ns) - t0))
  log "influxdb: $(human_mb "$bytes") in $((ns / 1000000)) ms ($(rate "$bytes" "$ns"), $transfer, hashed)"
  echo "{\"container\": $(json_str "$INFLUX_CONTAINER"), \"status\": \"backed-up\", \"transfer\": \"$transfer\", \"dir\": \"influxdb\"}" >"$WORK/influxdb.json"
}

# The program goes in argv (`python3 -c`, not secret), not on stdin: no stdin
# attach, which the 20.10 CLI can hang in (docker/cli#2542).
SQLITE_BACKUP_PY=$(<"$HERE/sqlite_backup.py")

# on_a_mount <container> <path>: true when <path> lies on one of the container's mounts (a volume or
# bind), which a one-off container sees through --volumes-from. A file in the container's own
# writable layer (the old compose files kept sports-data's webhooks.db there) is seen only by
# `docker exec` into the container itself.
on_a_mount() {
  local m
  while IFS= read -r m; do
    [[ -n $m && $2 == "${m%/}"/* ]] && return 0
  done < <(docker inspect --format '{{range .Mounts}}{{println .Destination}}{{end}}' "$1")
  return 1
}

backup_sqlite() { # <index in SQL_*>
  local i=$1 svc ctr dbpath state rel common errf t0 image user transfer= rc=0 method marker result
  local want_size got_size want_sha got_sha ns cmd
  svc=${SQL_SERVICES[i]} ctr=${SQL_CONTAINERS[i]} dbpath=${SQL_PATHS[i]} state=${SQL_STATES[i]}
  rel=sqlite/$svc/$(basename "$dbpath")
  common="\"service\": $(json_str "$svc"), \"container\": $(json_str "$ctr"), \"path\": $(json_str "$dbpath")"
  mkdir -p "$PARTIAL/sqlite/$svc"
  errf=$WORK/sqlite-$svc.stderr
  t0=$(now_ns)
  image=${SQL_IMAGES[i]} user=${SQL_USERS[i]}
  if [[ $state == running ]]; then
    log "sqlite $svc: online backup of $dbpath in running container $ctr"
  else
    log "sqlite $svc: container $ctr is stopped; online backup of $dbpath through a one-off container of its image"
  fi
  local layer=0
  on_a_mount "$ctr" "$dbpath" || layer=1
  if ((layer)); then
    # Only the container itself sees a file in its own layer: a one-off container would find
    # nothing there and the database would be reported absent. Never skip it silently.
    [[ $state == running ]] ||
      die "$EXIT_STEP" "sqlite $svc: $dbpath is in the own layer of the stopped container $ctr (not on a volume), which only the running container can read; start it and retry, or use scripts/migrate/from-compose.sh for an old compose deployment"
    [[ $TRANSFER != direct ]] ||
      die "$EXIT_STEP" "sqlite $svc: HOMEIQ_BACKUP_TRANSFER=direct, but $dbpath is in the container's own layer, not on a volume"
    log "sqlite $svc: $dbpath is in $ctr's own layer, not on a volume: streaming it through docker exec"
  fi
  if [[ $TRANSFER != stream ]] && ((layer == 0)); then
    # A one-off container of the service's image with its volumes: sqlite_backup.py takes
    # the snapshot as the service's user straight into the bind-mounted folder.
    marker=$(new_marker "$PARTIAL/sqlite/$svc")
    method="run"
    set +e
    docker run --rm --name "homeiq-backup-sqlite-$svc-$TS-$$" "${SCRATCH_LABEL_ARGS[@]}" --network none --volumes-from "$ctr" --user 0:0 \
      --mount "type=bind,src=$PARTIAL/sqlite/$svc,dst=/homeiq-backup" --entrypoint python3 "$image" \
      -c "$SQLITE_BACKUP_PY" "$dbpath" /homeiq-backup "$marker" "$user" </dev/null >/dev/null 2>"$errf"
    rc=$?
    set -e
    rm -f "$PARTIAL/sqlite/$svc/$marker"
    if direct_unavailable "$rc" "$errf"; then
      grep -v '^HOMEIQ_SQLITE_RESULT ' "$errf" | sed 's/^/  /' || true
      fall_back_to_stream "sqlite $svc"
    else
      transfer=direct
    fi
  fi
  if [[ -z $transfer ]]; then
    transfer=stream
    if [[ $state == running ]]; then
      method="exec"
      cmd=(docker exec "$ctr" python3 -c "$SQLITE_BACKUP_PY" "$dbpath")
    else
      method="run"
      cmd=(docker run --rm "${SCRATCH_LABEL_ARGS[@]}" --network none --volumes-from "$ctr" ${user:+--user "$user"} --entrypoint python3 "$image" -c "$SQLITE_BACKUP_PY" "$dbpath")
    fi
    set +e
    "${cmd[@]}" </dev/null >"$PARTIAL/$rel" 2>"$errf"
    rc=$?
    set -e
  fi
  grep -v '^HOMEIQ_SQLITE_RESULT ' "$errf" | sed 's/^/  /' || true
  result=$(sed -n 's/^HOMEIQ_SQLITE_RESULT //p' "$errf" | tail -n 1)
  if ((rc == 3)); then
    log "sqlite $svc: $ctr has no database at $dbpath yet; nothing to back up for it"
    rm -rf "${PARTIAL:?}/sqlite/$svc"
    echo "{$common, \"status\": \"no-database-file\", \"method\": \"$method\", \"transfer\": \"$transfer\"}" >"$WORK/sqlite-$i.json"
    return 0
  fi
  ((rc == 0)) || die "$EXIT_STEP" "sqlite $svc: online backup of $dbpath in $ctr failed (exit $rc; see the lines above)"
  want_size=$(sed -n 's/.*"size": \([0-9]*\).*/\1/p' <<<"$result")
  [[ -f $PARTIAL/$rel ]] || die "$EXIT_STEP" "sqlite $svc: the backup reported success but $PARTIAL/$rel is missing"
  got_size=$(stat -c %s "$PARTIAL/$rel")
  [[ $want_size == "$got_size" ]] ||
    die "$EXIT_STEP" "sqlite $svc: the copy in the backup has $got_size bytes, the container wrote ${want_size:-?}"
  want_sha=$(sed -n 's/.*"sha256": "\([0-9a-f]\{64\}\)".*/\1/p' <<<"$result")
  [[ -n $want_sha ]] || die "$EXIT_STEP" "sqlite $svc: the container reported no sha256 for the copy"
  if [[ $transfer == direct ]]; then
    # Computed in the container, reading the fsynced copy back where it lies (while quick_check ran).
    echo "$want_sha $rel" >"$WORK/sqlite-$i.sha256"
  else
    # What arrived through the pipe, read back from the file, against what the container sent.
    hash_into "$WORK/sqlite-$i.sha256" "$PARTIAL/$rel"
    got_sha=$(cut -d' ' -f1 "$WORK/sqlite-$i.sha256")
    [[ $want_sha == "$got_sha" ]] ||
      die "$EXIT_STEP" "sqlite $svc: the copy received ($got_size bytes) does not match what the container sent"
  fi
  ns=$(($(now_ns) - t0))
  log "sqlite $svc: $(human_mb "$got_size") in $((ns / 1000000)) ms ($(rate "$got_size" "$ns"), $transfer, hashed), quick_check ok"
  echo "{$common, \"status\": \"backed-up\", \"method\": \"$method\", \"transfer\": \"$transfer\", \"file\": $(json_str "$rel")}" >"$WORK/sqlite-$i.json"
}

# --- run the steps at once, report each in order ----------------------------------------------
start_step() { # <name> <function> [args]: runs it in the background, its output kept in $WORK
  local name=$1
  shift
  # Its own process group (set -m): a signal to ours reaches this script only, whose cleanup removes
  # the step's one-off container and then waits for the step to end.
  set -m
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  STEP_PIDS+=($!) STEP_NAMES+=("$name")
  set +m
}
influx_json='null'
if [[ $influx_state == running ]]; then
  start_step influxdb backup_influxdb
elif [[ -n $INFLUX_CONTAINER ]]; then
  log "influxdb: container $INFLUX_CONTAINER does not exist; nothing to back up for it"
  influx_json="{\"container\": $(json_str "$INFLUX_CONTAINER"), \"status\": \"not-deployed\"}"
fi
for i in "${!SQL_SERVICES[@]}"; do
  if [[ ${SQL_STATES[i]} == absent ]]; then
    log "sqlite ${SQL_SERVICES[i]}: container ${SQL_CONTAINERS[i]} does not exist; nothing to back up for it"
    echo "{\"service\": $(json_str "${SQL_SERVICES[i]}"), \"container\": $(json_str "${SQL_CONTAINERS[i]}"), \"path\": $(json_str "${SQL_PATHS[i]}"), \"status\": \"not-deployed\"}" >"$WORK/sqlite-$i.json"
  else
    start_step "sqlite-${SQL_SERVICES[i]}" backup_sqlite "$i"
  fi
done
test_pause backup-steps-running
failed=()
for n in "${!STEP_PIDS[@]}"; do
  rc=0
  wait "${STEP_PIDS[n]}" || rc=$?
  cat "$WORK/${STEP_NAMES[n]}.out"
  cat "$WORK/${STEP_NAMES[n]}.err" >&2
  ((rc == 0)) || failed+=("${STEP_NAMES[n]}")
done
STEP_PIDS=()
((${#failed[@]} == 0)) || die "$EXIT_STEP" "backup step(s) failed: ${failed[*]} (see above)"
[[ ! -f $WORK/influxdb.json ]] || influx_json=$(<"$WORK/influxdb.json")
sqlite_lines=()
for i in "${!SQL_SERVICES[@]}"; do sqlite_lines+=("$(<"$WORK/sqlite-$i.json")"); done

# --- config, manifest ------------------------------------------------------------------
printf '%s\n' "$CONFIG_JSON" >"$PARTIAL/config.json"

# Every file was hashed once by its step, reading it back after it was written (the DIRECT
# steps fsynced theirs first); that hash is what the manifest records and restore.sh checks.
declare -A SHA=()
while read -r sha rel; do SHA[$rel]=$sha; done < <(cat "$WORK"/*.sha256 2>/dev/null)
hash_into "$WORK/config.sha256" "$PARTIAL/config.json"
read -r sha rel <"$WORK/config.sha256"
SHA[$rel]=$sha
files=() file_lines=()
while IFS= read -r -d '' rel; do
  [[ $rel =~ ^[A-Za-z0-9_./+-]+$ ]] || die "$EXIT_STEP" "unexpected file name in the backup: '$rel'"
  [[ /$rel != */.homeiq-* ]] || die "$EXIT_STEP" "a leftover work file is in the backup: '$rel'"
  [[ -n ${SHA[$rel]:-} ]] || die "$EXIT_STEP" "$rel is in the backup folder, but no step wrote it"
  files+=("$rel")
  file_lines+=("    {\"path\": \"$rel\", \"size\": $(stat -c %s "$PARTIAL/$rel"), \"sha256\": \"${SHA[$rel]}\"}")
done < <(find "$PARTIAL" -type f ! -name manifest.json ! -name manifest.sha256 -printf '%P\0' | LC_ALL=C sort -z)

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
test_pause backup-manifest-written

# --- check the folder against the manifest, make it durable, then publish -----------------
# No second hash pass: the hashes above were computed from the files as stored. This checks
# that the folder holds exactly the manifest's files, each with its size.
mapfile -d '' present < <(find "$PARTIAL" -type f ! -name manifest.json ! -name manifest.sha256 -printf '%P\0' | LC_ALL=C sort -z)
[[ ${present[*]} == "${files[*]}" ]] || die "$EXIT_STEP" "verification: the files in $PARTIAL changed while the manifest was written"
for l in "${file_lines[@]}"; do
  [[ $l =~ \"path\":\ \"([^\"]+)\",\ \"size\":\ ([0-9]+), ]] || die "$EXIT_STEP" "internal error: cannot parse manifest line $l"
  [[ $(stat -c %s "$PARTIAL/${BASH_REMATCH[1]}") == "${BASH_REMATCH[2]}" ]] ||
    die "$EXIT_STEP" "verification: size of ${BASH_REMATCH[1]} changed"
done
(cd "$PARTIAL" && sha256sum --quiet -c manifest.sha256) || die "$EXIT_STEP" "verification: manifest.json changed"
# fsync every file and folder (those the DIRECT steps already fsynced cost nothing more).
find "$PARTIAL" -exec sync -- {} + || die "$EXIT_STEP" "could not fsync $PARTIAL"
mv -T "$PARTIAL" "$FINAL" || die "$EXIT_STEP" "could not rename $PARTIAL to $FINAL"
rm -f "$OWNER_FILE"
PARTIAL='' OWNER_FILE=''
sync -- "$STACK_DIR" || warn "could not fsync $STACK_DIR"
total=$(du -sb "$FINAL" | cut -f1)
log "backup complete: $FINAL ($(human_mb "$total"), ${#file_lines[@]} files)"

# --- retention: by age, never the newest $KEEP good ones, never a migration's or a marked one (prune.sh) ---
if ! HOMEIQ_BACKUP_ROOT=$HOMEIQ_BACKUP_ROOT HOMEIQ_BACKUP_KEEP=$KEEP HOMEIQ_BACKUP_KEEP_DAYS=$KEEP_DAYS LOG_TAG=$LOG_TAG \
  bash "$HERE/prune.sh"; then
  warn "retention failed (see above); the new backup $FINAL is complete"
fi
echo "HOMEIQ_BACKUP_DIR=$FINAL"
