#!/usr/bin/env bash
# Builds, locally, the base images that the test images of HomeIQ's REAL services build FROM
# (engine/real-homeiq/README.md), when the tests are given a HomeIQ checkout:
#
#   homeiq-real/trixie:base    Debian 13 (trixie) minbase with python3, debootstrapped from the mirror
#   homeiq-real/python:trixie  + Debian's python3-* packages for HomeIQ's requirements, influxdb3-python
#                              0.3.0 (a test input) and a pyarrow shim (engine/real-homeiq/python/)
#
# The dashboard's nginx base is homeiq-standin/nginx:stack (Debian's nginx, built by
# build-stack-standins.sh, which must run first).
#
# Environment:
#   HOMEIQ_UPSTREAM_CHECKOUT  a HomeIQ checkout (the version the catalog models). Unset: nothing to
#                             build; prints so and exits 0 (the real-service tests then say they
#                             did not run).
#   HOMEIQ_INFLUXDB3_PYTHON   influxdb3-python 0.3.0's source (the folder holding influxdb_client_3/);
#                             required with HOMEIQ_UPSTREAM_CHECKOUT.
#   HOMEIQ_DEBIAN_MIRROR      mirror for debootstrap (default: the first Debian mirror in apt's sources)
#   HOMEIQ_STANDIN_FORCE=1    rebuild without the layer cache.
# Idempotent: each image carries com.homeiq.standin.content=<hash of its inputs> and is kept when it matches.
# Exit: 0 built or nothing to build; 1 a build failed or an input is missing (named).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REAL=$HERE/real-homeiq
LABEL=com.homeiq.standin.content
SUITE=trixie

log() { printf '[engine/build-real-homeiq] %s\n' "$*"; }
die() { printf '[engine/build-real-homeiq] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -z ${HOMEIQ_UPSTREAM_CHECKOUT:-} ]]; then
  log "HOMEIQ_UPSTREAM_CHECKOUT is not set: no real-service images to build (their tests will say they did not run)"
  exit 0
fi
[[ -d $HOMEIQ_UPSTREAM_CHECKOUT/services ]] ||
  die "HOMEIQ_UPSTREAM_CHECKOUT=$HOMEIQ_UPSTREAM_CHECKOUT has no services/ folder: point it at a HomeIQ checkout"
[[ -n ${HOMEIQ_INFLUXDB3_PYTHON:-} && -d ${HOMEIQ_INFLUXDB3_PYTHON}/influxdb_client_3 ]] ||
  die "HOMEIQ_INFLUXDB3_PYTHON='${HOMEIQ_INFLUXDB3_PYTHON:-}' must be influxdb3-python 0.3.0's source folder (holding influxdb_client_3/)"

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "Docker engine does not answer (run engine/start.sh first)"
export DOCKER_BUILDKIT=1

WORK=$(mktemp -d /tmp/homeiq-real-homeiq.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

content_hash() {
  {
    sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    local arg
    for arg in "$@"; do
      if [[ -d $arg || ($arg == *=/* && -d ${arg#*=}) ]]; then
        (cd "${arg#*=}" && find . -type f -not -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum)
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

# --- homeiq-real/trixie:base ------------------------------------------------------------------
img=homeiq-real/trixie:base
mirror=${HOMEIQ_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(grep -h -o -E 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 1p | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
hash=$(content_hash trixie-base "$SUITE" python3 minbase)
if image_is_current "$img" "$hash"; then
  log "$img is current; skipping"
else
  command -v debootstrap >/dev/null || die "debootstrap not found (run engine/install.sh)"
  log "building $img: debootstrap --variant=minbase --include=python3 $SUITE from $mirror (about a minute)"
  started=$SECONDS
  if ! debootstrap --variant=minbase --include=python3 "$SUITE" "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap of $SUITE from $mirror failed; see above"
  fi
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$WORK/rootfs" -c . | docker import \
    --change "LABEL $LABEL=$hash" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$img" >/dev/null
  rm -rf "$WORK/rootfs"
  log "built $img in $((SECONDS - started)) s"
fi

# --- homeiq-real/python:trixie ----------------------------------------------------------------
img=homeiq-real/python:trixie
base_id=$(docker image inspect --format '{{.Id}}' homeiq-real/trixie:base)
hash=$(content_hash "$REAL/python" "influxdb3=$HOMEIQ_INFLUXDB3_PYTHON" "$base_id")
if image_is_current "$img" "$hash"; then
  log "$img is current; skipping"
else
  log "building $img (Debian's python3-* packages fetched inside the build; a few minutes the first time)"
  started=$SECONDS
  opts=(--progress=plain --label "$LABEL=$hash" -t "$img" --build-context "influxdb3=$HOMEIQ_INFLUXDB3_PYTHON")
  [[ ${HOMEIQ_STANDIN_FORCE:-0} == 1 ]] && opts+=(--no-cache)
  if ! docker build "${opts[@]}" "$REAL/python" >"$WORK/build.log" 2>&1; then
    tail -n 40 "$WORK/build.log" >&2
    die "building $img failed; see above"
  fi
  log "built $img in $((SECONDS - started)) s"
fi
log "real-service base images ready:"
docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' --filter 'reference=homeiq-real/*'
