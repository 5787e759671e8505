#!/usr/bin/env bash
# Moves an old HomeIQ docker-compose deployment into a stack of this program: finds it by Docker's
# compose labels, takes one backup of it in the program's own format (scripts/backup/backup.sh,
# verified with scripts/backup/restore.sh), and prints the `pulumi config set` commands that make
# `pulumi up` restore it (homeiq:restoreFrom) and read it (org, bucket, retention, admin token).
#
# It never starts, stops, changes or deletes anything of the old deployment:
#   - a RUNNING container is backed up online, as the program backs up its own stacks: backup.sh
#     runs `influx backup` and SQLite's online backup API inside it;
#   - a STOPPED container is never started: its files are copied, through read-only mounts of its
#     volumes (or a `docker commit` of its container layer), into scratch volumes of this script. Nothing
#     writes to a stopped container's files, so the copy is consistent; a scratch InfluxDB started
#     from the same image on the copy (and SQLite, on the copies) does any crash recovery there,
#     and backup.sh backs up those scratch copies. Scratch containers, volumes and images are removed at exit.
#
# Usage and exit codes: README.md in this folder. The InfluxDB admin token is read from the old
# influx container's environment (or HOMEIQ_MIGRATE_INFLUX_TOKEN) and handed to backup.sh in its
# environment only: never printed, never in an argv, never written to a file. Never add `set -x`.
set -euo pipefail
umask 077

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BACKUP_SH=$HERE/../backup/backup.sh
RESTORE_SH=$HERE/../backup/restore.sh

readonly EXIT_USAGE=2 EXIT_DOCKER=3 EXIT_STEP=4
readonly EXIT_NONE_FOUND=10 EXIT_AMBIGUOUS=11 EXIT_NO_INFLUXDB=12 EXIT_CORRUPT_SQLITE=13
readonly EXIT_PLACEHOLDER=14 EXIT_TOKEN=15

log() { printf '[homeiq-migrate] %s\n' "$*"; }
warn() { printf '[homeiq-migrate] WARNING: %s\n' "$*" >&2; }
die() {
  local code=$1
  shift
  printf '[homeiq-migrate] ERROR: %s\n' "$*" >&2
  exit "$code"
}

usage() {
  cat <<'EOF'
Usage: scripts/migrate/from-compose.sh --stack STACK [--project NAME] [--backup-root DIR]
                                       [--project-glob GLOB] [--carry-placeholder-token]

  --stack STACK             the Pulumi stack to migrate into (the backup goes to DIR/STACK/<UTC time>/)
  --project NAME            the old compose project (required when more than one is found)
  --backup-root DIR         absolute folder for the backup (default: ~/homeiq-backups, the program's default)
  --project-glob GLOB       only look at compose projects whose name matches GLOB (default: all)
  --carry-placeholder-token carry an old placeholder InfluxDB token (e.g. ha-ingestor-token) anyway
Environment: HOMEIQ_MIGRATE_INFLUX_TOKEN (secret, optional) replaces the token read from the old
InfluxDB container; HOMEIQ_MIGRATE_INFLUX_START_TIMEOUT (seconds, default 120).
EOF
}

# --- arguments ---------------------------------------------------------------------------------
STACK='' PROJECT='' PROJECT_GLOB='*' CARRY_PLACEHOLDER=0
BACKUP_ROOT=${HOME:-}/homeiq-backups
while (($#)); do
  case $1 in
    --stack | --project | --backup-root | --project-glob)
      (($# >= 2)) || die "$EXIT_USAGE" "$1 needs a value (see --help)"
      case $1 in
        --stack) STACK=$2 ;;
        --project) PROJECT=$2 ;;
        --backup-root) BACKUP_ROOT=$2 ;;
        --project-glob) PROJECT_GLOB=$2 ;;
      esac
      shift 2
      ;;
    --carry-placeholder-token) CARRY_PLACEHOLDER=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EXIT_USAGE" "unknown argument '$1'" ;;
  esac
done
[[ -n $STACK ]] || { usage >&2; die "$EXIT_USAGE" "--stack is required: the Pulumi stack to migrate into, e.g. --stack prod"; }
[[ $STACK =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
  die "$EXIT_USAGE" "--stack '$STACK' is not a stack name (letters, digits, '_', '.', '-'), e.g. --stack prod"
if [[ ! $BACKUP_ROOT =~ ^/[A-Za-z0-9_./+-]*$ || /$BACKUP_ROOT/ == */../* ]]; then
  die "$EXIT_USAGE" "--backup-root '$BACKUP_ROOT' must be an absolute path without spaces, ':' or '..', e.g. --backup-root /srv/homeiq-backups"
fi
START_TIMEOUT=${HOMEIQ_MIGRATE_INFLUX_START_TIMEOUT:-120}
[[ $START_TIMEOUT =~ ^[1-9][0-9]*$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_MIGRATE_INFLUX_START_TIMEOUT must be a positive number of seconds (got '$START_TIMEOUT')"

command -v docker >/dev/null || die "$EXIT_DOCKER" "the docker CLI is not on PATH"
if ! err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
  die "$EXIT_DOCKER" "the Docker engine does not answer (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}): ${err##*$'\n'}"
fi

# --- what HomeIQ is --------------------------------------------------------------------------------
# Compose service names of HomeIQ (the program's catalog keys, test/unit/migrate.test.ts keeps them
# equal). A project is HomeIQ's when it has one of them besides influxdb, so another application's
# `influxdb` service is never taken for HomeIQ's.
readonly HOMEIQ_SERVICES="influxdb websocket-ingestion enrichment-pipeline admin-api data-api data-retention carbon-intensity electricity-pricing air-quality calendar smart-meter sports-data health-dashboard log-aggregator"
# The SQLite databases, where the old images keep them (catalog/services.ts sqliteDatabase.containerPath).
readonly SQLITE_SERVICES="data-api sports-data"
declare -A SQLITE_PATH=([data-api]=/app/data/metadata.db [sports-data]=/app/data/webhooks.db)
# The old compose files' placeholder credentials (catalog/placeholderCredentials.ts; kept equal by a test).
readonly PLACEHOLDERS="admin123 ha-ingestor-token super-secret-jwt-key adminpass dev_simulator_token changeme"
readonly MIN_TOKEN_LENGTH=24 # config/schema.ts: influxdbAdminToken

is_homeiq_service() { [[ " $HOMEIQ_SERVICES " == *" $1 "* ]]; }

# --- 1. discovery by compose labels ----------------------------------------------------------------
declare -A PROJECT_SERVICES=() # project -> "service:state ..."
declare -A PROJECT_IS_HOMEIQ=()
declare -A CTR_OF=()          # "project/service" -> container name
declare -A CTR_COUNT=()       # "project/service" -> number of containers
while IFS=$'\x1f' read -r project service name state oneoff; do
  [[ -n $project && -n $service ]] || continue
  [[ ${oneoff,,} == true ]] && continue # `docker compose run` leftovers are not the deployment
  # shellcheck disable=SC2053 # the glob is meant to match
  [[ $project == $PROJECT_GLOB ]] || continue
  is_homeiq_service "$service" || continue
  [[ $service == influxdb ]] || PROJECT_IS_HOMEIQ[$project]=1
  PROJECT_SERVICES[$project]+="$service:$state "
  CTR_OF["$project/$service"]=$name
  CTR_COUNT["$project/$service"]=$((${CTR_COUNT["$project/$service"]:-0} + 1))
done < <(docker ps -a --filter label=com.docker.compose.project --format \
  '{{.Label "com.docker.compose.project"}}{{"\x1f"}}{{.Label "com.docker.compose.service"}}{{"\x1f"}}{{.Names}}{{"\x1f"}}{{.State}}{{"\x1f"}}{{.Label "com.docker.compose.oneoff"}}')

FOUND=()
for p in "${!PROJECT_IS_HOMEIQ[@]}"; do FOUND+=("$p"); done
mapfile -t FOUND < <(printf '%s\n' "${FOUND[@]}" | sed '/^$/d' | sort)
services_of() { # project -> "influxdb running, data-api exited, ..."
  local s out=''
  for s in ${PROJECT_SERVICES[$1]}; do out+="${out:+, }${s%%:*} ${s#*:}"; done
  printf '%s' "$out"
}
scope=''
[[ $PROJECT_GLOB == '*' ]] || scope=" whose name matches '$PROJECT_GLOB'"
if [[ -n $PROJECT ]]; then
  if [[ -z ${PROJECT_IS_HOMEIQ[$PROJECT]:-} ]]; then
    others=''
    ((${#FOUND[@]})) && others="; HomeIQ compose projects found: ${FOUND[*]}"
    die "$EXIT_NONE_FOUND" "no HomeIQ compose project named '$PROJECT'$scope: no container carries com.docker.compose.project=$PROJECT with a HomeIQ service label (com.docker.compose.service: $HOMEIQ_SERVICES)$others"
  fi
elif ((${#FOUND[@]} == 0)); then
  die "$EXIT_NONE_FOUND" "no old HomeIQ compose deployment found$scope: no container (running or stopped) carries a com.docker.compose.project label together with a HomeIQ com.docker.compose.service label ($HOMEIQ_SERVICES). Nothing to migrate; nothing was changed"
elif ((${#FOUND[@]} > 1)); then
  lines=''
  for p in "${FOUND[@]}"; do lines+=$'\n'"  - $p ($(services_of "$p"))"; done
  die "$EXIT_AMBIGUOUS" "found ${#FOUND[@]} HomeIQ compose projects; name the one to migrate with --project NAME (nothing was changed):$lines"
else
  PROJECT=${FOUND[0]}
fi
log "compose project '$PROJECT': $(services_of "$PROJECT")"

for s in influxdb $SQLITE_SERVICES; do
  if ((${CTR_COUNT["$PROJECT/$s"]:-0} > 1)); then
    die "$EXIT_STEP" "compose project '$PROJECT' has ${CTR_COUNT["$PROJECT/$s"]} containers of service $s; migrate needs exactly one (remove the extra ones yourself); nothing was changed"
  fi
done
INFLUX_CTR=${CTR_OF["$PROJECT/influxdb"]:-}
if [[ -z $INFLUX_CTR ]]; then
  die "$EXIT_NO_INFLUXDB" "compose project '$PROJECT' has no influxdb container (no container labelled com.docker.compose.service=influxdb; it has: $(services_of "$PROJECT")). Without InfluxDB there is no history to migrate: if its container was removed, recreate it on its old volumes with the old compose file ('docker compose -p $PROJECT create influxdb') and run this again; nothing was changed"
fi

# --- container facts ---------------------------------------------------------------------------------
state_of() { # container -> running | stopped
  [[ $(docker container inspect --format '{{.State.Running}}' "$1") == true ]] && echo running || echo stopped
}
# mount_of <container> <path>: "volume-or-bind<TAB>name-or-source<TAB>destination" of the mount holding path, or nothing (container layer).
mount_of() {
  local best='' best_dest='' dest type name source
  while IFS=$'\x1f' read -r dest type name source; do
    [[ -n $dest ]] || continue
    if [[ $2 == "$dest" || $2 == "$dest"/* ]] && ((${#dest} > ${#best_dest})); then
      best_dest=$dest
      if [[ $type == volume ]]; then best="volume"$'\x1f'"$name"$'\x1f'"$dest"; else best="$type"$'\x1f'"$source"$'\x1f'"$dest"; fi
    fi
  done < <(docker container inspect --format '{{range .Mounts}}{{.Destination}}{{"\x1f"}}{{.Type}}{{"\x1f"}}{{.Name}}{{"\x1f"}}{{.Source}}{{"\n"}}{{end}}' "$1")
  printf '%s' "$best"
}

INFLUX_STATE=$(state_of "$INFLUX_CTR")
INFLUX_IMAGE_ID=$(docker container inspect --format '{{.Image}}' "$INFLUX_CTR")
INFLUX_IMAGE_REF=$(docker container inspect --format '{{.Config.Image}}' "$INFLUX_CTR")
INFLUX_USER=$(docker container inspect --format '{{.Config.User}}' "$INFLUX_CTR")
INFLUX_DATA_MOUNT=$(mount_of "$INFLUX_CTR" /var/lib/influxdb2)
[[ -n $INFLUX_DATA_MOUNT ]] ||
  die "$EXIT_NO_INFLUXDB" "influxdb container $INFLUX_CTR has no volume at /var/lib/influxdb2 (its data would be in its container layer, which this script does not migrate); nothing was changed"
IFS=$'\x1f' read -r mtype mname _ <<<"$INFLUX_DATA_MOUNT"
log "influxdb: container $INFLUX_CTR ($INFLUX_STATE), image $INFLUX_IMAGE_REF, data in $mtype $mname"

# The old container's environment, read line by line through a pipe (no temp file): the
# organisation, bucket and admin token its first-run setup used, and the server's INFLUXD_* settings.
ORG='' BUCKET='' TOKEN='' TOKEN_SOURCE=env INFLUXD_VARS=()
while IFS= read -r line; do
  case $line in
    DOCKER_INFLUXDB_INIT_ORG=*) ORG=${line#*=} ;;
    DOCKER_INFLUXDB_INIT_BUCKET=*) BUCKET=${line#*=} ;;
    DOCKER_INFLUXDB_INIT_ADMIN_TOKEN=*) TOKEN=${line#*=} ;;
    INFLUXD_*=*) INFLUXD_VARS+=("$line") ;;
  esac
done < <(docker container inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$INFLUX_CTR")
if [[ -n ${HOMEIQ_MIGRATE_INFLUX_TOKEN:-} ]]; then
  TOKEN=$HOMEIQ_MIGRATE_INFLUX_TOKEN TOKEN_SOURCE=override
  log "influxdb: using the admin token from HOMEIQ_MIGRATE_INFLUX_TOKEN (not the container's DOCKER_INFLUXDB_INIT_ADMIN_TOKEN)"
fi
[[ -n $TOKEN ]] ||
  die "$EXIT_TOKEN" "influxdb container $INFLUX_CTR has no DOCKER_INFLUXDB_INIT_ADMIN_TOKEN in its environment; give the operator token without echoing it ('read -rs HOMEIQ_MIGRATE_INFLUX_TOKEN && export HOMEIQ_MIGRATE_INFLUX_TOKEN') and run this again; nothing was changed"
for v in ORG BUCKET; do
  [[ -n ${!v} ]] || die "$EXIT_NO_INFLUXDB" "influxdb container $INFLUX_CTR has no DOCKER_INFLUXDB_INIT_$v in its environment, so its organisation and bucket are unknown; nothing was changed"
done

# The token is in force after a full restore, and the program refuses placeholders (and short tokens) as
# homeiq:influxdbAdminToken: refuse before any work, unless the user insists.
token_weakness=''
for p in $PLACEHOLDERS; do [[ ${TOKEN,,} == "$p" ]] && token_weakness="is one of the old compose files' placeholder credentials"; done
shopt -s nocasematch
[[ $TOKEN =~ ^your_[a-z0-9_]*_here$ ]] && token_weakness="is a template filler (your_..._here)"
shopt -u nocasematch
[[ -z $token_weakness && ${#TOKEN} -lt $MIN_TOKEN_LENGTH ]] &&
  token_weakness="is only ${#TOKEN} characters long (the program requires at least $MIN_TOKEN_LENGTH)"
if [[ -n $token_weakness && $CARRY_PLACEHOLDER == 0 ]]; then
  die "$EXIT_PLACEHOLDER" "the old InfluxDB admin token $token_weakness. A full restore brings it back as the token in force, and the program refuses it as homeiq:influxdbAdminToken (the policy pack forbids it too). Run this again with --carry-placeholder-token to carry it anyway (the stack then needs homeiq:acceptPlaceholderInfluxdbToken=true), and rotate it right after the cut-over (README: 'Coming from the compose files'); nothing was changed"
fi

# SQLite databases: which exist, where.
declare -A SQL_CTR=() SQL_STATE=() SQL_WHERE=() SQL_MOUNT=()
for svc in $SQLITE_SERVICES; do
  ctr=${CTR_OF["$PROJECT/$svc"]:-}
  if [[ -z $ctr ]]; then
    log "sqlite $svc: no $svc container in project '$PROJECT' (the old prod compose file had none); nothing to migrate for it"
    continue
  fi
  SQL_CTR[$svc]=$ctr
  SQL_STATE[$svc]=$(state_of "$ctr")
  SQL_MOUNT[$svc]=$(mount_of "$ctr" "${SQLITE_PATH[$svc]}")
  if [[ -n ${SQL_MOUNT[$svc]} ]]; then
    IFS=$'\x1f' read -r mtype mname _ <<<"${SQL_MOUNT[$svc]}"
    SQL_WHERE[$svc]="in $mtype $mname"
  else
    SQL_WHERE[$svc]="in the container layer of $ctr"
  fi
done

# --- scratch space (removed at exit, whatever happens) -------------------------------------------------------------
SCRATCH=homeiq-migrate-$$-$RANDOM
SCRATCH_CONTAINERS=() SCRATCH_VOLUMES=() SCRATCH_IMAGES=()
cleanup() {
  local rc=$?
  if ((${#SCRATCH_CONTAINERS[@]})); then docker rm -f "${SCRATCH_CONTAINERS[@]}" >/dev/null 2>&1 || true; fi
  if ((${#SCRATCH_VOLUMES[@]})); then docker volume rm -f "${SCRATCH_VOLUMES[@]}" >/dev/null 2>&1 || true; fi
  if ((${#SCRATCH_IMAGES[@]})); then docker image rm -f "${SCRATCH_IMAGES[@]}" >/dev/null 2>&1 || true; fi
  ((${#SCRATCH_CONTAINERS[@]} + ${#SCRATCH_VOLUMES[@]} + ${#SCRATCH_IMAGES[@]} == 0)) ||
    log "removed the scratch containers, volumes and images ($SCRATCH-*)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
scratch_volume() { # name: created and remembered for cleanup (not in a subshell, so it is remembered)
  SCRATCH_VOLUMES+=("$1")
  docker volume create --label com.homeiq.migrate.scratch=1 "$1" >/dev/null || die "$EXIT_STEP" "cannot create scratch volume $1"
}
now_ns() { date +%s%N; }
secs() { awk -v ns="$(($(now_ns) - $1))" 'BEGIN { printf "%.1f s", ns / 1e9 }'; }

# A SQLite health check (python3 of the service's own image): prints one line; exit 3 absent, 4 unhealthy.
# Mode "ro" for a live database (read transaction, like any reader); "rw" for a scratch copy, so a hot
# journal or WAL left by a stopped service is recovered in the copy.
# shellcheck disable=SC2016 # python source
CHECK_PY='import os, sqlite3, sys
path, mode = sys.argv[1], sys.argv[2]
if not os.path.isfile(path):
    print("no database file at %s" % path); sys.exit(3)
try:
    uri = "file:%s?mode=%s" % (path, mode)
    c = sqlite3.connect(uri, uri=True, timeout=60)
    result = [r[0] for r in c.execute("PRAGMA quick_check").fetchall()]
    tables = c.execute("SELECT count(*) FROM sqlite_master WHERE type = ?", ("table",)).fetchone()[0]
    journal = c.execute("PRAGMA journal_mode").fetchone()[0]
    c.close()
except sqlite3.DatabaseError as e:
    print("not a readable SQLite database: %s" % str(e).replace("\n", " ")); sys.exit(4)
if result != ["ok"]:
    print("PRAGMA quick_check failed: %s" % "; ".join(r.replace("\n", " ") for r in result[:5])); sys.exit(4)
print("%d bytes, %d tables, journal_mode %s, quick_check ok" % (os.path.getsize(path), tables, journal))'

# --- 2. sources for backup.sh ----------------------------------------------------------------------------------------
BACKUP_INFLUX=$INFLUX_CTR
if [[ $INFLUX_STATE == stopped ]]; then
  # Copy every mount of the stopped container (read-only) into scratch volumes, and start a scratch
  # InfluxDB from the same image on the copies: `influx backup` needs a server, and this one is ours.
  t0=$(now_ns)
  mount_args=() copy_mounts=() copy_script='set -e' i=0
  while IFS=$'\x1f' read -r dest; do
    [[ -n $dest ]] || continue
    vol=$SCRATCH-influxdb-$i
    scratch_volume "$vol"
    mount_args+=(-v "$vol:$dest")
    copy_script+="; cp -a '$dest/.' /homeiq-migrate/$i/"
    copy_mounts+=(-v "$vol:/homeiq-migrate/$i")
    i=$((i + 1))
  done < <(docker container inspect --format '{{range .Mounts}}{{.Destination}}{{"\n"}}{{end}}' "$INFLUX_CTR")
  log "influxdb: $INFLUX_CTR is stopped: copying its $i volume(s) through read-only mounts into scratch volumes"
  if ! out=$(docker run --rm --network none --user 0:0 --volumes-from "$INFLUX_CTR:ro" "${copy_mounts[@]}" \
    --entrypoint sh "$INFLUX_IMAGE_ID" -c "$copy_script" 2>&1); then
    die "$EXIT_STEP" "influxdb: copying the volumes of $INFLUX_CTR failed: $out"
  fi
  BACKUP_INFLUX=$SCRATCH-influxdb
  SCRATCH_CONTAINERS+=("$BACKUP_INFLUX")
  env_args=()
  for kv in "${INFLUXD_VARS[@]}"; do
    export "${kv?}" # the value goes to the docker CLI's environment; only its name is in argv
    env_args+=(-e "${kv%%=*}")
  done
  log "influxdb: starting a scratch InfluxDB ($BACKUP_INFLUX, no network) from image $INFLUX_IMAGE_REF on the copies"
  docker run -d --name "$BACKUP_INFLUX" --network none --label com.homeiq.migrate.scratch=1 ${INFLUX_USER:+--user "$INFLUX_USER"} \
    "${env_args[@]}" "${mount_args[@]}" "$INFLUX_IMAGE_ID" >/dev/null || die "$EXIT_STEP" "influxdb: cannot start the scratch InfluxDB"
  deadline=$((SECONDS + START_TIMEOUT))
  until docker exec "$BACKUP_INFLUX" influx ping >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || [[ $(state_of "$BACKUP_INFLUX") != running ]]; then
      docker logs --tail 20 "$BACKUP_INFLUX" 2>&1 | sed 's/^/  influxd: /' >&2
      die "$EXIT_STEP" "influxdb: the scratch InfluxDB on the copy of $INFLUX_CTR's data did not answer 'influx ping' within ${START_TIMEOUT}s (HOMEIQ_MIGRATE_INFLUX_START_TIMEOUT)"
    fi
    sleep 0.5
  done
  log "influxdb: scratch InfluxDB ready in $(secs "$t0")"
fi

# Org, bucket and retention as the data holds them; this also proves the token (it is checked by the server).
bucket_row=''
if ! bucket_row=$(INFLUX_TOKEN=$TOKEN docker exec -e INFLUX_TOKEN "$BACKUP_INFLUX" \
  influx bucket list --org "$ORG" --name "$BUCKET" --hide-headers 2>&1); then
  if [[ $bucket_row == *nauthori* ]]; then
    hint="the container's DOCKER_INFLUXDB_INIT_ADMIN_TOKEN (was the token changed after setup? then give the current operator token: 'read -rs HOMEIQ_MIGRATE_INFLUX_TOKEN && export HOMEIQ_MIGRATE_INFLUX_TOKEN')"
    [[ $TOKEN_SOURCE == env ]] || hint="HOMEIQ_MIGRATE_INFLUX_TOKEN"
    die "$EXIT_TOKEN" "influxdb: the admin token from $hint is not accepted by InfluxDB in $INFLUX_CTR; nothing was changed"
  fi
  die "$EXIT_NO_INFLUXDB" "influxdb: bucket '$BUCKET' of organisation '$ORG' (from $INFLUX_CTR's DOCKER_INFLUXDB_INIT_* variables) is not readable: ${bucket_row##*$'\n'}; nothing was changed"
fi
retention=$(printf '%s\n' "$bucket_row" | awk -F'\t' -v b="$BUCKET" '$2 == b { print $3; exit }')
RETENTION_DAYS=''
case $retention in
  infinite | 0 | 0s) RETENTION_DAYS=0 ;;
  *h*m*s)
    hours=${retention%%h*}
    if [[ $hours =~ ^[0-9]+$ ]]; then
      RETENTION_DAYS=$(((hours + 23) / 24)) # rounded up: the new stack never deletes what the old one kept
      ((hours % 24 == 0)) || warn "influxdb: bucket '$BUCKET' keeps ${hours}h; the program counts whole days, so ${RETENTION_DAYS} days (rounded up, nothing is deleted earlier)"
    fi
    ;;
esac
[[ -n $RETENTION_DAYS ]] ||
  die "$EXIT_STEP" "influxdb: cannot read the retention of bucket '$BUCKET' (influx bucket list printed '${bucket_row//$'\t'/ }')"
log "influxdb: organisation '$ORG', bucket '$BUCKET', retention ${retention} (${RETENTION_DAYS} days; 0 = forever)"

SQLITE_DBS=()
declare -A SQL_REPORT=()
for svc in $SQLITE_SERVICES; do
  ctr=${SQL_CTR[$svc]:-}
  [[ -n $ctr ]] || continue
  dbpath=${SQLITE_PATH[$svc]}
  dbdir=$(dirname "$dbpath") dbname=$(basename "$dbpath")
  image=$(docker container inspect --format '{{.Image}}' "$ctr")
  if [[ ${SQL_STATE[$svc]} == running ]]; then
    set +e
    out=$(docker exec "$ctr" python3 -c "$CHECK_PY" "$dbpath" ro 2>&1)
    rc=$?
    set -e
    source_ctr=$ctr
    where="${SQL_WHERE[$svc]} (running: online backup)"
  else
    # Stopped: nothing writes to its files, so a copy of the database and of any -wal/-journal beside it is
    # consistent. A volume is read through a read-only mount; the container layer through `docker commit`.
    t0=$(now_ns)
    vol=$SCRATCH-$svc
    scratch_volume "$vol"
    source_ctr=$SCRATCH-$svc
    SCRATCH_CONTAINERS+=("$source_ctr")
    docker create --name "$source_ctr" --network none --user 0:0 --label com.homeiq.migrate.scratch=1 \
      -v "$vol:$dbdir" --entrypoint python3 "$image" >/dev/null || die "$EXIT_STEP" "sqlite $svc: cannot create a scratch container from $ctr's image"
    copied=0
    if [[ -n ${SQL_MOUNT[$svc]} ]]; then
      # shellcheck disable=SC2016 # expanded by the helper's sh
      if ! out=$(docker run --rm --network none --user 0:0 --volumes-from "$ctr:ro" -v "$vol:/homeiq-migrate" \
        --entrypoint sh "$image" -c 'for f in "$1" "$1-wal" "$1-journal"; do if [ -e "$f" ]; then cp -p "$f" /homeiq-migrate/ && echo "$f"; fi; done' \
        copy "$dbpath" 2>&1); then
        die "$EXIT_STEP" "sqlite $svc: copying $dbpath out of ${SQL_WHERE[$svc]} failed: $out"
      fi
      copied=$(grep -c . <<<"$out" || true)
    else
      # The container layer: `docker commit` reads it as a diff, without mounting the container. (`docker cp`
      # and `docker export` mount it, which creates /etc/hosts-style mount points in the layer: a change.)
      layer_image=$SCRATCH-$svc-layer:migrate
      SCRATCH_IMAGES+=("$layer_image")
      docker commit --pause=false --change 'LABEL com.homeiq.migrate.scratch=1' "$ctr" "$layer_image" >/dev/null ||
        die "$EXIT_STEP" "sqlite $svc: cannot read the container layer of $ctr (docker commit to a scratch image)"
      # shellcheck disable=SC2016 # expanded by the helper's sh
      if ! out=$(docker run --rm --network none --user 0:0 -v "$vol:/homeiq-migrate" --entrypoint sh "$layer_image" \
        -c 'for f in "$1" "$1-wal" "$1-journal"; do if [ -e "$f" ]; then cp -p "$f" /homeiq-migrate/ && echo "$f"; fi; done' \
        copy "$dbpath" 2>&1); then
        die "$EXIT_STEP" "sqlite $svc: copying $dbpath out of ${SQL_WHERE[$svc]} failed: $out"
      fi
      copied=$(grep -c . <<<"$out" || true)
    fi
    ((copied == 0)) || log "sqlite $svc: $ctr is stopped: copied $copied file(s) ($dbname, and its -wal/-journal if any) ${SQL_WHERE[$svc]} into scratch volume $vol in $(secs "$t0")"
    set +e
    out=$(docker run --rm --network none --user 0:0 -v "$vol:$dbdir" --entrypoint python3 "$image" -c "$CHECK_PY" "$dbpath" rw 2>&1)
    rc=$?
    set -e
    where="${SQL_WHERE[$svc]} (stopped: copy)"
  fi
  case $rc in
    0) SQL_REPORT[$svc]="$dbname $where: ${out##*$'\n'}" ;;
    3) SQL_REPORT[$svc]="no $dbname ${SQL_WHERE[$svc]} (nothing to migrate for it)" ;;
    4) die "$EXIT_CORRUPT_SQLITE" "sqlite $svc: $dbpath ${SQL_WHERE[$svc]} is damaged: ${out##*$'\n'}. Refusing to migrate a damaged database (repair it, e.g. with sqlite3's .recover, or put back an older copy, then run this again); nothing was backed up or changed" ;;
    *) die "$EXIT_STEP" "sqlite $svc: checking $dbpath ${SQL_WHERE[$svc]} failed (exit $rc): $out" ;;
  esac
  log "sqlite $svc: ${SQL_REPORT[$svc]}"
  SQLITE_DBS+=("$svc=$source_ctr:$dbpath")
done

# --- 3. the backup (the program's own format and machinery) ------------------------------------------------------------
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
migrated_from="{\"composeProject\": $(json_str "$PROJECT"), \"influxdbContainer\": $(json_str "$INFLUX_CTR"), \"influxdbState\": \"$INFLUX_STATE\""
images_json="{\"influxdb\": $(json_str "$INFLUX_IMAGE_REF")"
for svc in $SQLITE_SERVICES; do
  [[ -n ${SQL_CTR[$svc]:-} ]] || continue
  migrated_from+=", $(json_str "$svc"): {\"container\": $(json_str "${SQL_CTR[$svc]}"), \"state\": \"${SQL_STATE[$svc]}\", \"where\": $(json_str "${SQL_WHERE[$svc]}")}"
  images_json+=", $(json_str "$svc"): $(json_str "$(docker container inspect --format '{{.Config.Image}}' "${SQL_CTR[$svc]}")")"
done
config_json="{\"migratedFrom\": $migrated_from}, \"influxdb\": {\"org\": $(json_str "$ORG"), \"bucket\": $(json_str "$BUCKET"), \"retentionDays\": $RETENTION_DAYS}}"

log "backing up with scripts/backup/backup.sh into $BACKUP_ROOT/$STACK/"
t0=$(now_ns)
backup_log=$(mktemp)
# A migration never deletes a backup: KEEP is set beyond any count, so backup.sh's retention removes nothing.
set +e
HOMEIQ_STACK=$STACK HOMEIQ_BACKUP_ROOT=$BACKUP_ROOT HOMEIQ_BACKUP_KEEP=1000000 \
  HOMEIQ_BACKUP_REASON="migrate-from-compose:$PROJECT" HOMEIQ_INFLUX_CONTAINER=$BACKUP_INFLUX HOMEIQ_INFLUX_TOKEN=$TOKEN \
  HOMEIQ_SQLITE_DBS="${SQLITE_DBS[*]}" HOMEIQ_STACK_CONFIG_JSON=$config_json HOMEIQ_IMAGES_JSON="$images_json}" \
  bash "$BACKUP_SH" | tee "$backup_log" | sed -u 's/^/  /'
rc=${PIPESTATUS[0]}
set -e
BACKUP_DIR=$(sed -n 's/^HOMEIQ_BACKUP_DIR=//p' "$backup_log" | tail -n 1)
rm -f "$backup_log"
((rc == 0)) || die "$EXIT_STEP" "scripts/backup/backup.sh failed (exit $rc, see above); the old deployment is unchanged"
[[ -n $BACKUP_DIR ]] || die "$EXIT_STEP" "scripts/backup/backup.sh reported no backup folder"
backup_time=$(secs "$t0")
log "verifying the backup as the restore will (scripts/backup/restore.sh, verify only)"
HOMEIQ_RESTORE_DIR=$BACKUP_DIR HOMEIQ_STACK=$STACK HOMEIQ_RESTORE_VERIFY_ONLY=1 bash "$RESTORE_SH" | sed -u 's/^/  /' ||
  die "$EXIT_STEP" "the new backup $BACKUP_DIR failed verification"
bytes=$(du -sb "$BACKUP_DIR" | cut -f1)
log "backup complete: $BACKUP_DIR ($(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }'), backup.sh in $backup_time)"

# --- 4. what the stack needs -----------------------------------------------------------------------------------------------
running=()
while IFS=$'\x1f' read -r name ports; do
  running+=("$name${ports:+ (ports $ports)}")
done < <(docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}{{"\x1f"}}{{.Ports}}')

if [[ -n $token_weakness ]]; then
  {
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!! WARNING: carrying a PLACEHOLDER InfluxDB admin token (--carry-placeholder-token): the token"
    echo "!! $token_weakness. Anyone who knows the old compose files can use it. The"
    echo "!! program accepts it only with homeiq:acceptPlaceholderInfluxdbToken=true and warns on every"
    echo "!! 'pulumi up'; the policy pack still rejects it. Rotate it right after the cut-over (README)."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo
  } >&2
fi

echo
log "next: set the stack's config with these commands (none of them prints the token):"
echo "----- pulumi config -----"
echo "pulumi config set homeiq:influxdbOrg $ORG --stack $STACK"
echo "pulumi config set homeiq:influxdbBucket $BUCKET --stack $STACK"
echo "pulumi config set homeiq:influxdbRetentionDays $RETENTION_DAYS --stack $STACK"
if [[ $TOKEN_SOURCE == env ]]; then
  # shellcheck disable=SC2016 # printed for the user, not expanded here
  printf '%s\n' "docker container inspect --format '{{range .Config.Env}}{{println .}}{{end}}' $INFLUX_CTR | sed -n 's/^DOCKER_INFLUXDB_INIT_ADMIN_TOKEN=//p' | pulumi config set --secret homeiq:influxdbAdminToken --stack $STACK"
else
  # shellcheck disable=SC2016 # printed for the user, not expanded here
  printf '%s\n' "printf '%s' \"\$HOMEIQ_MIGRATE_INFLUX_TOKEN\" | pulumi config set --secret homeiq:influxdbAdminToken --stack $STACK"
fi
[[ -z $token_weakness ]] || echo "pulumi config set homeiq:acceptPlaceholderInfluxdbToken true --stack $STACK"
echo "pulumi config set homeiq:restoreFrom $BACKUP_DIR --stack $STACK"
echo "----- end -----"
echo
if ((${#running[@]})); then
  log "the old deployment is RUNNING (${running[*]}). This backup is a rehearsal: whatever it writes from now on is not in it."
  log "for the cut-over, stop it (never 'down -v'), then run this script again and use the new folder:"
  log "  docker compose -p $PROJECT stop"
  log "'pulumi up' refuses to start while its containers hold the stack's host ports."
else
  log "the old deployment is stopped: nothing of it was started, changed or written. Then: pulumi up --stack $STACK"
fi
