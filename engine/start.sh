#!/usr/bin/env bash
# Starts the Docker Engine that engine/install.sh unpacked (Debian trixie's 26.1), or reuses one
# that already answers.
#
# - If /var/run/docker.sock answers `_ping` with Engine >= 25, it is reused (whoever started it);
#   nothing is started and nothing recorded. An older engine there is refused (the program's health
#   checks need the start interval, API 1.44); it is never stopped by this script.
# - Otherwise $HOMEIQ_ENGINE_DIR/usr/sbin/dockerd is started in the background (nohup), logging to
#   $HOMEIQ_DOCKERD_LOG (default /var/log/homeiq-dockerd.log); its PID is written
#   to $HOMEIQ_DOCKERD_PIDFILE (default /var/run/homeiq-dockerd.pid) so that
#   engine/stop.sh stops exactly that process and nothing else.
# - `_ping` is polled for up to $HOMEIQ_DOCKERD_START_TIMEOUT seconds (default 30).
#
# Exit: 0 engine answers; 1 it does not (last log lines printed to stderr).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=engine/engine-env.sh
source "$HERE/engine-env.sh"
# The unpacked engine first (dockerd, containerd, shims, docker-init, docker-proxy), then the
# system's runc and iptables.
export PATH="$ENGINE_DIR/usr/sbin:$ENGINE_DIR/usr/bin:$PATH"

SOCK=/var/run/docker.sock
LOG_FILE=${HOMEIQ_DOCKERD_LOG:-/var/log/homeiq-dockerd.log}
PID_FILE=${HOMEIQ_DOCKERD_PIDFILE:-/var/run/homeiq-dockerd.pid}
TIMEOUT=${HOMEIQ_DOCKERD_START_TIMEOUT:-30}

log() { printf '[engine/start] %s\n' "$*"; }
die() { printf '[engine/start] ERROR: %s\n' "$*" >&2; exit 1; }

ping_engine() {
  [[ -S $SOCK ]] || return 1
  local answer
  answer=$(curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null) || return 1
  [[ $answer == OK ]]
}

command -v curl >/dev/null || die "curl is required to ping the engine (apt-get install curl)"

engine_major() { docker version --format '{{.Server.Version}}' 2>/dev/null | cut -d. -f1; }

if ping_engine; then
  major=$(engine_major)
  [[ $major =~ ^[0-9]+$ && $major -ge $MIN_ENGINE_MAJOR ]] ||
    die "an engine older than $MIN_ENGINE_MAJOR (version '$(docker version --format '{{.Server.Version}}' 2>/dev/null)') answers on $SOCK; stop it first (this script never stops an engine it did not start)"
  log "engine $major.x already answers on $SOCK; reusing it"
  exit 0
fi

[[ -x $ENGINE_DIR/usr/sbin/dockerd ]] || die "$ENGINE_DIR/usr/sbin/dockerd not found: run engine/install.sh first"
[[ $(id -u) -eq 0 ]] || die "dockerd must be started as root"

# A PID file from an earlier run whose process is still alive but not answering:
# that is our own engine, still starting up or wedged. Wait for it rather than
# starting a second one on the same socket.
if [[ -f $PID_FILE ]]; then
  old_pid=$(cat "$PID_FILE")
  if [[ $old_pid =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null &&
    [[ $(cat "/proc/$old_pid/comm" 2>/dev/null) == dockerd ]]; then
    log "dockerd started earlier by this project (pid $old_pid) is alive; waiting for it"
    pid=$old_pid
  else
    log "removing stale pid file $PID_FILE (pid ${old_pid:-?} is gone)"
    rm -f "$PID_FILE"
  fi
fi

if [[ -z ${pid:-} ]]; then
  # dockerd refuses to start over its own stale pid file; remove it only if the
  # process it names is gone.
  if [[ -f /var/run/docker.pid ]]; then
    stale=$(cat /var/run/docker.pid)
    if ! { [[ $stale =~ ^[0-9]+$ ]] && kill -0 "$stale" 2>/dev/null; }; then
      rm -f /var/run/docker.pid
    else
      die "another dockerd (pid $stale) runs but $SOCK does not answer; not touching it"
    fi
  fi
  mkdir -p "$(dirname "$LOG_FILE")"
  log "starting dockerd (log: $LOG_FILE)"
  # setsid: its own session, so a signal to the caller's process group (a
  # killed test run, Ctrl-C) does not take the engine and its containers down.
  setsid nohup "$ENGINE_DIR/usr/sbin/dockerd" >>"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  log "dockerd pid $pid recorded in $PID_FILE"
fi

deadline=$((SECONDS + TIMEOUT))
while ((SECONDS < deadline)); do
  if ping_engine; then
    log "engine answers on $SOCK ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$PID_FILE"
    printf '[engine/start] last lines of %s:\n' "$LOG_FILE" >&2
    tail -n 30 "$LOG_FILE" >&2 || true
    die "dockerd (pid $pid) exited before answering _ping"
  fi
  sleep 0.25
done

printf '[engine/start] last lines of %s:\n' "$LOG_FILE" >&2
tail -n 30 "$LOG_FILE" >&2 || true
die "dockerd (pid $pid) did not answer _ping on $SOCK within ${TIMEOUT}s (left running; engine/stop.sh stops it)"
