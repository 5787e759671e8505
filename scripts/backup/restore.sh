#!/usr/bin/env bash
# Restores a HomeIQ stack from one backup folder written by backup.sh.
#
# Order (nothing is changed until step 2 has passed completely):
#   1. refuse a folder whose name ends in .partial (a backup still being written
#      or abandoned);
#   2. verify manifest.sha256 -> manifest.json -> every listed file's size and
#      sha256; any missing or changed file is named and the script exits 5
#      without touching a container or a volume; then check the preconditions
#      (engine answers, influx container running, helper image present);
#   3. InfluxDB: copy the influx backup into the running influx container and run
#      `influx restore --full` (token from the environment, never in argv);
#   4. each SQLite file into its volume through a one-off helper container:
#      written to a temporary name in the volume, checksum re-checked, PRAGMA
#      integrity_check (if the helper has python3), stale -wal/-shm/-journal
#      removed, renamed over the database, chowned to the service's uid:gid.
#      The services that use these volumes must not be running.
#
# Contract (HOMEIQ_* environment variables, exit codes): README.md here.
# Never add `set -x` here: HOMEIQ_INFLUX_TOKEN is a secret.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=homeiq-restore
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$HERE/lib.sh"

refuse() { die "$EXIT_REFUSED" "refusing to restore from ${DIR:-?}: $*; nothing was changed"; }

# Cleanup at every exit (also SIGINT, SIGTERM, SIGHUP: exit 128 + n). A step that changes data and was
# running when the signal came is let finish (never cut `influx restore` or a database rename in half);
# then the temporary copy in the influx container and the helper container are removed.
influx_tmp='' started_changes=0 done_steps=()
cleanup() {
  local rc=$1
  wait_guarded
  # A copy into the influx container started beside the SQLite staging: let it end, then remove its folder.
  [[ -z ${COPY_PID:-} ]] || wait "$COPY_PID" 2>/dev/null || true
  if [[ -n $influx_tmp ]]; then
    docker exec "$INFLUX_CONTAINER" rm -rf "$influx_tmp" >/dev/null 2>&1 || true
  fi
  # Defined once the DIRECT section is reached (verify-only and early refusals exit before it).
  if declare -F unstage >/dev/null; then unstage; fi
  [[ -z ${WORK_HASH:-} ]] || rm -f "$WORK_HASH" "$WORK_HASH.copy"
  remove_own_scratch >/dev/null
  if [[ -n $INTERRUPTED ]] && ((started_changes)); then
    printf '[%s] ERROR: interrupted by SIG%s -- restore INCOMPLETE; already restored: %s (run it again to restore everything)\n' \
      "$LOG_TAG" "$INTERRUPTED" "${done_steps[*]:-nothing}" >&2
  elif [[ -n $INTERRUPTED ]]; then
    printf '[%s] interrupted by SIG%s before anything was changed\n' "$LOG_TAG" "$INTERRUPTED" >&2
  fi
  return "$rc"
}
on_exit cleanup

T_START=$(now_ns)
# mark <what>: "+<ms since start> <what>" (HOMEIQ_RESTORE_TIMINGS=1; bench:backup shows where the time goes).
mark() { [[ ${HOMEIQ_RESTORE_TIMINGS:-0} != 1 ]] || log "+$((($(now_ns) - T_START) / 1000000)) ms $*"; }

# --- environment -----------------------------------------------------------------
require_var HOMEIQ_RESTORE_DIR "$RE_ABS_PATH" "the absolute path of one backup folder, without spaces or colons"
DIR=${HOMEIQ_RESTORE_DIR%/}
path_has_dotdot "$DIR" && die "$EXIT_USAGE" "HOMEIQ_RESTORE_DIR must not contain '..'"
STACK=${HOMEIQ_STACK:-}
[[ -z $STACK || $STACK =~ $RE_STACK ]] || die "$EXIT_USAGE" "HOMEIQ_STACK is not a valid stack name"
INFLUX_CONTAINER=${HOMEIQ_INFLUX_CONTAINER:-}
[[ -z $INFLUX_CONTAINER || $INFLUX_CONTAINER =~ $RE_DOCKER_NAME ]] ||
  die "$EXIT_USAGE" "HOMEIQ_INFLUX_CONTAINER is not a valid container name"
INFLUX_TMP=${HOMEIQ_INFLUX_TMPDIR:-/tmp}
if [[ ! $INFLUX_TMP =~ $RE_ABS_PATH ]] || path_has_dotdot "$INFLUX_TMP"; then
  die "$EXIT_USAGE" "HOMEIQ_INFLUX_TMPDIR must be an absolute path without spaces, colons or '..'"
fi
HELPER=${HOMEIQ_RESTORE_HELPER_IMAGE:-}
[[ ${HOMEIQ_RESTORE_VERIFY_ONLY:-0} =~ ^[01]$ ]] || die "$EXIT_USAGE" "HOMEIQ_RESTORE_VERIFY_ONLY must be 0 or 1"

# HOMEIQ_SQLITE_RESTORES: "service=volume:relative/path/in/volume.db[:uid:gid] ..."
R_SERVICES=() R_VOLUMES=() R_RELS=() R_OWNERS=()
for entry in ${HOMEIQ_SQLITE_RESTORES:-}; do
  if [[ ! $entry =~ ^([a-z0-9][a-z0-9-]*)=([A-Za-z0-9][A-Za-z0-9_.-]*):([A-Za-z0-9_.+-][A-Za-z0-9_./+-]*)(:([0-9]+:[0-9]+))?$ ]]; then
    die "$EXIT_USAGE" "HOMEIQ_SQLITE_RESTORES entry '$entry' is not service=volume:relative/path.db[:uid:gid]"
  fi
  path_has_dotdot "${BASH_REMATCH[3]}" && die "$EXIT_USAGE" "HOMEIQ_SQLITE_RESTORES entry '$entry': '..' in path"
  for s in "${R_SERVICES[@]}"; do
    [[ $s != "${BASH_REMATCH[1]}" ]] || die "$EXIT_USAGE" "HOMEIQ_SQLITE_RESTORES names service '$s' twice"
  done
  R_SERVICES+=("${BASH_REMATCH[1]}") R_VOLUMES+=("${BASH_REMATCH[2]}") R_RELS+=("${BASH_REMATCH[3]}")
  R_OWNERS+=("${BASH_REMATCH[5]:-0:0}")
done
if ((${#R_SERVICES[@]})) && [[ -z $HELPER ]]; then
  die "$EXIT_USAGE" "HOMEIQ_RESTORE_HELPER_IMAGE is required when HOMEIQ_SQLITE_RESTORES is set (an image with sh, mkdir, mv, rm, sha256sum, chown; python3 adds an integrity check)"
fi

# --- 1. the folder ------------------------------------------------------------------
[[ $DIR != *.partial ]] || refuse "it is a .partial folder (a backup that never completed)"
[[ -d $DIR ]] || refuse "no such folder"
log "verifying backup $DIR"

# --- 2. verification ------------------------------------------------------------------
[[ -f $DIR/manifest.json ]] || refuse "manifest.json is missing"
[[ -f $DIR/manifest.sha256 ]] || refuse "manifest.sha256 is missing"
want=$(sed -n 's/^\([0-9a-f]\{64\}\)  manifest\.json$/\1/p' "$DIR/manifest.sha256")
[[ -n $want ]] || refuse "manifest.sha256 is malformed"
[[ $(sha256sum "$DIR/manifest.json" | cut -d' ' -f1) == "$want" ]] ||
  refuse "manifest.json does not match manifest.sha256 (changed or corrupt)"
grep -q '^  "format": "homeiq-backup/1",$' "$DIR/manifest.json" ||
  refuse "manifest.json is not a homeiq-backup/1 manifest"
m_stack=$(sed -n 's/^  "stack": "\([^"]*\)",$/\1/p' "$DIR/manifest.json")
m_created=$(sed -n 's/^  "createdAt": "\([^"]*\)",$/\1/p' "$DIR/manifest.json")
if [[ -n $STACK && $m_stack != "$STACK" && ${HOMEIQ_RESTORE_ALLOW_OTHER_STACK:-0} != 1 ]]; then
  refuse "it is a backup of stack '$m_stack', not '$STACK' (set HOMEIQ_RESTORE_ALLOW_OTHER_STACK=1 to allow)"
fi

re_file='^    \{"path": "([A-Za-z0-9_.+-][A-Za-z0-9_./+-]*)", "size": ([0-9]+), "sha256": "([0-9a-f]{64})"\},?$'
F_PATHS=() F_SIZES=() F_SHAS=()
while IFS= read -r line; do
  if [[ $line =~ $re_file ]]; then
    path_has_dotdot "${BASH_REMATCH[1]}" && refuse "manifest.json lists a path with '..': ${BASH_REMATCH[1]}"
    F_PATHS+=("${BASH_REMATCH[1]}") F_SIZES+=("${BASH_REMATCH[2]}") F_SHAS+=("${BASH_REMATCH[3]}")
  fi
done <"$DIR/manifest.json"
((${#F_PATHS[@]})) || refuse "manifest.json lists no files"

bytes_total=0
for i in "${!F_PATHS[@]}"; do
  f=${F_PATHS[i]}
  [[ -f $DIR/$f ]] || refuse "file $f listed in manifest.json is missing"
  size=$(stat -c %s "$DIR/$f")
  [[ $size == "${F_SIZES[i]}" ]] || refuse "file $f has $size bytes, manifest.json says ${F_SIZES[i]}"
  bytes_total=$((bytes_total + size))
done
# What the backup holds.
influx_files=0
declare -A SQL_FILE=()
for f in "${F_PATHS[@]}"; do
  case $f in
    influxdb/*) influx_files=$((influx_files + 1)) ;;
    sqlite/*/*)
      svc=${f#sqlite/}
      svc=${svc%%/*}
      [[ -z ${SQL_FILE[$svc]:-} ]] || refuse "manifest.json lists two SQLite files for service $svc"
      SQL_FILE[$svc]=$f
      ;;
  esac
done

# DIRECT (a local engine, as backup.sh): each SQLite file with a target is copied straight from the backup
# folder into its volume by one helper container, which hashes it in the same pass (each byte read once and
# written once), under a temporary name; only once every file has verified is anything replaced. Every other
# file is hashed here. STREAM (a remote engine, HOMEIQ_RESTORE_TRANSFER=stream, a helper without python3, or
# verify-only): every file is hashed here first, then copied through the docker CLI.
TRANSFER=${HOMEIQ_RESTORE_TRANSFER:-auto}
[[ $TRANSFER =~ ^(auto|direct|stream)$ ]] || die "$EXIT_USAGE" "HOMEIQ_RESTORE_TRANSFER must be auto, direct or stream (got '$TRANSFER')"
case ${DOCKER_HOST:-} in "" | unix://*) ;; *) TRANSFER=stream ;; esac
[[ ${HOMEIQ_RESTORE_VERIFY_ONLY:-0} == 0 && ${#R_SERVICES[@]} -gt 0 ]] || TRANSFER=stream
declare -A STAGED_HERE=() # manifest paths the helper container verifies instead of this script
if [[ $TRANSFER != stream ]]; then
  for svc in "${R_SERVICES[@]}"; do
    if [[ -n ${SQL_FILE[$svc]:-} ]]; then STAGED_HERE[${SQL_FILE[$svc]}]=1; fi
  done
fi
# hash_and_check [all]: every file not left to the helper (or all), read once, in manifest order.
hash_and_check() {
  local paths=() idx=() i
  for i in "${!F_PATHS[@]}"; do
    if [[ ${1:-} == all || -z ${STAGED_HERE[${F_PATHS[i]}]:-} ]]; then paths+=("$DIR/${F_PATHS[i]}") idx+=("$i"); fi
  done
  ((${#paths[@]})) || return 0
  mapfile -t got < <(sha256_files "${paths[@]}" | cut -d' ' -f1)
  for i in "${!idx[@]}"; do
    [[ ${got[i]:-} == "${F_SHAS[idx[i]]}" ]] ||
      refuse "file ${F_PATHS[idx[i]]} does not match its sha256 in manifest.json (changed or corrupt)"
  done
}
if ((${#STAGED_HERE[@]} == 0)); then
  hash_and_check
  log "verified manifest and ${#F_PATHS[@]} files ($(human_mb "$bytes_total")) of stack '$m_stack' taken $m_created"
fi

if [[ ${HOMEIQ_RESTORE_VERIFY_ONLY:-0} == 1 ]]; then
  log "verify only (HOMEIQ_RESTORE_VERIFY_ONLY=1): the backup is complete and intact; nothing was changed"
  exit 0
fi

mark "manifest and sizes checked"
# Preconditions, still before any change.
need_docker
sweep_abandoned_scratch
do_influx=0
if [[ -n $INFLUX_CONTAINER ]]; then
  if ((influx_files == 0)); then
    log "influxdb: the backup holds no InfluxDB data (not deployed when it was taken); leaving InfluxDB as it is"
  else
    [[ $(container_state "$INFLUX_CONTAINER") == running ]] ||
      die "$EXIT_DOCKER" "influxdb container $INFLUX_CONTAINER is not running; 'influx restore' needs the server up; nothing was changed"
    require_var HOMEIQ_INFLUX_TOKEN "" "the InfluxDB operator token (secret)"
    do_influx=1
  fi
elif ((influx_files)); then
  warn "the backup holds InfluxDB data but HOMEIQ_INFLUX_CONTAINER is not set; InfluxDB is not restored"
fi
if ((${#R_SERVICES[@]})); then
  docker image inspect "$HELPER" >/dev/null 2>&1 ||
    die "$EXIT_DOCKER" "helper image $HELPER is not present on the Docker host; nothing was changed"
fi
for svc in "${!SQL_FILE[@]}"; do
  found=0
  for s in "${R_SERVICES[@]}"; do [[ $s == "$svc" ]] && found=1; done
  ((found)) || warn "the backup holds ${SQL_FILE[$svc]} but HOMEIQ_SQLITE_RESTORES has no target for '$svc'; not restored"
done

# --- DIRECT: every SQLite file into its volume under a temporary name, verified in the same pass ---------
# shellcheck disable=SC2016 # python, not shell
STAGE_PY='import hashlib, os, sys
a = sys.argv[1:]
entries = [a[i:i + 5] for i in range(0, len(a), 5)]
for src, mnt, rel, sha, size in entries:
    if not os.path.isfile(src) or os.path.getsize(src) != int(size):
        sys.stderr.write("%s is not the backup folder of the host running restore.sh\n" % src)
        sys.exit(11)
staged = []
try:
    for src, mnt, rel, sha, size in entries:
        dst = os.path.join(mnt, rel)
        tmp = dst + ".homeiq-restore-tmp"
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        h = hashlib.sha256()
        buf = bytearray(1 << 20)  # 1 MiB stays in the CPU cache between read, hash and write: twice as fast as 8 MiB here
        view = memoryview(buf)
        with open(src, "rb", buffering=0) as f, open(tmp, "wb", buffering=0) as g:
            staged.append(tmp)
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                h.update(view[:n])
                g.write(view[:n])
            os.fsync(g.fileno())
        if h.hexdigest() != sha:
            sys.stderr.write("HOMEIQ_STAGE_MISMATCH %s\n" % src[len("/homeiq-backup/"):])
            sys.exit(7)
        print("  staged %s (sha256 verified while copying)" % rel)
except BaseException:
    for t in staged:
        try:
            os.remove(t)
        except OSError:
            pass
    raise
'
WORK_HASH=$(mktemp "${TMPDIR:-/tmp}/homeiq-restore-hash.XXXXXX")
STAGED=()  # "mount|rel|owner" of each staged file, for the rename (or the cleanup)
STAGE_MOUNTS=()
stage_sqlite() {
  local args=() i=0 svc f sha j rc errf
  for i in "${!R_SERVICES[@]}"; do
    svc=${R_SERVICES[i]} f=${SQL_FILE[${R_SERVICES[i]}]:-}
    [[ -n $f ]] || continue
    for j in "${!F_PATHS[@]}"; do [[ ${F_PATHS[j]} == "$f" ]] && sha=${F_SHAS[j]} size=${F_SIZES[j]}; done
    STAGE_MOUNTS+=(-v "${R_VOLUMES[i]}:/t$i")
    args+=("/homeiq-backup/$f" "/t$i" "${R_RELS[i]}" "$sha" "$size")
    STAGED+=("/t$i|${R_RELS[i]}|${R_OWNERS[i]}|${R_VOLUMES[i]}")
  done
  ((${#args[@]})) || return 0
  errf=$(mktemp "${TMPDIR:-/tmp}/homeiq-restore.XXXXXX")
  rc=0
  guarded docker run --rm --name "homeiq-restore-stage-$$" "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 \
    --mount "type=bind,src=$DIR,dst=/homeiq-backup,readonly" "${STAGE_MOUNTS[@]}" --entrypoint python3 "$HELPER" \
    -c "$STAGE_PY" "${args[@]}" 2>"$errf" || rc=$?
  if ((rc == 7)); then
    STAGED=()
    refuse "file $(sed -n 's/^HOMEIQ_STAGE_MISMATCH //p' "$errf" | head -n 1) does not match its sha256 in manifest.json (changed or corrupt)"
  fi
  if ((rc == 11 || rc == 127)) || { ((rc == 125)) && grep -q 'bind source path does not exist\|executable file not found' "$errf"; }; then
    sed 's/^/  /' "$errf" >&2
    STAGED=()
    [[ $TRANSFER == auto ]] || die "$EXIT_DOCKER" "HOMEIQ_RESTORE_TRANSFER=direct, but the engine cannot read $DIR or $HELPER has no python3; nothing was changed"
    log "the helper cannot copy straight from $DIR (a remote engine, or no python3 in $HELPER): hashing here, then copying through the docker CLI"
    return 1
  fi
  if ((rc != 0)); then
    sed 's/^/  /' "$errf" >&2
    die "$EXIT_DOCKER" "copying the SQLite files into their volumes under temporary names failed (exit $rc; see above); nothing was changed"
  fi
  rm -f "$errf"
}
# unstage: removes staged temporary files that were not renamed into place (cleanup, and before a fallback).
unstage() {
  ((${#STAGED[@]})) || return 0
  local e paths=()
  for e in "${STAGED[@]}"; do
    IFS='|' read -r mnt rel _ _ <<<"$e"
    paths+=("$mnt/$rel.homeiq-restore-tmp")
  done
  docker run --rm "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 "${STAGE_MOUNTS[@]}" --entrypoint rm "$HELPER" -f "${paths[@]}" >/dev/null 2>&1 || true
  STAGED=()
}
copy_into_influx() { tar -C "$DIR/influxdb" -cf - . | docker exec -i "$INFLUX_CONTAINER" tar -C "$influx_tmp" -xf -; }
COPY_PID='' influx_copied=0
if ((${#STAGED_HERE[@]})); then
  # The other files are hashed here while the helper copies and hashes the SQLite files, and the InfluxDB
  # backup is copied into the influx container's temporary folder: all three only read the backup and write
  # temporary copies, so nothing is changed before every file has verified.
  t0=$(now_ns)
  hash_and_check >"$WORK_HASH" 2>&1 &
  hash_pid=$!
  if ((do_influx == 1)); then
    influx_tmp=$INFLUX_TMP/homeiq-restore-$$
    docker exec "$INFLUX_CONTAINER" mkdir -p "$influx_tmp" ||
      die "$EXIT_DOCKER" "influxdb: cannot create $influx_tmp in $INFLUX_CONTAINER; nothing was changed"
    # Its own process group (as `guarded`): a signal to ours reaches this script, whose cleanup waits for it.
    set -m
    copy_into_influx </dev/null >"$WORK_HASH.copy" 2>&1 &
    COPY_PID=$!
    set +m
  fi
  stage_rc=0
  stage_sqlite || stage_rc=$?
  hash_rc=0
  wait "$hash_pid" || hash_rc=$?
  if [[ -n $COPY_PID ]]; then
    copy_rc=0
    wait "$COPY_PID" || copy_rc=$?
    COPY_PID=''
    if ((copy_rc != 0)); then
      unstage
      sed 's/^/  /' "$WORK_HASH.copy" >&2
      die "$EXIT_DOCKER" "influxdb: copying the backup into $INFLUX_CONTAINER failed (see above); nothing was changed"
    fi
    influx_copied=1
  fi
  if ((hash_rc != 0)); then
    unstage
    cat "$WORK_HASH" >&2
    exit "$hash_rc"
  fi
  if ((stage_rc == 0)); then
    log "verified manifest and ${#F_PATHS[@]} files ($(human_mb "$bytes_total")) of stack '$m_stack' taken $m_created; the ${#STAGED[@]} SQLite file(s) copied into their volumes, verified in the same pass, in $((($(now_ns) - t0) / 1000000)) ms"
  else
    hash_and_check all
    STAGED_HERE=()
    log "verified manifest and ${#F_PATHS[@]} files ($(human_mb "$bytes_total")) of stack '$m_stack' taken $m_created"
  fi
fi
mark "verified (and SQLite staged)"
test_pause restore-verified

# From here on data is changed; failures exit EXIT_RESTORE and say what was done.
started_changes=1
fail_restore() {
  die "$EXIT_RESTORE" "$* -- restore INCOMPLETE; already restored: ${done_steps[*]:-nothing}"
}

# --- 3. InfluxDB ------------------------------------------------------------------------
# Each step that writes runs guarded (lib.sh): an interruption lets it finish, then cleans up.
influx_restore() {
  INFLUX_TOKEN=$HOMEIQ_INFLUX_TOKEN docker exec -e INFLUX_TOKEN "$INFLUX_CONTAINER" \
    influx restore --full "$influx_tmp" 2>&1 | sed -u 's/^/  influx: /'
}
if ((do_influx)); then
  if ((influx_copied == 0)); then
    influx_tmp=$INFLUX_TMP/homeiq-restore-$$
    log "influxdb: copying the backup into $INFLUX_CONTAINER:$influx_tmp"
    docker exec "$INFLUX_CONTAINER" mkdir -p "$influx_tmp" || fail_restore "influxdb: cannot create $influx_tmp in $INFLUX_CONTAINER"
    guarded copy_into_influx || fail_restore "influxdb: copying the backup into $INFLUX_CONTAINER failed"
  fi
  test_pause restore-influx-copied
  log "influxdb: influx restore --full (token passed by environment)"
  t0=$(now_ns)
  if ! guarded influx_restore; then
    fail_restore "influxdb: 'influx restore --full' failed in $INFLUX_CONTAINER (see the lines above)"
  fi
  docker exec "$INFLUX_CONTAINER" rm -rf "$influx_tmp" >/dev/null 2>&1 || warn "could not remove $influx_tmp in $INFLUX_CONTAINER"
  influx_tmp=
  log "influxdb: restored in $((($(now_ns) - t0) / 1000000)) ms"
  done_steps+=(influxdb)
fi

mark "influxdb done"
# --- 4. SQLite -------------------------------------------------------------------------------
# Each database goes through a one-off helper container, created (not started),
# with the volume at /target: `docker cp` puts the file into the volume as
# /target/.homeiq-restore-<service>, then `docker start -a` runs this script as
# root. Arguments: service, relative path, expected sha256, uid:gid.
# (No `docker run -i` with the file on stdin: the 20.10 CLI can hang in attach,
# docker/cli#2542.)
# shellcheck disable=SC2016 # expanded by the helper's sh, not here
HELPER_SCRIPT='set -eu
svc=$1 rel=$2 want=$3 owner=$4
incoming=/target/.homeiq-restore-$svc
dst=/target/$rel
tmp=$dst.homeiq-restore-tmp
mkdir -p "$(dirname "$dst")"
mv -f "$incoming" "$tmp"
if command -v python3 >/dev/null 2>&1; then
  # hashlib (OpenSSL): several times faster than coreutils sha256sum on the same bytes
  got=$(python3 -c "import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], \"rb\") as f:
    for block in iter(lambda: f.read(1 << 20), b\"\"):
        h.update(block)
print(h.hexdigest())" "$tmp")
else
  got=$(sha256sum "$tmp" | cut -d" " -f1)
fi
if [ "$got" != "$want" ]; then rm -f "$tmp"; echo "checksum of the copy in the volume is wrong" >&2; exit 7; fi
if command -v python3 >/dev/null 2>&1; then
  python3 -c "import sqlite3, sys
c = sqlite3.connect(\"file:\" + sys.argv[1] + \"?mode=ro&immutable=1\", uri=True)
r = c.execute(\"PRAGMA integrity_check\").fetchone()[0]
print(\"  integrity_check: \" + r)
sys.exit(0 if r == \"ok\" else 8)" "$tmp" || { rm -f "$tmp"; echo "integrity_check failed" >&2; exit 8; }
else
  echo "  (no python3 in the helper image: integrity_check skipped)"
fi
rm -f "$dst-wal" "$dst-shm" "$dst-journal"
mv -f "$tmp" "$dst"
chown "$owner" "$dst"
chown "$owner" "$(dirname "$dst")"
'
# DIRECT: the staged files are renamed into place, all in one helper container (stale -wal, -shm and
# -journal removed first: an old WAL applied to the new file would corrupt it), and handed to their owners.
# shellcheck disable=SC2016 # expanded by the helper's sh
RENAME_SH='set -eu
for e in "$@"; do
  mnt=${e%%|*} rest=${e#*|}
  rel=${rest%%|*} owner=${rest#*|}
  owner=${owner%%|*}
  dst=$mnt/$rel
  rm -f "$dst-wal" "$dst-shm" "$dst-journal"
  mv -f "$dst.homeiq-restore-tmp" "$dst"
  chown "$owner" "$dst" "$(dirname "$dst")"
  echo "  $rel in place (owner $owner)"
done'
if ((${#STAGED[@]})); then
  test_pause restore-sqlite-copied
  t0=$(now_ns)
  if ! guarded docker run --rm --name "homeiq-restore-rename-$$" "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 "${STAGE_MOUNTS[@]}" \
    --entrypoint sh "$HELPER" -c "$RENAME_SH" rename "${STAGED[@]}"; then
    fail_restore "sqlite: putting the verified files in place failed (see above)"
  fi
  for i in "${!R_SERVICES[@]}"; do [[ -z ${SQL_FILE[${R_SERVICES[i]}]:-} ]] || done_steps+=("sqlite:${R_SERVICES[i]}"); done
  STAGED=()
  log "sqlite: in place in $((($(now_ns) - t0) / 1000000)) ms"
fi
for i in "${!R_SERVICES[@]}"; do
  svc=${R_SERVICES[i]} vol=${R_VOLUMES[i]} rel=${R_RELS[i]} owner=${R_OWNERS[i]}
  f=${SQL_FILE[$svc]:-}
  if [[ -n $f && -n ${STAGED_HERE[$f]:-} ]]; then continue; fi
  if [[ -z $f ]]; then
    log "sqlite $svc: the backup holds no database for it (not deployed when taken); leaving volume $vol as it is"
    continue
  fi
  sha=
  for j in "${!F_PATHS[@]}"; do [[ ${F_PATHS[j]} == "$f" ]] && sha=${F_SHAS[j]}; done
  size=$(stat -c %s "$DIR/$f")
  log "sqlite $svc: restoring $f ($(human_mb "$size")) into volume $vol at $rel (owner $owner)"
  t0=$(now_ns)
  helper_ctr=homeiq-restore-$svc-$$-$RANDOM
  guarded docker create --name "$helper_ctr" "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 -v "$vol:/target" --entrypoint sh "$HELPER" \
    -c "$HELPER_SCRIPT" restore "$svc" "$rel" "$sha" "$owner" >/dev/null ||
    fail_restore "sqlite $svc: cannot create a helper container from $HELPER (the database there is unchanged)"
  guarded docker cp "$DIR/$f" "$helper_ctr:/target/.homeiq-restore-$svc" ||
    fail_restore "sqlite $svc: copying $f into volume $vol failed (the database there is unchanged)"
  test_pause restore-sqlite-copied
  if ! guarded docker start -a "$helper_ctr"; then
    fail_restore "sqlite $svc: writing $rel into volume $vol failed (the database there is unchanged)"
  fi
  docker rm -f -v "$helper_ctr" >/dev/null 2>&1 || true
  ns=$(($(now_ns) - t0))
  log "sqlite $svc: restored in $((ns / 1000000)) ms ($(rate "$size" "$ns"))"
  done_steps+=("sqlite:$svc")
done

mark "sqlite in place"
log "restore complete from $DIR: ${done_steps[*]:-nothing to restore}"
