#!/usr/bin/env bash
# swarm-nodes.sh - a Docker Swarm of N nodes on this one machine, for the swarm tests and the benchmark.
#
# Each node is its own network, UTS and mount namespace running its own dockerd (the Engine 26.1 tree of
# engine/install.sh) with its own data root, exec root, pidfile and socket; the nodes' eth0 are joined by a
# bridge that lives in a namespace of its own, so the host's iptables and the shared engine on
# /var/run/docker.sock are never touched (that engine never enters swarm mode). Node 1 is the manager.
# Every daemon runs with --no-new-privileges (what the prod profile requires of a swarm node), unless
# HOMEIQ_SWARM_NODE_NO_NEW_PRIVILEGES=0 (a node the preflight must refuse under that profile).
#
#   swarm-nodes.sh up   NAME COUNT SUBNET24 [IMAGE...]   e.g. up i18s 3 10.242.7 homeiq-standin/busybox:test
#   swarm-nodes.sh load NAME NODE IMAGE...                e.g. load i18s 2 homeiq-standin/python:test (one node only)
#   swarm-nodes.sh down NAME
#
# NAME prefixes everything created (namespaces NAME-n1.., NAME-sw, bridge, /tmp/NAME). SUBNET24 is the
# first three octets of the node network (node i = .1i). Images are copied from the shared engine with
# `docker save | docker load`. `up` prints, one per line: `node <i> <hostname> <ip> unix://<socket>`.
# Stop: `down` stops only the daemons whose pidfiles it wrote, then deletes the namespaces and files.
# Needs root. Works without IPVS only with dnsrr endpoints and host-mode ports (no VIP, no ingress mesh).
set -euo pipefail

D=${HOMEIQ_ENGINE_DIR:-/opt/homeiq-docker-26}
export PATH=$D/usr/sbin:$D/usr/bin:$PATH
HOSTSOCK=${HOMEIQ_SHARED_DOCKER_HOST:-unix:///var/run/docker.sock}
case ${HOMEIQ_SWARM_NODE_NO_NEW_PRIVILEGES:-1} in
  1) NNP=--no-new-privileges ;;
  0) NNP= ;;
  *) echo "HOMEIQ_SWARM_NODE_NO_NEW_PRIVILEGES is '$HOMEIQ_SWARM_NODE_NO_NEW_PRIVILEGES'; allowed: 1 (the default) or 0" >&2; exit 2 ;;
esac

cmd=${1:?usage: $0 up NAME COUNT SUBNET24 [IMAGE...] | down NAME}
NAME=${2:?NAME}
ROOT=/tmp/$NAME
SW=$NAME-sw
BR=br-$NAME

dk() { docker -H "unix://$ROOT/$1/docker.sock" "${@:2}"; }

up() {
  local count=$1 net=$2; shift 2
  mkdir -p "$ROOT"
  ip netns add "$SW"
  ip -n "$SW" link set lo up
  ip -n "$SW" link add "$BR" type bridge
  ip -n "$SW" addr add "$net.1/24" dev "$BR"
  ip -n "$SW" link set "$BR" up
  local i
  for i in $(seq 1 "$count"); do
    local n=n$i
    ip netns add "$NAME-$n"
    ip -n "$SW" link add "v$i-$NAME" type veth peer name eth0 netns "$NAME-$n"
    ip -n "$SW" link set "v$i-$NAME" master "$BR" up
    ip -n "$NAME-$n" link set lo up
    ip -n "$NAME-$n" addr add "$net.1$i/24" dev eth0
    ip -n "$NAME-$n" link set eth0 up
    mkdir -p "$ROOT/$n/data" "$ROOT/$n/exec"
    # nsenter --net, not `ip netns exec` (which remounts /sys and hides the cgroup v1 mounts);
    # unshare --uts: the hostname is the swarm node's name; --mount: the node's mounts stay private.
    # Its own docker0 (in its own namespace): BuildKit runs build steps on the default bridge.
    setsid nsenter --net="/run/netns/$NAME-$n" unshare --uts --mount --propagation private -- \
      env DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 sh -c "hostname $NAME-$n && exec dockerd \
        --data-root $ROOT/$n/data --exec-root $ROOT/$n/exec --pidfile $ROOT/$n/docker.pid \
        -H unix://$ROOT/$n/docker.sock --cgroup-parent /$NAME-$n \
        --default-address-pool base=172.31.0.0/16,size=24 --shutdown-timeout 2 $NNP" \
      >>"$ROOT/$n/dockerd.log" 2>&1 </dev/null &
  done
  for i in $(seq 1 "$count"); do
    local ok=0
    for _ in $(seq 1 300); do dk "n$i" version >/dev/null 2>&1 && { ok=1; break; }; sleep 0.1; done
    [ $ok = 1 ] || { echo "dockerd of $NAME-n$i did not answer in 30 s; its log:" >&2; tail -20 "$ROOT/n$i/dockerd.log" >&2; exit 1; }
  done
  if [ $# -gt 0 ]; then
    docker -H "$HOSTSOCK" save -o "$ROOT/images.tar" "$@"
    local loads=()
    for i in $(seq 1 "$count"); do dk "n$i" load -q -i "$ROOT/images.tar" >/dev/null & loads+=($!); done
    # only the loads: a bare `wait` would wait for the daemons too
    for pid in "${loads[@]}"; do wait "$pid"; done
    rm -f "$ROOT/images.tar"
  fi
  # The overlay address pool stays clear of the node network and of the shared engine's pools.
  dk n1 swarm init --advertise-addr "$net.11" --listen-addr "$net.11:2377" --default-addr-pool 10.243.0.0/16 >/dev/null
  local token; token=$(dk n1 swarm join-token -q worker)
  for i in $(seq 2 "$count"); do
    dk "n$i" swarm join --advertise-addr "$net.1$i" --listen-addr "$net.1$i:2377" --token "$token" "$net.11:2377" >/dev/null
  done
  for _ in $(seq 1 300); do
    [ "$(dk n1 node ls --format '{{.Status}}' | grep -c Ready)" = "$count" ] && break; sleep 0.1
  done
  for i in $(seq 1 "$count"); do echo "node $i $NAME-n$i $net.1$i unix://$ROOT/n$i/docker.sock"; done
}

down() {
  set +e
  local pids=() n pf pid
  for pf in "$ROOT"/n*/docker.pid; do
    [ -f "$pf" ] || continue
    pid=$(cat "$pf")
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && pids+=("$pid")
  done
  for _ in $(seq 1 200); do
    local alive=0; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"; done
  # containers of a node whose shim outlived its daemon: their cgroup names them
  for f in /sys/fs/cgroup/pids/"$NAME"-n*/*/tasks /sys/fs/cgroup/"$NAME"-n*/*/cgroup.procs; do
    [ -f "$f" ] && xargs -r kill -KILL < "$f" 2>/dev/null
  done
  for ns in /run/netns/"$NAME"-n*; do
    [ -e "$ns" ] || continue
    n=$(basename "$ns")
    ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$n" 2>/dev/null
  done
  ip netns del "$SW" 2>/dev/null || true
  for d in /sys/fs/cgroup/*/"$NAME"-n* /sys/fs/cgroup/"$NAME"-n*; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  if grep -q " $ROOT/" /proc/mounts; then
    echo "mounts still under $ROOT, left in place:" >&2; grep " $ROOT/" /proc/mounts >&2
  else
    rm -rf "$ROOT"
  fi
}

load() {
  local node=$1; shift
  docker -H "$HOSTSOCK" save "$@" | dk "n$node" load -q >/dev/null
}

case $cmd in
  up) up "${3:?COUNT}" "${4:?SUBNET24}" "${@:5}" ;;
  load) load "${3:?NODE}" "${@:4}" ;;
  down) down ;;
  *) echo "usage: $0 up NAME COUNT SUBNET24 [IMAGE...] | down NAME" >&2; exit 2 ;;
esac
