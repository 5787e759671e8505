#!/usr/bin/env bash
# Post-deploy validation gate for a HomeIQ stack: checks from the machine running
# Pulumi what a person would check after a rebuild (HomeIQ's old post-rebuild
# health checklist): every published health endpoint answers
# 200, the dashboard serves HTML, InfluxDB reports ready. Bounded retries per target,
# all targets checked in parallel, then a table SERVICE / URL / STATUS / LATENCY.
#
# Input: environment variables only (see README.md next to this file):
#   HOMEIQ_VALIDATE_TARGETS           required; space-separated service=check:url
#   HOMEIQ_VALIDATE_TIMEOUT_SECONDS   per request (curl --max-time), default 5
#   HOMEIQ_VALIDATE_ATTEMPTS          attempts per target, default 10
#   HOMEIQ_VALIDATE_INTERVAL_SECONDS  pause between attempts, default 2
#   HOMEIQ_VALIDATE_CONTAINERS        optional; the stack's containers: the gate then says which
#                                     AppArmor profile each runs under (asks the engine at DOCKER_HOST)
#   HOMEIQ_VALIDATE_MAX_LATENCY_MS    optional; an endpoint passes only if its p95 over
#                                     HOMEIQ_VALIDATE_LATENCY_REQUESTS requests (default 20) is below it
#   HOMEIQ_VALIDATE_ERROR_LINES       optional, with HOMEIQ_VALIDATE_CONTAINERS: `fail` or `report`
#                                     error lines in each container's log since it started, for the
#                                     containers started in the last HOMEIQ_VALIDATE_ERROR_LINES_WINDOW_SECONDS
#                                     (default 3600: those this deploy started)
#   HOMEIQ_VALIDATE_REPORT_USAGE      optional, with HOMEIQ_VALIDATE_CONTAINERS: `true` prints each
#                                     container's memory and CPU against its limits (never fails)
#   HOMEIQ_VALIDATE_RESULTS_FILE      optional; the table also written there as `service<TAB>status<TAB>ms`
#                                     lines, for scripts (the watch)
# Exit: 0 all passed; 1 at least one failed (table + "validation failed: N of M
# services"), or a container runs unconfined on an engine with AppArmor; 2 malformed
# environment; 3 curl (or, with HOMEIQ_VALIDATE_CONTAINERS, docker) missing, no
# temporary folder, or the engine does not answer.
# Needs only bash >= 4.4, curl and coreutils (mktemp, head, tail, sort, tr, sleep, mv, rm); docker
# with HOMEIQ_VALIDATE_CONTAINERS.
set -euo pipefail
export LC_ALL=C

readonly TAG='[homeiq-validate]'
readonly EXIT_FAILED=1 EXIT_USAGE=2 EXIT_TOOL=3
readonly CHECKS='http200 html influx-ready'
readonly RE_SERVICE='^[a-z0-9][a-z0-9-]*$'
readonly RE_URL='^https?://[^/?#[:space:]]+([/?#][^[:space:]]*)?$'
readonly BODY_LIMIT=1048576 # bytes of a response body examined by html / influx-ready

log() { printf '%s %s\n' "$TAG" "$*"; }
die() {
  local code=$1
  shift
  printf '%s ERROR: %s\n' "$TAG" "$*" >&2
  exit "$code"
}

# int_var <NAME> <default> <minimum>: prints the variable's value (or the default)
# after checking it is a whole number >= minimum; exits EXIT_USAGE naming it otherwise.
int_var() {
  local name=$1 def=$2 min=$3 v
  v=${!name:-$def}
  if [[ ! $v =~ ^[0-9]{1,6}$ ]] || ((10#$v < min)); then
    die "$EXIT_USAGE" "environment variable $name='$v' is malformed: expected a whole number >= $min (seconds/count)"
  fi
  printf '%d' "$((10#$v))"
}

# --- environment -------------------------------------------------------------------
[[ -n ${HOMEIQ_VALIDATE_TARGETS:-} && ${HOMEIQ_VALIDATE_TARGETS} =~ [^[:space:]] ]] ||
  die "$EXIT_USAGE" "environment variable HOMEIQ_VALIDATE_TARGETS is required: space-separated service=check:url entries (check: ${CHECKS// /, })"
TIMEOUT=$(int_var HOMEIQ_VALIDATE_TIMEOUT_SECONDS 5 1)
ATTEMPTS=$(int_var HOMEIQ_VALIDATE_ATTEMPTS 10 1)
INTERVAL=$(int_var HOMEIQ_VALIDATE_INTERVAL_SECONDS 2 0)
MAX_LATENCY_MS=''
[[ -z ${HOMEIQ_VALIDATE_MAX_LATENCY_MS:-} ]] || MAX_LATENCY_MS=$(int_var HOMEIQ_VALIDATE_MAX_LATENCY_MS 0 1)
LATENCY_REQUESTS=$(int_var HOMEIQ_VALIDATE_LATENCY_REQUESTS 20 1)
readonly TIMEOUT ATTEMPTS INTERVAL MAX_LATENCY_MS LATENCY_REQUESTS
ERROR_LINES=${HOMEIQ_VALIDATE_ERROR_LINES:-}
[[ -z $ERROR_LINES || $ERROR_LINES == fail || $ERROR_LINES == report ]] ||
  die "$EXIT_USAGE" "environment variable HOMEIQ_VALIDATE_ERROR_LINES='$ERROR_LINES' is malformed: expected fail or report (or unset: not checked)"
REPORT_USAGE=${HOMEIQ_VALIDATE_REPORT_USAGE:-}
[[ -z $REPORT_USAGE || $REPORT_USAGE == true || $REPORT_USAGE == false ]] ||
  die "$EXIT_USAGE" "environment variable HOMEIQ_VALIDATE_REPORT_USAGE='$REPORT_USAGE' is malformed: expected true or false"
ERROR_WINDOW=$(int_var HOMEIQ_VALIDATE_ERROR_LINES_WINDOW_SECONDS 3600 0)
readonly ERROR_LINES REPORT_USAGE ERROR_WINDOW

SERVICES=() KINDS=() URLS=()
declare -A SEEN=()
read -r -d '' -a ENTRIES <<<"$HOMEIQ_VALIDATE_TARGETS" || true
for entry in "${ENTRIES[@]}"; do
  bad="HOMEIQ_VALIDATE_TARGETS entry '$entry'"
  [[ $entry == *=*:* ]] || die "$EXIT_USAGE" "$bad is not service=check:url (check: ${CHECKS// /, })"
  service=${entry%%=*}
  rest=${entry#*=}
  kind=${rest%%:*}
  url=${rest#*:}
  [[ $service =~ $RE_SERVICE ]] || die "$EXIT_USAGE" "$bad: service '$service' must match [a-z0-9][a-z0-9-]*"
  [[ " $CHECKS " == *" $kind "* ]] || die "$EXIT_USAGE" "$bad: unknown check '$kind' (one of: ${CHECKS// /, })"
  [[ $url =~ $RE_URL ]] || die "$EXIT_USAGE" "$bad: URL '$url' is not an http:// or https:// URL"
  [[ -z ${SEEN[$service]:-} ]] || die "$EXIT_USAGE" "$bad: service '$service' is listed twice"
  SEEN[$service]=1
  SERVICES+=("$service")
  KINDS+=("$kind")
  URLS+=("$url")
done
readonly TOTAL=${#SERVICES[@]}

CONTAINERS=()
read -r -d '' -a CONTAINERS <<<"${HOMEIQ_VALIDATE_CONTAINERS:-}" || true
for c in "${CONTAINERS[@]}"; do
  [[ $c =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_VALIDATE_CONTAINERS entry '$c' is not a container name ([a-z0-9][a-z0-9_.-]*)"
done

command -v curl >/dev/null || die "$EXIT_TOOL" "curl is not on PATH (the validation gate needs bash, curl and coreutils)"
if ((${#CONTAINERS[@]} > 0)); then
  command -v docker >/dev/null || die "$EXIT_TOOL" "docker is not on PATH (needed for HOMEIQ_VALIDATE_CONTAINERS)"
  [[ -n ${DOCKER_HOST:-} ]] || unset DOCKER_HOST # an empty DOCKER_HOST means the default engine
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/homeiq-validate.XXXXXX") ||
  die "$EXIT_TOOL" "cannot create a temporary folder under ${TMPDIR:-/tmp}"
PIDS=()
cleanup() { rm -rf -- "$WORK"; }
on_signal() {
  local p code=$1
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  cleanup
  exit "$code"
}
trap cleanup EXIT
trap 'on_signal 129' HUP
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# --- one request ---------------------------------------------------------------------
# probe <i>: one curl request for target i; sets STATUS ("ok" or the
# failure) and LATENCY_MS (curl's total time of this request, in ms).
probe() {
  local i=$1 kind=${KINDS[$1]} url=${URLS[$1]}
  local body="$WORK/$i.body" err="$WORK/$i.err" out rc=0 code t sec frac text
  : >"$body" # curl leaves the file alone on an empty body: never judge an earlier attempt's body
  out=$(curl -q -v -sS --proto '=http,https' --max-time "$TIMEOUT" \
    -A 'homeiq-validate/1' -o "$body" -w '%{http_code} %{time_total}' "$url" 2>"$err") || rc=$?
  code=${out%% *}
  t=${out#* }
  if [[ $t =~ ^([0-9]+)[.,]([0-9]+)$ ]]; then
    sec=${BASH_REMATCH[1]}
    frac="${BASH_REMATCH[2]}0000"
    LATENCY_MS=$(((10#$sec * 10000 + 10#${frac:0:4} + 5) / 10)) # rounded to the nearest ms
  else
    LATENCY_MS=$((TIMEOUT * 1000))
  fi
  if ((rc != 0)); then
    text=$(head -c 65536 -- "$err" | tr -d '\0') || text=''
    case $rc in
      28) STATUS=timeout ;;
      7)
        if [[ $text == *"Connection refused"* ]]; then
          STATUS='connection refused'
        elif [[ $text == *"No route to host"* ]]; then
          STATUS='no route to host'
        elif [[ $text == *"Network is unreachable"* ]]; then
          STATUS='network unreachable'
        else
          STATUS='connection failed'
        fi
        ;;
      6) STATUS='host not resolved' ;;
      52) STATUS='empty reply' ;;
      56) STATUS='connection reset' ;;
      35 | 51 | 58 | 60 | 77 | 83 | 90 | 91) STATUS='TLS error' ;;
      *) STATUS="curl error $rc" ;;
    esac
    return 0
  fi
  if [[ $code != 200 ]]; then
    STATUS="HTTP $code"
    return 0
  fi
  case $kind in
    http200) STATUS=ok ;;
    html)
      text=$(head -c "$BODY_LIMIT" -- "$body" | tr -d '\0') || text=''
      text=${text,,}
      if [[ $text == *"<html"* || $text == *"<!doctype html"* ]]; then STATUS=ok; else STATUS='not HTML'; fi
      ;;
    influx-ready)
      text=$(head -c "$BODY_LIMIT" -- "$body" | tr -d '\0') || text=''
      if [[ $text == *'"status":"pass"'* || $text == *'"status": "pass"'* || $text == *'"ready"'* ]]; then
        STATUS=ok
      else
        STATUS='not ready'
      fi
      ;;
    *) STATUS="unknown check '$kind'" ;;
  esac
}

# The rank of the p95 among LATENCY_REQUESTS latencies, nearest-rank: ceil(0.95 * n).
readonly P95_RANK=$(((95 * LATENCY_REQUESTS + 99) / 100))

# latency_sample <i>: after a passing probe, LATENCY_REQUESTS more; sets LATENCY_MS to their p95 and
# STATUS to `slow (p95 N ms)` when it is not below MAX_LATENCY_MS (or to a request's failure). Stops
# as soon as more requests were slow than the p95 allows: the verdict cannot change after that.
latency_sample() {
  local i=$1 k slow=0 allowed=$((LATENCY_REQUESTS - P95_RANK)) sorted
  local -a times=()
  for ((k = 0; k < LATENCY_REQUESTS; k++)); do
    probe "$i"
    [[ $STATUS == ok ]] || return 0
    times+=("$LATENCY_MS")
    ((LATENCY_MS < MAX_LATENCY_MS)) || slow=$((slow + 1))
    if ((slow > allowed)); then
      STATUS="slow (p95 >= ${MAX_LATENCY_MS} ms: $slow of $((k + 1)) requests)"
      return 0
    fi
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n | head -n "$P95_RANK" | tail -n 1)
  LATENCY_MS=$sorted
  STATUS=ok
}

# check_target <i>: up to ATTEMPTS probes, INTERVAL seconds apart, until one passes;
# writes "<status>\t<latency ms>\t<attempts used>" to $WORK/<i>.result.
check_target() {
  local i=$1 n service=${SERVICES[$1]}
  STATUS='not checked' LATENCY_MS=0
  for ((n = 1; n <= ATTEMPTS; n++)); do
    probe "$i"
    [[ $STATUS != ok || -z $MAX_LATENCY_MS ]] || latency_sample "$i"
    if [[ $STATUS == ok ]]; then
      log "$service: ok (attempt $n/$ATTEMPTS, ${LATENCY_MS} ms)"
      break
    fi
    if ((n < ATTEMPTS)); then
      log "$service: attempt $n/$ATTEMPTS: $STATUS (${LATENCY_MS} ms); retrying in ${INTERVAL} s"
      sleep "$INTERVAL"
    else
      log "$service: attempt $n/$ATTEMPTS: $STATUS (${LATENCY_MS} ms); giving up"
    fi
  done
  printf '%s\t%s\t%s\n' "$STATUS" "$LATENCY_MS" "$((n > ATTEMPTS ? ATTEMPTS : n))" >"$WORK/$i.result.tmp"
  mv -f -- "$WORK/$i.result.tmp" "$WORK/$i.result"
}

# --- run -----------------------------------------------------------------------------
PER_ATTEMPT=1
[[ -z $MAX_LATENCY_MS ]] || PER_ATTEMPT=$((1 + LATENCY_REQUESTS))
BOUND=$((ATTEMPTS * PER_ATTEMPT * TIMEOUT + (ATTEMPTS - 1) * INTERVAL))
if [[ -n $MAX_LATENCY_MS ]]; then
  log "latency criterion: p95 of $LATENCY_REQUESTS requests under ${MAX_LATENCY_MS} ms for each service"
fi
log "checking $TOTAL service(s) in parallel: up to $ATTEMPTS attempt(s) each, ${TIMEOUT} s per request, ${INTERVAL} s between attempts (at most ~${BOUND} s)"
for ((i = 0; i < TOTAL; i++)); do
  check_target "$i" &
  PIDS+=("$!")
done
for p in "${PIDS[@]}"; do wait "$p" || true; done

ROW_STATUS=() ROW_LATENCY=()
FAILED=()
RESULTS=''
for ((i = 0; i < TOTAL; i++)); do
  status='no result' latency='-' ms='-'
  if [[ -f $WORK/$i.result ]]; then
    IFS=$'\t' read -r status ms _ <"$WORK/$i.result" || true
    latency="$ms ms"
  fi
  ROW_STATUS+=("$status")
  ROW_LATENCY+=("$latency")
  RESULTS+="${SERVICES[$i]}"$'\t'"$status"$'\t'"$ms"$'\n'
  [[ $status == ok ]] || FAILED+=("${SERVICES[$i]} ($status)")
done
if [[ -n ${HOMEIQ_VALIDATE_RESULTS_FILE:-} ]]; then
  printf '%s' "$RESULTS" >"$HOMEIQ_VALIDATE_RESULTS_FILE" ||
    die "$EXIT_TOOL" "cannot write HOMEIQ_VALIDATE_RESULTS_FILE '$HOMEIQ_VALIDATE_RESULTS_FILE'"
fi

# The table: columns padded to their widest cell, two spaces apart.
w1=7 w2=3 w3=6
for ((i = 0; i < TOTAL; i++)); do
  ((${#SERVICES[$i]} > w1)) && w1=${#SERVICES[$i]}
  ((${#URLS[$i]} > w2)) && w2=${#URLS[$i]}
  ((${#ROW_STATUS[$i]} > w3)) && w3=${#ROW_STATUS[$i]}
done
echo
printf '%-*s  %-*s  %-*s  %s\n' "$w1" SERVICE "$w2" URL "$w3" STATUS LATENCY
for ((i = 0; i < TOTAL; i++)); do
  printf '%-*s  %-*s  %-*s  %s\n' "$w1" "${SERVICES[$i]}" "$w2" "${URLS[$i]}" "$w3" "${ROW_STATUS[$i]}" "${ROW_LATENCY[$i]}"
done
echo

# AppArmor (CIS Docker Benchmark 5.2): which profile each container runs under. An engine on a host
# without AppArmor runs every container without one whatever its securityOpts say (it lists no
# name=apparmor among its security options), and the gate says so instead of failing.
UNCONFINED=()
if ((${#CONTAINERS[@]} > 0)); then
  opts=$(docker info --format '{{range .SecurityOptions}}{{.}} {{end}}' 2>&1) ||
    die "$EXIT_TOOL" "cannot ask the engine for its security options: ${opts//$'\n'/ }"
  opts=${opts% }
  if [[ " $opts " == *" name=apparmor "* ]]; then
    for c in "${CONTAINERS[@]}"; do
      profile=$(docker inspect --type container --format '{{.AppArmorProfile}}' "$c" 2>&1) ||
        die "$EXIT_TOOL" "cannot inspect container $c: ${profile//$'\n'/ }"
      echo "AppArmor: $c runs under ${profile:-no profile}"
      [[ -n $profile && $profile != unconfined ]] || UNCONFINED+=("$c")
    done
  else
    echo "AppArmor: not available on this Docker host (engine security options: ${opts:-none}); the ${#CONTAINERS[@]} containers run without an AppArmor profile"
  fi
  echo
fi

# Error lines in each container's log since it started (the review: "no error messages in the logs"):
# the rule is in error-lines.sh, shared with `npm run status`'s test of it.
# shellcheck source=scripts/validate/error-lines.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/error-lines.sh"

ERRORED=()
if ((${#CONTAINERS[@]} > 0)) && [[ -n $ERROR_LINES ]]; then
  for c in "${CONTAINERS[@]}"; do
    started=$(docker inspect --type container --format '{{.State.StartedAt}}' "$c" 2>&1) ||
      die "$EXIT_TOOL" "cannot inspect container $c: ${started//$'\n'/ }"
    docker logs --since "$started" "$c" >"$WORK/logs" 2>&1 ||
      die "$EXIT_TOOL" "cannot read the log of container $c: $(head -c 300 -- "$WORK/logs" | tr '\n' ' ')"
    n=$(count_error_lines "$WORK/logs")
    started_s=$(date -d "$started" +%s 2>/dev/null) || started_s=0
    if (($(date +%s) - started_s > ERROR_WINDOW)); then
      # Not started by this deploy: its past is the watch's business, not a reason to refuse a deploy.
      echo "error lines: $c: $n since it started at $started (before this deploy: not judged here)"
      continue
    fi
    echo "error lines: $c: $n since it started at $started"
    ((n == 0)) || ERRORED+=("$c ($n)")
  done
  echo
fi

# Memory and CPU now, against each container's limits: steady-state criteria of the review (memory
# under 70 %, CPU under 50 %), reported here and never a failure: right after a deploy every service
# is starting up, and `npm run status` judges them on the running stack.
if ((${#CONTAINERS[@]} > 0)) && [[ $REPORT_USAGE == true ]]; then
  usage=$(docker stats --no-stream --format '{{.Name}}  memory {{.MemPerc}} ({{.MemUsage}})  CPU {{.CPUPerc}} of one CPU' "${CONTAINERS[@]}" 2>&1) ||
    die "$EXIT_TOOL" "cannot read the containers' usage: ${usage//$'\n'/ }"
  while IFS= read -r line; do echo "usage: $line"; done <<<"$usage"
  echo
fi

VERDICT=0
if ((${#UNCONFINED[@]} > 0)); then
  joined=$(printf '%s, ' "${UNCONFINED[@]}")
  echo "validation failed: ${#UNCONFINED[@]} container(s) run without an AppArmor profile on a host that has AppArmor: ${joined%, }"
  printf '%s ERROR: validation failed: unconfined containers: %s\n' "$TAG" "${joined%, }" >&2
  VERDICT=$EXIT_FAILED
fi

if ((${#ERRORED[@]} > 0)); then
  joined=$(printf '%s, ' "${ERRORED[@]}")
  if [[ $ERROR_LINES == fail ]]; then
    echo "validation failed: ${#ERRORED[@]} container(s) wrote error lines since they started: ${joined%, } (see: docker logs <container>)"
    printf '%s ERROR: validation failed: error lines in the logs of: %s\n' "$TAG" "${joined%, }" >&2
    # HomeIQ's own start-up errors (docs/operating.md names those of the modelled version) fail a working stack.
    echo "fix the cause the lines name; if they are known defects of the HomeIQ version you deploy, \`pulumi config set homeiq:validationErrorLines report --stack <stack>\` reports them instead of failing (docs/operating.md)"
    VERDICT=$EXIT_FAILED
  else
    echo "error lines (reported, not a failure): ${joined%, }"
  fi
fi

if ((${#FAILED[@]} > 0)); then
  echo "validation failed: ${#FAILED[@]} of $TOTAL services"
  joined=$(printf '%s, ' "${FAILED[@]}")
  printf '%s ERROR: validation failed: %d of %d services: %s\n' "$TAG" "${#FAILED[@]}" "$TOTAL" "${joined%, }" >&2
  exit "$EXIT_FAILED"
fi
((VERDICT == 0)) || exit "$VERDICT"
echo "validation passed: $TOTAL of $TOTAL services"
