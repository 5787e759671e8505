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
LOG_TAG=homeiq-migrate
# log, warn, die, EXIT_USAGE (2), EXIT_DOCKER (3), EXIT_STEP (4), scratch labels, on_exit, guarded, test_pause.
# shellcheck source=../backup/lib.sh
source "$HERE/../backup/lib.sh"

readonly EXIT_NONE_FOUND=10 EXIT_AMBIGUOUS=11 EXIT_NO_INFLUXDB=12 EXIT_CORRUPT_SQLITE=13
readonly EXIT_PLACEHOLDER=14 EXIT_TOKEN=15 EXIT_NOT_STOPPED=16 EXIT_NO_ANSWER=17 EXIT_SQLITE_LOCKED=18
readonly EXIT_VALUE=19 EXIT_CONTAINERS_REMOVED=20

# The program's own rules for the values this script carries into the stack's config (catalog/rules.ts and
# config/fields.ts; test/unit/scriptRules.test.ts holds these equal to them).
readonly RE_INFLUX_NAME='^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
readonly RE_STACK_NAME='^[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*$'
readonly STACK_NAME_MAX=64
readonly RETENTION_DAYS_MAX=99999
readonly SECRET_MAX=4096
readonly MIN_TOKEN_LENGTH=24

usage() {
  cat <<'EOF'
Usage: scripts/migrate/from-compose.sh --stack STACK [--project NAME] [--backup-root DIR]
                                       [--project-glob GLOB] [--carry-placeholder-token]
                                       [--influx-org NAME] [--influx-bucket NAME]
                                       [--influx-image IMAGE] [--python-image IMAGE] [--dry-run]

  --stack STACK             the Pulumi stack to migrate into (the backup goes to DIR/STACK/<UTC time>/)
  --project NAME            the old compose project (required when more than one is found)
  --backup-root DIR         absolute folder for the backup (default: ~/homeiq-backups, the program's default)
  --project-glob GLOB       only look at compose projects whose name matches GLOB (default: all)
  --carry-placeholder-token carry an old placeholder InfluxDB token (e.g. ha-ingestor-token) anyway
  --influx-org NAME         the organisation InfluxDB holds, when it is no longer DOCKER_INFLUXDB_INIT_ORG
  --influx-bucket NAME      the bucket, when it is no longer DOCKER_INFLUXDB_INIT_BUCKET
  --influx-image IMAGE      only its volumes left (docker compose down): migrate from them with this InfluxDB image
  --python-image IMAGE      ... and read data-api's metadata.db with this image's python3 (default: <project>-data-api)
  --dry-run                 find the deployment, check it and the token, say what would be backed up, and stop:
                            no backup, no scratch copy (but the read-only scratch containers of --influx-image)
Environment: HOMEIQ_MIGRATE_INFLUX_TOKEN (secret, optional) replaces the token read from the old
InfluxDB container; HOMEIQ_MIGRATE_INFLUX_START_TIMEOUT (seconds, default 120);
HOMEIQ_MIGRATE_ANSWER_TIMEOUT (seconds a running service may take to answer, default 60);
HOMEIQ_MIGRATE_SQLITE_BUSY_TIMEOUT (seconds to wait for a SQLite lock, default 60).
EOF
}

# --- arguments ---------------------------------------------------------------------------------
STACK='' PROJECT='' PROJECT_GLOB='*' CARRY_PLACEHOLDER=0 DRY_RUN=0 ORG_ARG='' BUCKET_ARG='' INFLUX_IMAGE_ARG='' PYTHON_IMAGE_ARG=''
ORG_SOURCE='' BUCKET_SOURCE=''
ARGS_GIVEN=("$@")
BACKUP_ROOT=${HOME:-}/homeiq-backups
while (($#)); do
  case $1 in
    --stack | --project | --backup-root | --project-glob | --influx-org | --influx-bucket | --influx-image | --python-image)
      (($# >= 2)) || die "$EXIT_USAGE" "$1 needs a value (see --help)"
      case $1 in
        --stack) STACK=$2 ;;
        --project) PROJECT=$2 ;;
        --backup-root) BACKUP_ROOT=$2 ;;
        --project-glob) PROJECT_GLOB=$2 ;;
        --influx-org) ORG_ARG=$2 ;;
        --influx-bucket) BUCKET_ARG=$2 ;;
        --influx-image) INFLUX_IMAGE_ARG=$2 ;;
        --python-image) PYTHON_IMAGE_ARG=$2 ;;
      esac
      shift 2
      ;;
    --carry-placeholder-token) CARRY_PLACEHOLDER=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EXIT_USAGE" "unknown argument ${1@Q}" ;;
  esac
done
[[ -n $STACK ]] || { usage >&2; die "$EXIT_USAGE" "--stack is required: the Pulumi stack to migrate into, e.g. --stack prod"; }
# The stacks of this project (Pulumi.<stack>.yaml beside Pulumi.yaml), as the program's synth finds them.
PROJECT_DIR=$(cd "$HERE/../.." && pwd)
KNOWN_STACKS=$(cd "$PROJECT_DIR" && for f in Pulumi.*.yaml; do [[ -e $f ]] && { f=${f#Pulumi.}; printf '%s ' "${f%.yaml}"; }; done)
# edits <a> <b>: the edits between two short names (insert, delete, replace, swap two neighbours), as the program's nearestName.
edits() {
  local a=$1 b=$2 i j cost
  local -a older prev cur
  for ((j = 0; j <= ${#b}; j++)); do prev[j]=$j; done
  for ((i = 1; i <= ${#a}; i++)); do
    cur=("$i")
    for ((j = 1; j <= ${#b}; j++)); do
      cost=1; [[ ${a:i-1:1} == "${b:j-1:1}" ]] && cost=0
      cur[j]=$((prev[j] + 1 < cur[j - 1] + 1 ? prev[j] + 1 : cur[j - 1] + 1))
      ((prev[j - 1] + cost < cur[j])) && cur[j]=$((prev[j - 1] + cost))
      if ((i > 1 && j > 1)) && [[ ${a:i-1:1} == "${b:j-2:1}" && ${a:i-2:1} == "${b:j-1:1}" ]] && ((older[j - 2] + 1 < cur[j])); then
        cur[j]=$((older[j - 2] + 1))
      fi
    done
    older=("${prev[@]}")
    prev=("${cur[@]}")
  done
  echo "${prev[${#b}]}"
}
if [[ ! -e $PROJECT_DIR/Pulumi.$STACK.yaml ]]; then
  for known in $KNOWN_STACKS; do
    if [[ ${STACK,,} == "${known,,}" ]] || (($(edits "${STACK,,}" "$known") <= 1)); then
      die "$EXIT_USAGE" "--stack ${STACK@Q}: there is no stack ${STACK@Q} here (no Pulumi.$STACK.yaml; stacks here: ${KNOWN_STACKS% }); did you mean --stack $known? For a new stack of that name, start its stack file first (pulumi stack init $STACK && pulumi config set homeiq:profile prod --stack $STACK) and run this again"
    fi
  done
fi
[[ $STACK =~ $RE_STACK_NAME && ${#STACK} -le $STACK_NAME_MAX ]] ||
  die "$EXIT_USAGE" "--stack ${STACK@Q} is not a stack name the program accepts (lower-case letters and digits, separated by '.', '_' or '-'; at most $STACK_NAME_MAX characters), e.g. --stack prod"
NEW_STACK=0
[[ -e $PROJECT_DIR/Pulumi.$STACK.yaml ]] || NEW_STACK=1
if [[ ! $BACKUP_ROOT =~ $RE_ABS_PATH ]] || path_has_dotdot "$BACKUP_ROOT"; then
  die "$EXIT_USAGE" "--backup-root ${BACKUP_ROOT@Q} must be an absolute path without spaces, ':' or '..', e.g. --backup-root /srv/homeiq-backups"
fi
for v in ORG_ARG BUCKET_ARG; do
  [[ -z ${!v} || ${!v} =~ $RE_INFLUX_NAME ]] ||
    die "$EXIT_USAGE" "--influx-${v%_ARG} ${!v@Q}: the program accepts 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit"
done
for v in HOMEIQ_MIGRATE_INFLUX_START_TIMEOUT:120 HOMEIQ_MIGRATE_ANSWER_TIMEOUT:60 HOMEIQ_MIGRATE_SQLITE_BUSY_TIMEOUT:60; do
  name=${v%%:*}
  val=${!name:-${v#*:}}
  [[ $val =~ ^[1-9][0-9]{0,5}$ ]] || die "$EXIT_USAGE" "$name must be a whole number of seconds from 1 to 999999 (got ${val@Q})"
  printf -v "${name#HOMEIQ_MIGRATE_}" '%s' "$val"
done
START_TIMEOUT=$INFLUX_START_TIMEOUT

need_docker
command -v timeout >/dev/null || die "$EXIT_DOCKER" "timeout (coreutils) is not on PATH"
sweep_abandoned_scratch

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

is_homeiq_service() { [[ " $HOMEIQ_SERVICES " == *" $1 "* ]]; }

# Named volumes of the old compose files (docker-compose.yml, .dev.yml, .prod.yml) that only HomeIQ has:
# a compose project with only volumes left (`docker compose down`) is HomeIQ's when it has one of them.
readonly HOMEIQ_VOLUMES="sqlite-data data_retention_backups data_retention_backups_dev ha_ingestor_logs influxdb_data_dev influxdb_config_dev websocket_logs enrichment_logs weather_logs admin_logs data_retention_logs dashboard_logs"

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

# Projects whose containers are gone but whose labelled volumes are left (`docker compose down`).
declare -A PROJECT_VOLUMES=() # project -> "volume-key=volume-name ..."
declare -A VOLUMES_ONLY=()
while IFS=$'\x1f' read -r project key name; do
  [[ -n $project && -n $key ]] || continue
  # shellcheck disable=SC2053 # the glob is meant to match
  [[ $project == $PROJECT_GLOB ]] || continue
  PROJECT_VOLUMES[$project]+="$key=$name "
  [[ " $HOMEIQ_VOLUMES " == *" $key "* && -z ${PROJECT_SERVICES[$project]:-} ]] && VOLUMES_ONLY[$project]=1
done < <(docker volume ls --filter label=com.docker.compose.project --format \
  '{{.Label "com.docker.compose.project"}}{{"\x1f"}}{{.Label "com.docker.compose.volume"}}{{"\x1f"}}{{.Name}}')

FOUND=()
for p in "${!PROJECT_IS_HOMEIQ[@]}" "${!VOLUMES_ONLY[@]}"; do FOUND+=("$p"); done
mapfile -t FOUND < <(printf '%s\n' "${FOUND[@]}" | sed '/^$/d' | sort -u)
services_of() { # project -> "influxdb running, data-api exited, ..."
  local s out=''
  for s in ${PROJECT_SERVICES[$1]:-}; do out+="${out:+, }${s%%:*} ${s#*:}"; done
  printf '%s' "${out:-no containers, only volumes}"
}
scope=''
[[ $PROJECT_GLOB == '*' ]] || scope=" whose name matches '$PROJECT_GLOB'"
if [[ -n $PROJECT ]]; then
  if [[ -z ${PROJECT_IS_HOMEIQ[$PROJECT]:-} && -z ${VOLUMES_ONLY[$PROJECT]:-} ]]; then
    others=''
    ((${#FOUND[@]})) && others="; HomeIQ compose projects found: ${FOUND[*]}"
    die "$EXIT_NONE_FOUND" "no HomeIQ compose project named '$PROJECT'$scope: no container carries com.docker.compose.project=$PROJECT with a HomeIQ service label (com.docker.compose.service: $HOMEIQ_SERVICES), and no volume of that project is one of HomeIQ's ($HOMEIQ_VOLUMES)$others"
  fi
elif ((${#FOUND[@]} == 0)); then
  die "$EXIT_NONE_FOUND" "no old HomeIQ compose deployment found$scope: no container (running, stopped or created) carries a com.docker.compose.project label together with a HomeIQ com.docker.compose.service label ($HOMEIQ_SERVICES), and no compose volume is one of HomeIQ's ($HOMEIQ_VOLUMES). Nothing to migrate; nothing was changed"
elif ((${#FOUND[@]} > 1)); then
  lines=''
  for p in "${FOUND[@]}"; do lines+=$'\n'"  - $p ($(services_of "$p"))"; done
  die "$EXIT_AMBIGUOUS" "found ${#FOUND[@]} HomeIQ compose projects; name the one to migrate with --project NAME (nothing was changed):$lines"
else
  PROJECT=${FOUND[0]}
fi

# --- scratch space (removed at exit, whatever happens) -------------------------------------------------------------
# Every scratch container, volume and image is named $SCRATCH-... and labelled as this run's (lib.sh), and
# removed at exit: after success, an error, or SIGINT / SIGTERM / SIGHUP (exit 128 + n), also when the
# signal went to the whole process group. A run killed outright leaves them to the next run's sweep.
SCRATCH=homeiq-migrate-$$-$RANDOM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/homeiq-migrate.XXXXXX")
BACKUP_PID='' BACKUP_DIR=''
cleanup() {
  local rc=$1 n
  if [[ -n $BACKUP_PID ]]; then
    # backup.sh runs in its own process group: it gets the signal from here, removes its .partial
    # folder and one-off containers, and is waited for.
    kill "-${INTERRUPTED:-TERM}" "$BACKUP_PID" 2>/dev/null || true
    wait "$BACKUP_PID" 2>/dev/null || true
  fi
  # Containers first (an attached `docker run` then returns), then what was in flight, then the rest.
  remove_scratch container $(scratch_objects container "$SCRATCH_OWNER" | cut -f1)
  wait_guarded
  n=$(remove_own_scratch)
  rm -rf "$WORK"
  ((n == 0)) || log "removed the scratch containers, volumes and images ($SCRATCH-*)"
  if [[ -n $INTERRUPTED && -n $BACKUP_DIR && -d $BACKUP_DIR ]]; then
    printf '[%s] interrupted after the backup %s was complete; it is a complete backup of the old deployment, but the config commands were not printed: run this again\n' "$LOG_TAG" "$BACKUP_DIR" >&2
  fi
}
on_exit cleanup
scratch_volume() { # name
  guarded docker volume create "${SCRATCH_LABEL_ARGS[@]}" "$1" >/dev/null || die "$EXIT_STEP" "cannot create scratch volume $1"
}
secs() { awk -v ns="$(($(now_ns) - $1))" 'BEGIN { printf "%.1f s", ns / 1e9 }'; }
# capture <file> <command...>: runs it guarded, stdout and stderr into <file>; returns its exit code.
capture() {
  local file=$1
  shift
  guarded "$@" >"$file" 2>&1
}
FROM_VOLUMES=0
if [[ -n ${VOLUMES_ONLY[$PROJECT]:-} ]]; then
  # The data is in the volumes, but what reads it (InfluxDB's image, its organisation, bucket and token,
  # data-api's image) was in the containers. Either compose recreates them on the same volumes without
  # starting anything (this script then reads them as a stopped deployment), or the user names the images
  # and gives the token, and this script reads the volumes through never-started scratch containers.
  declare -A VOL_OF=()
  for kv in ${PROJECT_VOLUMES[$PROJECT]}; do VOL_OF[${kv%%=*}]=${kv#*=}; done
  influx_data_vol=${VOL_OF[influxdb_data]:-${VOL_OF[influxdb_data_dev]:-}}
  influx_config_vol=${VOL_OF[influxdb_config]:-${VOL_OF[influxdb_config_dev]:-}}
  sqlite_vol=${VOL_OF[sqlite-data]:-}
  if [[ -z $INFLUX_IMAGE_ARG || -z ${HOMEIQ_MIGRATE_INFLUX_TOKEN:-} || -z $influx_data_vol ]]; then
    vols=''
    for kv in ${PROJECT_VOLUMES[$PROJECT]}; do vols+=$'\n'"  - ${kv#*=} (compose volume ${kv%%=*})"; done
    again="scripts/migrate/from-compose.sh"
    for a in "${ARGS_GIVEN[@]}"; do again+=" $(printf '%q' "$a")"; done
    no_data=''
    [[ -n $influx_data_vol ]] || no_data=" (none of them is InfluxDB's influxdb_data: without it there is no history to migrate)"
    die "$EXIT_CONTAINERS_REMOVED" "compose project '$PROJECT' has no containers left, only its volumes (it was removed with 'docker compose down'; the volumes hold the data)$no_data:$vols
Either recreate its containers on these volumes WITHOUT starting them, with the old compose file it was deployed from (in your HomeIQ checkout, e.g. docker-compose.yml), then run this again:
  docker compose -p $(printf '%q' "$PROJECT") -f /path/to/HomeIQ/docker-compose.yml create
  $again
or migrate straight from the volumes: give the InfluxDB operator token without echoing it ('read -rs HOMEIQ_MIGRATE_INFLUX_TOKEN && export HOMEIQ_MIGRATE_INFLUX_TOKEN') and the image the old InfluxDB ran (and, for data-api's metadata.db, an image with python3: the old data-api image is <project>-data-api):
  $again --influx-image influxdb:2.7 [--python-image IMAGE] [--influx-org NAME --influx-bucket NAME]
(sports-data's webhooks.db was in its container layer and went with the container.) Nothing was changed"
  fi
  docker image inspect "$INFLUX_IMAGE_ARG" >/dev/null 2>&1 ||
    die "$EXIT_USAGE" "--influx-image ${INFLUX_IMAGE_ARG@Q} is not present on the Docker host (docker pull it first: the image the old InfluxDB ran, e.g. influxdb:2.7)"
  # Never-started scratch containers that mount the old volumes read-only (volume-nocopy: nothing is ever
  # copied into them), standing in for the removed containers: the stopped-deployment path reads them.
  mounts=(--mount "type=volume,src=$influx_data_vol,dst=/var/lib/influxdb2,readonly,volume-nocopy")
  [[ -z $influx_config_vol ]] || mounts+=(--mount "type=volume,src=$influx_config_vol,dst=/etc/influxdb2,readonly,volume-nocopy")
  guarded docker create --name "$SCRATCH-old-influxdb" "${SCRATCH_LABEL_ARGS[@]}" --network none "${mounts[@]}" \
    -e "DOCKER_INFLUXDB_INIT_ORG=${ORG_ARG:-ha-ingestor}" -e "DOCKER_INFLUXDB_INIT_BUCKET=${BUCKET_ARG:-home_assistant_events}" \
    "$INFLUX_IMAGE_ARG" >/dev/null || die "$EXIT_STEP" "cannot create a scratch container of $INFLUX_IMAGE_ARG on volume $influx_data_vol"
  CTR_OF["$PROJECT/influxdb"]=$SCRATCH-old-influxdb
  if [[ -n $sqlite_vol ]]; then
    py_image=${PYTHON_IMAGE_ARG:-$PROJECT-data-api}
    docker image inspect "$py_image" >/dev/null 2>&1 ||
      die "$EXIT_USAGE" "data-api's volume $sqlite_vol holds metadata.db, and reading it needs an image with python3: the old data-api image ${py_image@Q} is not present; give one with --python-image IMAGE; nothing was changed"
    guarded docker create --name "$SCRATCH-old-data-api" "${SCRATCH_LABEL_ARGS[@]}" --network none \
      --mount "type=volume,src=$sqlite_vol,dst=/app/data,readonly,volume-nocopy" "$py_image" >/dev/null ||
      die "$EXIT_STEP" "cannot create a scratch container of $py_image on volume $sqlite_vol"
    CTR_OF["$PROJECT/data-api"]=$SCRATCH-old-data-api
  fi
  FROM_VOLUMES=1
  log "compose project '$PROJECT': no containers left, only volumes: reading them read-only through never-started scratch containers (InfluxDB image $INFLUX_IMAGE_ARG${sqlite_vol:+, the data-api volume with $py_image})"
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
# state_of <container>: running | stopped (exited, created, dead), or paused / restarting, which
# are refused: a paused container's files are mid-write, and a restarting one starts again any moment.
state_of() {
  local status
  status=$(docker container inspect --format '{{.State.Status}}' "$1")
  case $status in
    running) echo running ;;
    paused | restarting) echo "$status" ;;
    *) echo stopped ;;
  esac
}
# require_readable <service> <container> <state>: refuses a paused or restarting container, saying what to do.
require_readable() {
  local restarts
  case $3 in
    paused)
      die "$EXIT_NOT_STOPPED" "$1: container $2 is PAUSED (docker pause): it holds its files mid-write, so it can be neither backed up online nor copied. Unpause it ('docker unpause $2') or stop the deployment ('docker compose -p $PROJECT stop'), then run this again; nothing was changed" ;;
    restarting)
      restarts=$(docker container inspect --format '{{.RestartCount}}' "$2")
      die "$EXIT_NOT_STOPPED" "$1: container $2 is RESTARTING (crash loop, $restarts restarts so far; see 'docker logs --tail 50 $2'): it starts again at any moment, so its files cannot be read consistently. Stop the deployment ('docker compose -p $PROJECT stop'), then run this again: a stopped deployment is read from a copy; nothing was changed" ;;
  esac
}
# mount_of <container> <path>: "volume-or-bind<US>name-or-source<US>destination" of the mount holding path, or nothing (container layer).
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
require_readable influxdb "$INFLUX_CTR" "$INFLUX_STATE"
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
ORG_SOURCE="DOCKER_INFLUXDB_INIT_ORG in the environment of $INFLUX_CTR"
BUCKET_SOURCE="DOCKER_INFLUXDB_INIT_BUCKET in the environment of $INFLUX_CTR"
if ((FROM_VOLUMES)); then
  ORG_SOURCE="the old compose file's default (no container left to read it from; --influx-org sets it)"
  BUCKET_SOURCE="the old compose file's default (no container left to read it from; --influx-bucket sets it)"
fi
[[ -z $ORG_ARG ]] || ORG=$ORG_ARG ORG_SOURCE="--influx-org"
[[ -z $BUCKET_ARG ]] || BUCKET=$BUCKET_ARG BUCKET_SOURCE="--influx-bucket"
if [[ -n ${HOMEIQ_MIGRATE_INFLUX_TOKEN:-} ]]; then
  TOKEN=$HOMEIQ_MIGRATE_INFLUX_TOKEN TOKEN_SOURCE=override
  log "influxdb: using the admin token from HOMEIQ_MIGRATE_INFLUX_TOKEN (not the container's DOCKER_INFLUXDB_INIT_ADMIN_TOKEN)"
fi
[[ -n $TOKEN ]] ||
  die "$EXIT_TOKEN" "influxdb container $INFLUX_CTR has no DOCKER_INFLUXDB_INIT_ADMIN_TOKEN in its environment; give the operator token without echoing it ('read -rs HOMEIQ_MIGRATE_INFLUX_TOKEN && export HOMEIQ_MIGRATE_INFLUX_TOKEN') and run this again; nothing was changed"
for v in ORG BUCKET; do
  [[ -n ${!v} ]] || die "$EXIT_NO_INFLUXDB" "influxdb container $INFLUX_CTR has no DOCKER_INFLUXDB_INIT_$v in its environment, so its organisation and bucket are unknown; give them with --influx-org and --influx-bucket (as InfluxDB holds them); nothing was changed"
done

# Every value carried into the stack's config is checked against the program's own rules now, before
# anything is written, so `pulumi up` never refuses what this script printed.
for v in ORG BUCKET; do
  if [[ ! ${!v} =~ $RE_INFLUX_NAME ]]; then
    src_var=${v}_SOURCE key=influxdb${v,,} key=${key/org/Org} key=${key/bucket/Bucket} what=${v,,}
    [[ $what == org ]] && what=organisation
    die "$EXIT_VALUE" "the old InfluxDB $what ${!v@Q} (from ${!src_var}) is not a name the program accepts as homeiq:$key (1-63 letters, digits, '_', '.' or '-', starting with a letter or digit). A full restore keeps InfluxDB's names, so the stack must use this one: rename the $what in the old InfluxDB first (influx $( [[ $v == ORG ]] && echo 'org update --id <id> --name NEW' || echo 'bucket update --id <id> --name NEW')), then run this again with --influx-${v,,} NEW; nothing was changed"
  fi
done
token_problem=''
if ((${#TOKEN} > SECRET_MAX)); then
  token_problem="is ${#TOKEN} characters long (the program accepts at most $SECRET_MAX)"
elif [[ $TOKEN =~ [[:space:]] ]]; then
  token_problem="contains a space or a line break (the program requires one word)"
elif [[ $TOKEN =~ [[:cntrl:]] ]]; then
  token_problem="contains a control character"
fi
if [[ -n $token_problem ]]; then
  src="DOCKER_INFLUXDB_INIT_ADMIN_TOKEN in the environment of $INFLUX_CTR"
  [[ $TOKEN_SOURCE == env ]] || src=HOMEIQ_MIGRATE_INFLUX_TOKEN
  die "$EXIT_VALUE" "the InfluxDB admin token (from $src; its value is not shown) $token_problem, so the program would refuse it as homeiq:influxdbAdminToken. If InfluxDB's operator token is another one, give it with 'read -rs HOMEIQ_MIGRATE_INFLUX_TOKEN && export HOMEIQ_MIGRATE_INFLUX_TOKEN'; otherwise create a new operator token in the old InfluxDB (influx auth create --operator) and give that one; nothing was changed"
fi

# The token is in force after a full restore, and the program refuses placeholders (and short tokens) as
# homeiq:influxdbAdminToken: refuse before any work, unless the user insists.
token_weakness=''
for p in $PLACEHOLDERS; do [[ ${TOKEN,,} == "$p" ]] && token_weakness="is one of the old compose files' placeholder credentials"; done
shopt -s nocasematch
[[ $TOKEN =~ ^your_[a-z0-9_]*_here$ || $TOKEN =~ ^\<.*\>$ ]] && token_weakness="is a template filler (your_..._here or <...>)"
shopt -u nocasematch
[[ -z $token_weakness && ${#TOKEN} -lt $MIN_TOKEN_LENGTH ]] &&
  token_weakness="is only ${#TOKEN} characters long (the program requires at least $MIN_TOKEN_LENGTH)"
if [[ -n $token_weakness && $CARRY_PLACEHOLDER == 0 ]]; then
  die "$EXIT_PLACEHOLDER" "the old InfluxDB admin token $token_weakness. A full restore brings it back as the token in force, and the program refuses it as homeiq:influxdbAdminToken (the policy pack forbids it too). Run this again with --carry-placeholder-token to carry it anyway (the stack then needs homeiq:acceptPlaceholderInfluxdbToken=true), and rotate it right after the cut-over (docs/migration.md); nothing was changed"
fi

# SQLite databases: which exist, where.
declare -A SQL_CTR=() SQL_STATE=() SQL_WHERE=() SQL_MOUNT=()
for svc in $SQLITE_SERVICES; do
  ctr=${CTR_OF["$PROJECT/$svc"]:-}
  if [[ -z $ctr ]] && ((FROM_VOLUMES)); then
    warn "sqlite $svc: its container is gone and no volume of project '$PROJECT' holds ${SQLITE_PATH[$svc]} (sports-data kept webhooks.db in its container layer); nothing to migrate for it"
    continue
  elif [[ -z $ctr ]]; then
    log "sqlite $svc: no $svc container in project '$PROJECT' (the old prod compose file had none); nothing to migrate for it"
    continue
  fi
  SQL_CTR[$svc]=$ctr
  SQL_STATE[$svc]=$(state_of "$ctr")
  require_readable "sqlite $svc" "$ctr" "${SQL_STATE[$svc]}"
  SQL_MOUNT[$svc]=$(mount_of "$ctr" "${SQLITE_PATH[$svc]}")
  if [[ -n ${SQL_MOUNT[$svc]} ]]; then
    IFS=$'\x1f' read -r mtype mname _ <<<"${SQL_MOUNT[$svc]}"
    SQL_WHERE[$svc]="in $mtype $mname"
  else
    SQL_WHERE[$svc]="in the container layer of $ctr"
  fi
done

test_pause migrate-discovered

if ((DRY_RUN)); then
  log "dry run: compose project '$PROJECT' ($(services_of "$PROJECT")) would be backed up into $BACKUP_ROOT/$STACK/<UTC time>/"
  log "dry run: influxdb $INFLUX_CTR ($INFLUX_STATE), org '$ORG', bucket '$BUCKET', token from ${TOKEN_SOURCE/override/HOMEIQ_MIGRATE_INFLUX_TOKEN}${token_weakness:+ (a placeholder: $token_weakness; carried with --carry-placeholder-token)}"
  for svc in $SQLITE_SERVICES; do
    [[ -n ${SQL_CTR[$svc]:-} ]] && log "dry run: sqlite $svc: ${SQL_CTR[$svc]} (${SQL_STATE[$svc]}), ${SQL_WHERE[$svc]}"
  done
  log "dry run: nothing was backed up, copied or changed. Run the same command without --dry-run to migrate; it then prints the pulumi config commands for stack '$STACK'."
  exit 0
fi

# A SQLite health check (python3 of the service's own image): prints one line; exit 3 absent, 4 damaged,
# 5 locked (a writer held the lock for the whole busy timeout: nothing is wrong with the file).
# Mode "ro" for a live database (read transaction, like any reader); "rw" for a scratch copy, so a hot
# journal or WAL left by a stopped service is recovered in the copy.
# shellcheck disable=SC2016 # python source
CHECK_PY='import os, sqlite3, sys
path, mode, busy = sys.argv[1], sys.argv[2], int(sys.argv[3])
if not os.path.isfile(path):
    print("no database file at %s" % path); sys.exit(3)
def locked(e):
    return isinstance(e, sqlite3.OperationalError) and ("locked" in str(e) or "busy" in str(e))
try:
    uri = "file:%s?mode=%s" % (path, mode)
    c = sqlite3.connect(uri, uri=True, timeout=busy)
    result = [r[0] for r in c.execute("PRAGMA quick_check").fetchall()]
    tables = c.execute("SELECT count(*) FROM sqlite_master WHERE type = ?", ("table",)).fetchone()[0]
    journal = c.execute("PRAGMA journal_mode").fetchone()[0]
    c.close()
except sqlite3.DatabaseError as e:
    if locked(e):
        print("%s (another connection held its lock for more than %d s)" % (str(e).replace("\n", " "), busy)); sys.exit(5)
    print("not a readable SQLite database: %s" % str(e).replace("\n", " ")); sys.exit(4)
if result != ["ok"]:
    print("PRAGMA quick_check failed: %s" % "; ".join(r.replace("\n", " ") for r in result[:5])); sys.exit(4)
print("%d bytes, %d tables, journal_mode %s, quick_check ok" % (os.path.getsize(path), tables, journal))'

# --- 2. sources for backup.sh ----------------------------------------------------------------------------------------
# influx_answers <container> <what> <command...>: runs an influx command in a container, bounded: a server
# that accepts the connection but never answers is named, not waited on forever.
influx_answers() {
  local ctr=$1 what=$2 rc=0
  shift 2
  capture "$WORK/influx.out" timeout --kill-after=5 "$ANSWER_TIMEOUT" "$@" || rc=$?
  if ((rc == 124 || rc == 137)); then
    die "$EXIT_NO_ANSWER" "influxdb: $ctr did not answer '$what' within ${ANSWER_TIMEOUT}s (HOMEIQ_MIGRATE_ANSWER_TIMEOUT): it accepts the command but never answers (overloaded, stuck, or still starting). See 'docker logs --tail 50 $ctr'; restart it or stop the deployment ('docker compose -p $PROJECT stop', then this reads a copy) and run this again; nothing was changed"
  fi
  return "$rc"
}

BACKUP_INFLUX=$INFLUX_CTR
if [[ $INFLUX_STATE == stopped ]]; then
  # Copy every volume and directory mount of the stopped container (read-only) into scratch volumes, and
  # start a scratch InfluxDB from the same image on the copies: `influx backup` needs a server, and this
  # one is ours. File mounts (a bind of /etc/localtime, compose secrets) are not copied: the scratch
  # InfluxDB gets the same file, read-only.
  t0=$(now_ns)
  dests=() types=() sources=() copy_mounts=() i=0
  while IFS=$'\x1f' read -r dest type source; do
    [[ -n $dest ]] || continue
    dests+=("$dest") types+=("$type") sources+=("$source")
    scratch_volume "$SCRATCH-influxdb-$i"
    copy_mounts+=(-v "$SCRATCH-influxdb-$i:/homeiq-migrate/$i")
    i=$((i + 1))
  done < <(docker container inspect --format '{{range .Mounts}}{{.Destination}}{{"\x1f"}}{{.Type}}{{"\x1f"}}{{.Source}}{{"\n"}}{{end}}' "$INFLUX_CTR")
  # shellcheck disable=SC2016 # expanded by the helper's sh
  copy_script='set -e; i=0; for d in "$@"; do if [ -d "$d" ]; then cp -a "$d/." "/homeiq-migrate/$i/"; echo "dir $i"; else echo "file $i"; fi; i=$((i + 1)); done'
  log "influxdb: $INFLUX_CTR is stopped: copying its ${#dests[@]} mount(s) through read-only mounts into scratch volumes"
  if ! capture "$WORK/copy.out" docker run --rm --name "$SCRATCH-influxdb-copy" "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 \
    --volumes-from "$INFLUX_CTR:ro" "${copy_mounts[@]}" --entrypoint sh "$INFLUX_IMAGE_ID" -c "$copy_script" copy "${dests[@]}"; then
    die "$EXIT_STEP" "influxdb: copying the mounts of $INFLUX_CTR failed: $(<"$WORK/copy.out")"
  fi
  mount_args=()
  while read -r kind n; do
    if [[ $kind == dir ]]; then
      mount_args+=(-v "$SCRATCH-influxdb-$n:${dests[n]}")
    elif [[ ${types[n]} == volume ]]; then
      die "$EXIT_STEP" "influxdb: volume mount ${dests[n]} of $INFLUX_CTR is not a folder"
    else
      mount_args+=(--mount "type=bind,src=${sources[n]},dst=${dests[n]},readonly")
    fi
  done < <(grep -E '^(dir|file) [0-9]+$' "$WORK/copy.out")
  test_pause migrate-influx-copied
  BACKUP_INFLUX=$SCRATCH-influxdb
  env_args=()
  for kv in "${INFLUXD_VARS[@]}"; do
    export "${kv?}" # the value goes to the docker CLI's environment; only its name is in argv
    env_args+=(-e "${kv%%=*}")
  done
  log "influxdb: starting a scratch InfluxDB ($BACKUP_INFLUX, no network) from image $INFLUX_IMAGE_REF on the copies"
  guarded docker run -d --name "$BACKUP_INFLUX" --network none "${SCRATCH_LABEL_ARGS[@]}" ${INFLUX_USER:+--user "$INFLUX_USER"} \
    "${env_args[@]}" "${mount_args[@]}" "$INFLUX_IMAGE_ID" >/dev/null || die "$EXIT_STEP" "influxdb: cannot start the scratch InfluxDB"
  deadline=$((SECONDS + START_TIMEOUT))
  until capture "$WORK/ping.out" timeout --kill-after=5 10 docker exec "$BACKUP_INFLUX" influx ping; do
    if ((SECONDS >= deadline)) || [[ $(state_of "$BACKUP_INFLUX") != running ]]; then
      docker logs --tail 20 "$BACKUP_INFLUX" 2>&1 | sed 's/^/  influxd: /' >&2
      die "$EXIT_STEP" "influxdb: the scratch InfluxDB on the copy of $INFLUX_CTR's data did not answer 'influx ping' within ${START_TIMEOUT}s (HOMEIQ_MIGRATE_INFLUX_START_TIMEOUT)"
    fi
    sleep 0.5
  done
  log "influxdb: scratch InfluxDB ready in $(secs "$t0")"
  test_pause migrate-influx-started
fi

# Org, bucket and retention as the data holds them; this also proves the token (it is checked by the server).
rc=0
INFLUX_TOKEN=$TOKEN influx_answers "$BACKUP_INFLUX" "influx bucket list" docker exec -e INFLUX_TOKEN "$BACKUP_INFLUX" \
  influx bucket list --org "$ORG" --name "$BUCKET" --hide-headers || rc=$?
bucket_row=$(<"$WORK/influx.out")
if ((rc != 0)); then
  if [[ $bucket_row == *nauthori* ]]; then
    hint="the container's DOCKER_INFLUXDB_INIT_ADMIN_TOKEN (was the token changed after setup? then give the current operator token: 'read -rs HOMEIQ_MIGRATE_INFLUX_TOKEN && export HOMEIQ_MIGRATE_INFLUX_TOKEN')"
    [[ $TOKEN_SOURCE == env ]] || hint="HOMEIQ_MIGRATE_INFLUX_TOKEN"
    die "$EXIT_TOKEN" "influxdb: the admin token from $hint is not accepted by InfluxDB in $INFLUX_CTR; nothing was changed"
  fi
  if [[ $bucket_row == *"is paused"* || $bucket_row == *"is restarting"* || $bucket_row == *"is not running"* ]]; then
    die "$EXIT_NOT_STOPPED" "influxdb: $INFLUX_CTR changed state while this ran (${bucket_row##*$'\n'}); stop the deployment ('docker compose -p $PROJECT stop') and run this again; nothing was changed"
  fi
  die "$EXIT_NO_INFLUXDB" "influxdb: bucket '$BUCKET' (from $BUCKET_SOURCE) of organisation '$ORG' (from $ORG_SOURCE) is not readable: ${bucket_row##*$'\n'}. If InfluxDB holds other names now, give them with --influx-org and --influx-bucket; nothing was changed"
fi
retention=$(printf '%s\n' "$bucket_row" | awk -F'\t' -v b="$BUCKET" '$2 == b { print $3; exit }')
RETENTION_DAYS=''
case $retention in
  infinite | 0 | 0s) RETENTION_DAYS=0 ;;
  *h*m*s)
    hours=${retention%%h*}
    if [[ $hours =~ ^[0-9]{1,9}$ ]]; then
      RETENTION_DAYS=$(((10#$hours + 23) / 24)) # rounded up: the new stack never deletes what the old one kept
      ((10#$hours % 24 == 0)) || warn "influxdb: bucket '$BUCKET' keeps ${hours}h; the program counts whole days, so ${RETENTION_DAYS} days (rounded up, nothing is deleted earlier)"
    fi
    ;;
esac
[[ -n $RETENTION_DAYS ]] ||
  die "$EXIT_STEP" "influxdb: cannot read the retention of bucket '$BUCKET' (influx bucket list printed ${bucket_row//$'\t'/ })"
if ((RETENTION_DAYS > RETENTION_DAYS_MAX)); then
  die "$EXIT_VALUE" "influxdb: bucket '$BUCKET' keeps data for $retention ($RETENTION_DAYS days, from 'influx bucket list' in $BACKUP_INFLUX); the program's homeiq:influxdbRetentionDays accepts 0 (forever) or 1-$RETENTION_DAYS_MAX days. Set the old bucket's retention to forever or to at most $RETENTION_DAYS_MAX days ('influx bucket update --id <id> --retention 0'), then run this again; nothing was changed"
fi
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
    rc=0
    capture "$WORK/check.out" timeout --kill-after=5 $((SQLITE_BUSY_TIMEOUT + ANSWER_TIMEOUT)) \
      docker exec "$ctr" python3 -c "$CHECK_PY" "$dbpath" ro "$SQLITE_BUSY_TIMEOUT" || rc=$?
    if ((rc == 124 || rc == 137)); then
      die "$EXIT_NO_ANSWER" "sqlite $svc: checking $dbpath in $ctr did not finish within $((SQLITE_BUSY_TIMEOUT + ANSWER_TIMEOUT))s (the container accepts 'docker exec' but the check never ends); see 'docker logs --tail 50 $ctr', or stop the deployment ('docker compose -p $PROJECT stop') and run this again; nothing was changed"
    fi
    out=$(<"$WORK/check.out")
    source_ctr=$ctr
    where="${SQL_WHERE[$svc]} (running: online backup)"
  else
    # Stopped: nothing writes to its files, so a copy of the database and of any -wal/-journal beside it is
    # consistent. A volume is read through a read-only mount; the container layer through `docker commit`.
    t0=$(now_ns)
    vol=$SCRATCH-$svc
    scratch_volume "$vol"
    source_ctr=$SCRATCH-$svc
    guarded docker create --name "$source_ctr" --network none --user 0:0 "${SCRATCH_LABEL_ARGS[@]}" \
      -v "$vol:$dbdir" --entrypoint python3 "$image" >/dev/null || die "$EXIT_STEP" "sqlite $svc: cannot create a scratch container from $ctr's image"
    copied=0
    # shellcheck disable=SC2016 # expanded by the helper's sh
    copy_db='for f in "$1" "$1-wal" "$1-journal"; do if [ -e "$f" ]; then cp -p "$f" /homeiq-migrate/ && echo "$f"; fi; done'
    if [[ -n ${SQL_MOUNT[$svc]} ]]; then
      if ! capture "$WORK/copy.out" docker run --rm --name "$SCRATCH-$svc-copy" "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 \
        --volumes-from "$ctr:ro" -v "$vol:/homeiq-migrate" --entrypoint sh "$image" -c "$copy_db" copy "$dbpath"; then
        die "$EXIT_STEP" "sqlite $svc: copying $dbpath out of ${SQL_WHERE[$svc]} failed: $(<"$WORK/copy.out")"
      fi
    else
      # The container layer: `docker commit` reads it as a diff, without mounting the container. (`docker cp`
      # and `docker export` mount it, which creates /etc/hosts-style mount points in the layer: a change.)
      layer_image=$SCRATCH-$svc-layer:migrate
      guarded docker commit --pause=false --change "$SCRATCH_LABEL_CHANGE" "$ctr" "$layer_image" >/dev/null ||
        die "$EXIT_STEP" "sqlite $svc: cannot read the container layer of $ctr (docker commit to a scratch image)"
      test_pause migrate-layer-committed
      if ! capture "$WORK/copy.out" docker run --rm --name "$SCRATCH-$svc-copy" "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 \
        -v "$vol:/homeiq-migrate" --entrypoint sh "$layer_image" -c "$copy_db" copy "$dbpath"; then
        die "$EXIT_STEP" "sqlite $svc: copying $dbpath out of ${SQL_WHERE[$svc]} failed: $(<"$WORK/copy.out")"
      fi
    fi
    copied=$(grep -c . "$WORK/copy.out" || true)
    ((copied == 0)) || log "sqlite $svc: $ctr is stopped: copied $copied file(s) ($dbname, and its -wal/-journal if any) ${SQL_WHERE[$svc]} into scratch volume $vol in $(secs "$t0")"
    rc=0
    capture "$WORK/check.out" docker run --rm --name "$SCRATCH-$svc-check" "${SCRATCH_LABEL_ARGS[@]}" --network none --user 0:0 \
      -v "$vol:$dbdir" --entrypoint python3 "$image" -c "$CHECK_PY" "$dbpath" rw "$SQLITE_BUSY_TIMEOUT" || rc=$?
    out=$(<"$WORK/check.out")
    where="${SQL_WHERE[$svc]} (stopped: copy)"
  fi
  case $rc in
    0) SQL_REPORT[$svc]="$dbname $where: ${out##*$'\n'}" ;;
    3) SQL_REPORT[$svc]="no $dbname ${SQL_WHERE[$svc]} (nothing to migrate for it)" ;;
    4) die "$EXIT_CORRUPT_SQLITE" "sqlite $svc: $dbpath ${SQL_WHERE[$svc]} is damaged: ${out##*$'\n'}. Refusing to migrate a damaged database (repair it, e.g. with sqlite3's .recover, or put back an older copy, then run this again); nothing was backed up or changed" ;;
    5) die "$EXIT_SQLITE_LOCKED" "sqlite $svc: $dbpath ${SQL_WHERE[$svc]} is LOCKED, not damaged: ${out##*$'\n'}. A writer in $ctr holds a lock for longer than the check waits (HOMEIQ_MIGRATE_SQLITE_BUSY_TIMEOUT=${SQLITE_BUSY_TIMEOUT}s). Run this again when the writer is done, or stop the deployment ('docker compose -p $PROJECT stop') and run this again to migrate from a copy; the file itself is fine, nothing was backed up or changed" ;;
    *) die "$EXIT_STEP" "sqlite $svc: checking $dbpath ${SQL_WHERE[$svc]} failed (exit $rc): $out" ;;
  esac
  log "sqlite $svc: ${SQL_REPORT[$svc]}"
  SQLITE_DBS+=("$svc=$source_ctr:$dbpath")
done
test_pause migrate-sources-ready

# --- 3. the backup (the program's own format and machinery) ------------------------------------------------------------
migrated_from="{\"composeProject\": $(json_str "$PROJECT"), \"influxdbContainer\": $(json_str "$INFLUX_CTR"), \"influxdbState\": \"$INFLUX_STATE\", \"fromVolumesOnly\": $( ((FROM_VOLUMES)) && echo true || echo false)"
images_json="{\"influxdb\": $(json_str "$INFLUX_IMAGE_REF")"
for svc in $SQLITE_SERVICES; do
  [[ -n ${SQL_CTR[$svc]:-} ]] || continue
  migrated_from+=", $(json_str "$svc"): {\"container\": $(json_str "${SQL_CTR[$svc]}"), \"state\": \"${SQL_STATE[$svc]}\", \"where\": $(json_str "${SQL_WHERE[$svc]}")}"
  images_json+=", $(json_str "$svc"): $(json_str "$(docker container inspect --format '{{.Config.Image}}' "${SQL_CTR[$svc]}")")"
done
config_json="{\"migratedFrom\": $migrated_from}, \"influxdb\": {\"org\": $(json_str "$ORG"), \"bucket\": $(json_str "$BUCKET"), \"retentionDays\": $RETENTION_DAYS}}"

log "backing up with scripts/backup/backup.sh into $BACKUP_ROOT/$STACK/"
t0=$(now_ns)
backup_log=$WORK/backup.log
: >"$backup_log"
# A migration never deletes a backup: KEEP is set beyond any count, so backup.sh's retention removes nothing.
# backup.sh runs in its own process group (set -m), its progress lines into a file that is shown as it
# grows: a signal to this script's group reaches this script, which hands it to backup.sh and waits for
# its cleanup (no pipe whose reader dies first).
set -m
HOMEIQ_STACK=$STACK HOMEIQ_BACKUP_ROOT=$BACKUP_ROOT HOMEIQ_BACKUP_KEEP=1000000 \
  HOMEIQ_BACKUP_REASON="migrate-from-compose:$PROJECT" HOMEIQ_INFLUX_CONTAINER=$BACKUP_INFLUX HOMEIQ_INFLUX_TOKEN=$TOKEN \
  HOMEIQ_SQLITE_DBS="${SQLITE_DBS[*]}" HOMEIQ_STACK_CONFIG_JSON=$config_json HOMEIQ_IMAGES_JSON="$images_json}" \
  bash "$BACKUP_SH" >"$backup_log" </dev/null &
BACKUP_PID=$!
set +m
tail -s 0.1 -n +1 -f --pid="$BACKUP_PID" "$backup_log" | sed -u 's/^/  /' &
viewer=$!
rc=0
wait "$BACKUP_PID" || rc=$?
BACKUP_PID=''
wait "$viewer" 2>/dev/null || true
BACKUP_DIR=$(sed -n 's/^HOMEIQ_BACKUP_DIR=//p' "$backup_log" | tail -n 1)
((rc == 0)) || die "$EXIT_STEP" "scripts/backup/backup.sh failed (exit $rc, see above); the old deployment is unchanged"
[[ -n $BACKUP_DIR ]] || die "$EXIT_STEP" "scripts/backup/backup.sh reported no backup folder"
backup_time=$(secs "$t0")
test_pause migrate-backed-up
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
    echo "!! 'pulumi up'; the policy pack still rejects it. Rotate it right after the cut-over (docs/migration.md)."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo
  } >&2
fi

echo
((NEW_STACK == 0)) ||
  log "note: stack '$STACK' has no Pulumi.$STACK.yaml here yet (stacks here: ${KNOWN_STACKS% }): these commands start it; it also needs homeiq:profile and the keys of the README's first deploy"
log "next: set the stack's config with these commands (none of them prints the token):"
echo "----- pulumi config -----"
config_set_line homeiq:influxdbOrg "$ORG" "$STACK"
config_set_line homeiq:influxdbBucket "$BUCKET" "$STACK"
config_set_line homeiq:influxdbRetentionDays "$RETENTION_DAYS" "$STACK"
if [[ $TOKEN_SOURCE == env ]]; then
  # shellcheck disable=SC2016 # printed for the user, not expanded here
  printf '%s\n' "docker container inspect --format '{{range .Config.Env}}{{println .}}{{end}}' $(printf '%q' "$INFLUX_CTR") | sed -n 's/^DOCKER_INFLUXDB_INIT_ADMIN_TOKEN=//p' | pulumi config set --secret homeiq:influxdbAdminToken --stack $(printf '%q' "$STACK")"
else
  # shellcheck disable=SC2016 # printed for the user, not expanded here
  printf '%s\n' "printf '%s' \"\$HOMEIQ_MIGRATE_INFLUX_TOKEN\" | pulumi config set --secret homeiq:influxdbAdminToken --stack $(printf '%q' "$STACK")"
fi
[[ -z $token_weakness ]] || config_set_line homeiq:acceptPlaceholderInfluxdbToken true "$STACK"
config_set_line homeiq:restoreFrom "$BACKUP_DIR" "$STACK"
echo "----- end -----"
BACKUP_DIR='' # printed: an interruption from here on needs no word about it
echo
if ((${#running[@]})); then
  log "the old deployment is RUNNING (${running[*]}). This backup is a rehearsal: whatever it writes from now on is not in it."
  log "for the cut-over, stop it (never 'down -v'), then run this script again and use the new folder:"
  log "  docker compose -p $(printf '%q' "$PROJECT") stop"
  log "'pulumi up' refuses to start while its containers hold the stack's host ports."
else
  log "the old deployment is stopped: nothing of it was started, changed or written. Then: pulumi up --stack $STACK"
fi
