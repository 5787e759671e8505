#!/usr/bin/env bash
# Builds, locally (nothing can be pulled), the stand-in images the engine tests
# and the backup benchmark use:
#
#   homeiq-standin/busybox:test   busybox-static in an otherwise empty image
#                                 (httpd, wget, sh, tar, sha256sum, ...)
#   homeiq-standin/python:test    Debian bookworm minbase + python3 (its sqlite3
#                                 module); no sqlite3 CLI, like the real data-api
#                                 and sports-data images
#   homeiq-standin/influxdb:test  a STAND-IN for influxdb:2.7 (not InfluxDB): a
#                                 busybox image whose `influx` CLI implements
#                                 only backup / restore --full / bucket list+update (see
#                                 engine/standins/influxdb/influx) and /health
#
# Idempotent: each image carries the label com.homeiq.standin.content=<sha256 of
# its inputs>; an image whose label matches is kept as is.
#
# Environment (all optional):
#   HOMEIQ_DEBIAN_MIRROR   mirror for debootstrap (default: the first Debian
#                          URI in the machine's apt sources)
#   HOMEIQ_STANDIN_FORCE=1 rebuild even if the label matches
# Exit: 0 all three images present; 1 a build failed (reason printed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STANDINS=$HERE/standins
LABEL=com.homeiq.standin.content
SUITE=bookworm

log() { printf '[engine/build-standins] %s\n' "$*"; }
die() { printf '[engine/build-standins] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "Docker engine does not answer (run engine/start.sh first)"
BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX ]] || die "busybox not found (run engine/install.sh: it installs busybox-static)"
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
if ! file_is_static "$BUSYBOX"; then
  if [[ -x /bin/busybox ]] && file_is_static /bin/busybox; then
    BUSYBOX=/bin/busybox
  else
    die "$BUSYBOX is dynamically linked; install busybox-static"
  fi
fi

WORK=$(mktemp -d /tmp/homeiq-standins.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# content_hash <words...>: sha256 over this script, the stand-in sources and the
# given extra words (package versions, suite).
content_hash() {
  {
    sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    (cd "$STANDINS" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    printf '%s\n' "$@"
  } | sha256sum | cut -d' ' -f1
}

image_is_current() { # image hash
  local have
  have=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true)
  [[ ${HOMEIQ_STANDIN_FORCE:-0} != 1 && $have == "$2" ]]
}

# busybox_rootfs <dir>: an FHS skeleton with busybox and a link per applet.
busybox_rootfs() {
  local root=$1 applet
  mkdir -p "$root"/{bin,tmp,etc,var/lib,root}
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

bb_version=$("$BUSYBOX" 2>&1 | sed -n 1p) # sed reads all: no SIGPIPE under pipefail

# --- homeiq-standin/busybox:test ------------------------------------------------
img=homeiq-standin/busybox:test
hash=$(content_hash busybox "$bb_version")
if image_is_current "$img" "$hash"; then
  log "$img is current; skipping"
else
  log "building $img ($bb_version)"
  busybox_rootfs "$WORK/busybox"
  tar -C "$WORK/busybox" -c . | docker import \
    --change "LABEL $LABEL=$hash" \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["sh"]' \
    - "$img" >/dev/null
  log "built $img"
fi

# --- homeiq-standin/influxdb:test ------------------------------------------------
img=homeiq-standin/influxdb:test
hash=$(content_hash influxdb "$bb_version")
if image_is_current "$img" "$hash"; then
  log "$img is current; skipping"
else
  log "building $img (a STAND-IN for influxdb:2.7, not InfluxDB)"
  busybox_rootfs "$WORK/influxdb"
  mkdir -p "$WORK/influxdb/usr/local/bin" "$WORK/influxdb/var/lib/influxdb2" "$WORK/influxdb/etc/influxdb2"
  install -m 0755 "$STANDINS/influxdb/influx" "$WORK/influxdb/usr/local/bin/influx"
  install -m 0755 "$STANDINS/influxdb/influxd-standin" "$WORK/influxdb/usr/local/bin/influxd-standin"
  printf 'This image is a STAND-IN for influxdb:2.7 built by homeiq-infra engine/build-standins.sh.\nIt is not InfluxDB. See /usr/local/bin/influx.\n' \
    >"$WORK/influxdb/STANDIN-NOT-INFLUXDB.txt"
  tar -C "$WORK/influxdb" -c . | docker import \
    --change "LABEL $LABEL=$hash" \
    --change 'LABEL com.homeiq.standin.of=influxdb:2.7' \
    --change 'ENV PATH=/usr/local/bin:/bin' \
    --change 'EXPOSE 8086' \
    --change 'VOLUME ["/var/lib/influxdb2", "/etc/influxdb2"]' \
    --change 'CMD ["/usr/local/bin/influxd-standin"]' \
    - "$img" >/dev/null
  log "built $img"
fi

# --- homeiq-standin/python:test ----------------------------------------------------
img=homeiq-standin/python:test
mirror=${HOMEIQ_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(grep -h -o -E 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 1p | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
hash=$(content_hash python "$SUITE" python3 minbase)
if image_is_current "$img" "$hash"; then
  log "$img is current; skipping"
else
  command -v debootstrap >/dev/null || die "debootstrap not found (run engine/install.sh)"
  [[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
  log "building $img: debootstrap --variant=minbase --include=python3 $SUITE from $mirror (about a minute)"
  if ! debootstrap --variant=minbase --include=python3 "$SUITE" "$WORK/python" "$mirror" \
    >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap of $SUITE from $mirror failed; see above"
  fi
  rm -rf "$WORK/python/var/cache/apt/archives/"*.deb "$WORK/python/var/lib/apt/lists/"*
  [[ ! -e $WORK/python/usr/bin/sqlite3 ]] || die "the python stand-in unexpectedly has a sqlite3 CLI"
  log "importing $img"
  tar --numeric-owner -C "$WORK/python" -c . | docker import \
    --change "LABEL $LABEL=$hash" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$img" >/dev/null
  docker run --rm "$img" python3 -c 'import sqlite3; print("sqlite", sqlite3.sqlite_version)' >/dev/null ||
    die "$img: python3 cannot import sqlite3"
  log "built $img"
fi

log "stand-in images ready:"
docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' homeiq-standin/*
