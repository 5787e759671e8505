#!/usr/bin/env bash
# Stops the dockerd that engine/start.sh started (the PID it recorded), and only
# that one. An engine this project did not start is never touched.
#
# After dockerd exits, the bridges it created (docker0, br-*) and its iptables
# chains stay behind; a later engine on the same subnets then breaks
# container-to-container TCP. They are removed here, only after our engine is
# confirmed gone and only if no other dockerd is running.
#
# Exit: 0 stopped (or nothing of ours to stop); 1 it would not stop.
set -euo pipefail

PID_FILE=${HOMEIQ_DOCKERD_PIDFILE:-/var/run/homeiq-dockerd.pid}
TIMEOUT=${HOMEIQ_DOCKERD_STOP_TIMEOUT:-30}

log() { printf '[engine/stop] %s\n' "$*"; }
die() { printf '[engine/stop] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! -f $PID_FILE ]]; then
  log "no pid file $PID_FILE: this project started no engine; nothing to stop"
  exit 0
fi
pid=$(cat "$PID_FILE")
if ! [[ $pid =~ ^[0-9]+$ ]]; then
  rm -f "$PID_FILE"
  die "pid file $PID_FILE held '$pid', not a pid; removed it, stopped nothing"
fi

if kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]; then
  log "stopping dockerd pid $pid (SIGTERM; containers are stopped by the engine)"
  kill -TERM "$pid"
  deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || die "dockerd pid $pid still running after ${TIMEOUT}s"
    sleep 0.25
  done
  log "dockerd pid $pid stopped"
else
  log "pid $pid from $PID_FILE is not a running dockerd; nothing to stop"
fi
rm -f "$PID_FILE"

# Clean up what the stopped engine left, unless another engine is running.
if pgrep -x dockerd >/dev/null 2>&1; then
  log "another dockerd is running; leaving bridges and iptables rules alone"
  exit 0
fi

if command -v ip >/dev/null; then
  while read -r link; do
    [[ -n $link ]] || continue
    log "removing bridge $link"
    ip link delete "$link" 2>/dev/null || log "could not remove $link (ignored)"
  done < <(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
    grep -E '^(docker0|br-[0-9a-f]{12})$' || true)
fi

if command -v iptables >/dev/null; then
  # Docker's own chains. Jumps to them from the built-in chains go first, then
  # the chains themselves are flushed and deleted.
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -E -- '-j DOCKER[A-Z0-9-]*( |$)' |
      grep -E '^-A (FORWARD|INPUT|OUTPUT|PREROUTING|POSTROUTING) ' |
      sed 's/^-A /-D /' | while read -r rule; do
      # shellcheck disable=SC2086 # the rule is a list of iptables words
      iptables -t "$table" $rule 2>/dev/null || true
    done
    # Rules in the built-in chains that name a Docker bridge (FORWARD accepts,
    # POSTROUTING masquerades).
    iptables -t "$table" -S 2>/dev/null | grep -E '^-A [A-Z]+ ' | grep -E -- '-[io] (docker0|br-[0-9a-f]{12})( |$)' |
      sed 's/^-A /-D /' | while read -r rule; do
      # shellcheck disable=SC2086 # the rule is a list of iptables words
      iptables -t "$table" $rule 2>/dev/null || true
    done
    iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}' | while read -r chain; do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}' | while read -r chain; do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
  log "removed Docker's iptables chains and rules"
fi
