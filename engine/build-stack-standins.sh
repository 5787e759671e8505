#!/usr/bin/env bash
# Builds, locally (nothing can be pulled), the base images of the stand-in HomeIQ stack: the
# images that engine/stack-standins/homeiq-checkout's Dockerfiles build FROM, and the InfluxDB
# stand-in. Each is a `docker build` of engine/stack-standins/images/<name>:
#
#   homeiq-standin/debian:stack          Debian bookworm minbase without python (the base of the two below)
#   homeiq-standin/python-root:stack     python3, no curl, root; stand-in packages in /root/.local (/root 0700)
#   homeiq-standin/python-appuser:stack  python3 + curl + appuser 1001; stand-in packages in /home/appuser/.local
#   homeiq-standin/nginx:stack           Debian's real nginx + curl, started as nginx:alpine starts it
#   homeiq-standin/influxdb:stack        a STAND-IN for influxdb:2.7 (not InfluxDB): Debian + curl, user
#                                        influxdb 1000, the entrypoint's steps, the stand-in influx CLI/server
#
# They start FROM homeiq-standin/python:test (debootstrapped by engine/build-standins.sh, used
# read-only here), so run that script first. apt-get runs inside the builds (the Debian mirror is
# reachable from containers) with BuildKit cache mounts, so the package lists are fetched once.
#
# Idempotent: each image carries com.homeiq.standin.content=<sha256 of this script, its folder,
# and its base image's id>; an image whose label matches is kept as is.
#
# Environment (optional): HOMEIQ_STANDIN_FORCE=1 rebuilds every image without the layer cache.
# Exit: 0 all five images present; 1 a build failed (its log's last lines printed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES_DIR=$HERE/stack-standins/images
INFLUX_STANDIN=$HERE/standins/influxdb
PYTHON_BASE=homeiq-standin/python:test
LABEL=com.homeiq.standin.content

log() { printf '[engine/build-stack-standins] %s\n' "$*"; }
die() { printf '[engine/build-stack-standins] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "Docker engine does not answer (run engine/start.sh first)"
docker buildx version >/dev/null 2>&1 || die "the buildx plugin is missing (run engine/install.sh): the builds need BuildKit"
docker image inspect "$PYTHON_BASE" >/dev/null 2>&1 || die "$PYTHON_BASE not found: run engine/build-standins.sh first"
export DOCKER_BUILDKIT=1

WORK=$(mktemp -d /tmp/homeiq-stack-standins.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

image_id() { docker image inspect --format '{{.Id}}' "$1"; }

# content_hash <words...>: sha256 over this script, the files of each word that is a folder (or
# a NAME=folder build context), and the other words.
content_hash() {
  {
    sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    local arg
    for arg in "$@"; do
      if [[ -d $arg || ($arg == *=/* && -d ${arg#*=}) ]]; then
        (cd "${arg#*=}" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
      else
        printf '%s\n' "$arg"
      fi
    done
  } | sha256sum | cut -d' ' -f1
}

image_is_current() { # image hash
  local have
  have=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true)
  [[ ${HOMEIQ_STANDIN_FORCE:-0} != 1 && $have == "$2" ]]
}

# build <image> <folder> <base image> [docker build options...]: builds unless current, printing
# each build step as it starts; on failure the build log's last lines.
build() {
  local img=$1 dir=$2 base=$3
  shift 3
  local hash started
  hash=$(content_hash "$dir" "$(image_id "$base")" "$@")
  if image_is_current "$img" "$hash"; then
    log "$img is current; skipping"
    return
  fi
  local opts=(--progress=plain --label "$LABEL=$hash" -t "$img" "$@")
  [[ ${HOMEIQ_STANDIN_FORCE:-0} == 1 ]] && opts+=(--no-cache)
  log "building $img (from $base)"
  started=$SECONDS
  if ! docker build "${opts[@]}" "$dir" 2>&1 | tee "$WORK/build.log" | sed -un -E '/^#[0-9]+ \[[^]]*[0-9]+\/[0-9]+\] /{s/^#[0-9]+ /  /;s/^(.{110}).+/\1 .../;p}'; then
    tail -n 40 "$WORK/build.log" >&2
    die "building $img failed; see above"
  fi
  log "built $img in $((SECONDS - started)) s"
}

build homeiq-standin/debian:stack "$IMAGES_DIR/debian" "$PYTHON_BASE" --build-arg "PYTHON_BASE=$PYTHON_BASE"
build homeiq-standin/python-root:stack "$IMAGES_DIR/python" "$PYTHON_BASE" --build-arg "PYTHON_BASE=$PYTHON_BASE" --target python-root
build homeiq-standin/python-appuser:stack "$IMAGES_DIR/python" "$PYTHON_BASE" --build-arg "PYTHON_BASE=$PYTHON_BASE" --target python-appuser
build homeiq-standin/nginx:stack "$IMAGES_DIR/nginx" homeiq-standin/debian:stack
build homeiq-standin/influxdb:stack "$IMAGES_DIR/influxdb" homeiq-standin/debian:stack \
  --build-context "influx-standin=$INFLUX_STANDIN"

log "stack stand-in images ready:"
docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' --filter 'reference=homeiq-standin/*:stack'
