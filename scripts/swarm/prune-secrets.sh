#!/usr/bin/env bash
# scripts/swarm/prune-secrets.sh - removes the stack's swarm secrets that no longer belong to it: those
# labelled com.homeiq.stack=<stack> and com.homeiq.secret (the program's, components/swarmSecrets.ts)
# whose name is not in HOMEIQ_KEEP_SECRETS. Run by a Pulumi Command after every service of the stack is
# created or updated; safe to run by hand.
#
# Why a script: a swarm secret's value is immutable, so each new value is a new secret; Pulumi only
# forgets the old one (retainOnDelete), because the manager refuses to remove a secret a service still
# uses and a failed removal would fail every later `pulumi up`. A secret still in use (a service whose
# update was rolled back to it) is kept and named; the next run removes it. Never prints a secret's value
# (it never reads one: `docker secret inspect` has no data).
#
# Environment:
#   DOCKER_HOST            the swarm manager's engine
#   HOMEIQ_STACK           the stack (the value of the com.homeiq.stack label)
#   HOMEIQ_KEEP_SECRETS    space-separated names of the stack's current secrets
# Exit: 0 done (secrets still in use are kept and named); 2 bad environment; 3 the manager cannot be read.
set -euo pipefail

readonly TAG=homeiq-swarm-secrets
log() { printf '[%s] %s\n' "$TAG" "$*"; }
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}

: "${DOCKER_HOST:?DOCKER_HOST (the swarm manager) is required}"
STACK=${HOMEIQ_STACK:-}
[[ $STACK =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || die 2 "HOMEIQ_STACK is '$STACK'; allowed: a stack name"
read -r -a KEEP <<<"${HOMEIQ_KEEP_SECRETS:-}" || true
((${#KEEP[@]} > 0)) || die 2 "HOMEIQ_KEEP_SECRETS is empty; it names the stack's current secrets, which are never removed"

names=$(docker secret ls --filter "label=com.homeiq.stack=$STACK" --filter label=com.homeiq.secret --format '{{.Name}}' 2>&1) ||
  die 3 "cannot list the swarm's secrets through $DOCKER_HOST: ${names//$'\n'/ }"
removed=0 kept=()
for name in $names; do
  [[ " ${KEEP[*]} " == *" $name "* ]] && continue
  if out=$(docker secret rm "$name" 2>&1); then
    log "removed $name (no longer the stack's)"
    removed=$((removed + 1))
  else
    kept+=("$name")
    log "kept $name: ${out//$'\n'/ }"
  fi
done
log "$removed old secret(s) removed; current: ${KEEP[*]}${kept:+; still in use, removed by a later run: ${kept[*]}}"
