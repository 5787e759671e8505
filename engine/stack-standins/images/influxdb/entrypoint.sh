#!/bin/sh
# STAND-IN for the influxdb:2.7 image's /entrypoint.sh -- not InfluxDB.
# It keeps the steps of the real entrypoint that a container spec can break:
#   - any command other than influxd / run / -flags is exec'd as is (as the real one does);
#   - create_directories: mkdir -p the bolt folder and the engine folder, chmod 700 them, chmod
#     775 /etc/influxdb2, and, only when running as root, chown to influxdb what is not theirs;
#   - first run (no bolt file) with DOCKER_INFLUXDB_INIT_MODE=setup: the four required variables
#     (USERNAME, PASSWORD, ORG, BUCKET) must be set; it writes exactly where the real one writes
#     outside its two volumes, so a read-only root filesystem breaks both alike (line numbers of
#     influxdata-docker influxdb/2.7/entrypoint.sh): the init config to /tmp/config.json (399-409,
#     `tee`); the CLI config with the operator token to $INFLUX_CONFIGS_PATH
#     (/etc/influxdb2/influx-configs), as `influx setup` does (318), pointing at the init port; then
#     `sed -i` rewrites that file to the final port (436), which makes its temporary file beside it;
#   - as root it steps down to influxdb (setpriv here, gosu in the real image) and re-runs itself;
#   - DOCKER_INFLUXDB_INIT_{PASSWORD,USERNAME,ADMIN_TOKEN}_FILE: each variable is read from the named
#     file when it exists, else the same message is printed and it is skipped (195-198), on every pass.
# The server is the stand-in influxd (engine/standins/influxdb/influxd-standin), which records the
# org, bucket and operator token on first run and serves /health; this script adds /ready.
set -eu

log() { echo "ts=$(date -u +%Y-%m-%dT%H:%M:%SZ) lvl=$1 msg=\"$2\" system=docker (entrypoint STAND-IN)" >&2; }

run_influxd=false
case "${1:-}" in
  '' | run | -*) run_influxd=true ;;
  influxd) case "${2:-}" in '' | run | -*) run_influxd=true; shift ;; esac ;;
esac
$run_influxd || exec "$@"
[ "${1:-}" = run ] && shift

BOLT_PATH=${INFLUXD_BOLT_PATH:-/var/lib/influxdb2/influxd.bolt}
ENGINE_PATH=${INFLUXD_ENGINE_PATH:-/var/lib/influxdb2/engine}
CONFIG_VOLUME=/etc/influxdb2

create_directories() {
  bolt_dir=$(dirname "$BOLT_PATH")
  mkdir -p "$bolt_dir" "$ENGINE_PATH"
  chmod 700 "$bolt_dir" "$ENGINE_PATH" || :
  mkdir -p "$CONFIG_VOLUME" || :
  chmod 775 "$CONFIG_VOLUME" || :
  if [ "$(id -u)" = 0 ]; then
    find "$bolt_dir" "$ENGINE_PATH" "$CONFIG_VOLUME" ! -user influxdb -exec chown influxdb {} +
  fi
}

init_influxd() {
  case ${DOCKER_INFLUXDB_INIT_MODE} in
    setup) ;;
    *) log error "found invalid DOCKER_INFLUXDB_INIT_MODE, this stand-in supports only 'setup'"; exit 1 ;;
  esac
  missing=0
  for var in DOCKER_INFLUXDB_INIT_USERNAME DOCKER_INFLUXDB_INIT_PASSWORD DOCKER_INFLUXDB_INIT_ORG DOCKER_INFLUXDB_INIT_BUCKET; do
    eval "value=\${$var:-}"
    if [ -z "$value" ]; then
      log error "missing parameter, cannot init InfluxDB parameter: $var"
      missing=1
    fi
  done
  [ "$missing" = 0 ] || exit 1
  # The real entrypoint writes its init config here before booting a temporary influxd (399-409).
  printf '{"http-bind-address": ":%s"}\n' "${INFLUXD_INIT_PORT:-9999}" >/tmp/config.json
  configs=${INFLUX_CONFIGS_PATH:-$CONFIG_VOLUME/influx-configs}
  (
    umask 077
    printf '[%s]\n  url = "http://localhost:%s"\n  token = "%s"\n  org = "%s"\n  active = true\n' \
      "${DOCKER_INFLUXDB_INIT_CLI_CONFIG_NAME:-default}" "${INFLUXD_INIT_PORT:-9999}" "${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN:-}" \
      "$DOCKER_INFLUXDB_INIT_ORG" >"$configs"
  )
  # (436) The CLI configs are pointed at the server's final port with `sed -i`.
  sed -i "s#http://localhost:${INFLUXD_INIT_PORT:-9999}#http://localhost:8086#g" "$configs"
  log info "initialization prepared; the stand-in influxd records org, bucket and token on start"
}

# Read password, username and token from files (195-198, same test and message). The real entrypoint
# hands them to `influx setup` in this shell; the stand-in server records the token when it starts, so
# here a value read from a file is exported to it.
for var in DOCKER_INFLUXDB_INIT_PASSWORD DOCKER_INFLUXDB_INIT_USERNAME DOCKER_INFLUXDB_INIT_ADMIN_TOKEN; do
  eval "file=\${${var}_FILE:-}"
  [ -n "$file" ] || continue
  if [ -e "$file" ] && value=$(cat "$file"); then
    export "$var=$value"
  else
    echo "${var}_FILE defined, but file not existing, skipping."
  fi
done

create_directories
if [ -n "${STANDIN_INIT_DONE:-}" ]; then
  : # re-run after the step-down: the first pass prepared the setup
elif [ -f "$BOLT_PATH" ]; then
  log info "found existing boltdb file, skipping setup wrapper"
elif [ -z "${DOCKER_INFLUXDB_INIT_MODE:-}" ]; then
  log warn "boltdb not found at configured path, but DOCKER_INFLUXDB_INIT_MODE not specified, skipping setup wrapper"
else
  init_influxd
  create_directories
fi

if [ "$(id -u)" = 0 ]; then
  # (The real setup has created the bolt file by now; the stand-in server creates it after the
  # step-down, so the second pass is told not to prepare the setup again.)
  STANDIN_INIT_DONE=1 exec setpriv --reuid=influxdb --regid=influxdb --init-groups "$0" "$@"
fi

# /ready beside the stand-in server's /health (both served from /tmp/www).
mkdir -p /tmp/www
printf '{"name":"influxdb-standin","status":"ready","started":"%s","up":"0s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/tmp/www/ready
exec influxd "$@"
