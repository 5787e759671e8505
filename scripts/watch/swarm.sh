# shellcheck shell=bash
# scripts/watch/swarm.sh - what the watch measures of a stack on swarm; sourced by watch.sh, which calls
# measure_swarm instead of reading containers on one host. A swarm task has no container name of its
# own, and swarm replaces a task whose container is stopped or unhealthy, so "down" is about services:
#
# Through the manager (DOCKER_HOST):
#   down:<service>    the service is missing; asks for 0 replicas (scaled to 0); runs fewer tasks than it
#                     asks for (the message gives why its newest task ended: swarm stops an unhealthy task
#                     with "unhealthy container" and starts another); or runs them but SWARM_LOOP_FAILURES
#                     or more of its tasks failed within the last SWARM_LOOP_MINUTES (a task restarting in
#                     a loop: said resolved once that long has passed without a failure)
#   errors:<service>  error lines in its running task's log since swarm created that task (docker service logs)
# On the data node's engine (HOMEIQ_WATCH_SWARM_DATA_HOST), where the stateful tasks and their volumes are:
#   disk:volumes on <node>   the filesystem that holds the node's volumes, by df in the first running
#                            stateful task that mounts one (every local volume of a node is on that filesystem)
# On the engine of the node that runs each running task (HOMEIQ_WATCH_SWARM_NODES):
#   memory:<service>, cpu:<service>   its task's use against the service's limits (docker stats), as on one host
#   down:engine of <node>   that engine (or the data node's) does not answer, e.g. its ssh:// login fails:
#                           what is read there (memory, CPU, the volumes' disk) is not measured, so it is said
#
# Variables (watch.sh checks them): HOMEIQ_WATCH_SWARM_SERVICES, HOMEIQ_WATCH_SWARM_DATA_NODE,
# HOMEIQ_WATCH_SWARM_DATA_HOST, HOMEIQ_WATCH_SWARM_VOLUME_MOUNTS (`service:/path ...`),
# HOMEIQ_WATCH_SWARM_NODES (`hostname=engine ...`).

readonly SWARM_LOOP_FAILURES=3 SWARM_LOOP_MINUTES=15

# tasks_of <service>: one line per task swarm keeps of it (the running ones and the last few that ended):
# `<unix time of its last state change><TAB><state><TAB><desired state><TAB><unix time it was created><TAB>
# <node id><TAB><container id><TAB><error>`, newest first (the error last: read collapses empty fields
# between tabs; a task without a container yet has `-`).
tasks_of() {
  local ids
  mapfile -t ids < <(docker service ps -q --no-trunc "$1" 2>/dev/null)
  ((${#ids[@]} > 0)) || return 0
  docker inspect --type task --format '{{.Status.Timestamp.Unix}}{{"\t"}}{{.Status.State}}{{"\t"}}{{.DesiredState}}{{"\t"}}{{.CreatedAt.Unix}}{{"\t"}}{{or .NodeID "-"}}{{"\t"}}{{with .Status.ContainerStatus}}{{or .ContainerID "-"}}{{else}}-{{end}}{{"\t"}}{{.Status.Err}}' "${ids[@]}" 2>/dev/null |
    sort -t $'\t' -k1,1nr
}

measure_swarm() {
  local svc desired nano ts state want err created node cid running failed last started n now mount path c use
  local name mem cpu m u of_limit engine
  now=$(date +%s)
  # Each running task's container, by the engine of its node: their memory and CPU are read there.
  declare -A HOST_OF_NODE=() ENGINE_OF=() TASKS_ON=() SERVICE_OF=() NANO_OF=()
  for entry in "${SWARM_NODES[@]}"; do ENGINE_OF[${entry%%=*}]=${entry#*=}; done
  # Each node's own engine (other than the manager's, which answered): one that does not is a problem of its
  # own, never a silent gap in the measures read there.
  local -A ASKED=(["e:${DOCKER_HOST:-}"]=1)
  for entry in "${SWARM_NODES[@]}" "$SWARM_DATA_NODE=$SWARM_DATA_HOST"; do
    name=${entry%%=*} engine=${entry#*=}
    [[ -z ${ASKED["e:$engine"]:-} ]] || continue
    ASKED["e:$engine"]=1
    if ! m=$(DOCKER_HOST=$engine timeout 60 docker version --format '{{.Server.Version}}' 2>&1 </dev/null); then
      problem down "engine of $name" "the Docker engine of node $name at $engine does not answer: ${m##*$'\n'} (its tasks' memory and CPU, and the volumes' disk if it is the data node, are not measured)"
    fi
  done
  while read -r node name; do
    [[ -n ${name:-} ]] && HOST_OF_NODE[$node]=$name
  done < <(docker node ls --format '{{.ID}} {{.Hostname}}' 2>/dev/null)
  for svc in "${SWARM_SERVICES[@]}"; do
    if ! read -r desired nano < <(docker service inspect --format '{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}1{{end}} {{with .Spec.TaskTemplate.Resources}}{{with .Limits}}{{.NanoCPUs}}{{end}}{{end}}' "$svc" 2>/dev/null); then
      problem down "$svc" "$svc does not exist"
      continue
    fi
    NANO_OF[$svc]=${nano:-0}
    running=0 failed=0 last='' started=''
    while IFS=$'\t' read -r ts state want created node cid err; do
      [[ -n ${ts:-} ]] || continue
      if [[ $state == running && $want == running ]]; then
        running=$((running + 1))
        [[ -n $started ]] || started=$created
        engine=${ENGINE_OF[${HOST_OF_NODE[$node]:-?}]:-}
        if [[ -n $engine && $cid != - ]]; then
          TASKS_ON[$engine]+=" $cid"
          SERVICE_OF[$cid]=$svc
        fi
      elif [[ $state == failed || $state == rejected ]]; then
        ((now - ts > SWARM_LOOP_MINUTES * 60)) || failed=$((failed + 1))
        [[ -n $last ]] || last="$state: ${err:-no error given}"
      fi
    done < <(tasks_of "$svc")
    [[ $last != *"unhealthy container"* ]] || last="unhealthy (swarm stopped it: $last)"
    if ((desired == 0)); then
      problem down "$svc" "$svc is scaled to 0 replicas: it runs nothing"
    elif ((running < desired)); then
      problem down "$svc" "$svc runs $running of $desired replicas${last:+; its last task ended $last}$( ((failed == 0)) || echo " ($failed task failures in the last $SWARM_LOOP_MINUTES minutes)")"
    elif ((failed >= SWARM_LOOP_FAILURES)); then
      problem down "$svc" "$svc is restarting in a loop: $failed of its tasks failed in the last $SWARM_LOOP_MINUTES minutes; the last ended $last"
    fi
    if [[ -n $started ]]; then
      timeout 60 docker service logs --raw --since "$started" "$svc" >"$WORK/logs" 2>&1 || continue
      n=$(count_error_lines "$WORK/logs")
      ((n == 0)) || problem errors "$svc" "$svc wrote $n error line(s) since its task was created at $(iso "$started") (see: docker service logs --since $(iso "$started") $svc)"
    fi
  done

  # Memory and CPU against the service's limits, as watch.sh judges a container's (docker stats: CPU in % of one CPU).
  for engine in "${!TASKS_ON[@]}"; do
    # shellcheck disable=SC2086 # container ids, one word each
    while read -r cid mem cpu; do
      svc=${SERVICE_OF[$cid]:-}
      [[ -n $svc ]] || continue
      m=$(pct_x100 "$mem") u=$(pct_x100 "$cpu")
      ((m < MEMORY_PERCENT * 100)) || problem memory "$svc" "$svc uses $mem of its memory limit (criterion: under $MEMORY_PERCENT %)"
      nano=${NANO_OF[$svc]:-0}
      if ((nano > 0 && u >= 0)); then
        of_limit=$((u * 1000000000 / nano))
        ((of_limit < CPU_PERCENT * 100)) ||
          problem cpu "$svc" "$svc uses $((of_limit / 100)).$(printf '%02d' $((of_limit % 100))) % of its CPU limit (criterion: under $CPU_PERCENT %)"
      fi
    done < <(DOCKER_HOST=$engine docker stats --no-stream --no-trunc --format '{{.Container}} {{.MemPerc}} {{.CPUPerc}}' ${TASKS_ON[$engine]} 2>/dev/null)
  done

  for mount in "${SWARM_VOLUME_MOUNTS[@]}"; do
    svc=${mount%%:*} path=${mount#*:}
    c=$(DOCKER_HOST=$SWARM_DATA_HOST docker ps -q --filter "label=com.docker.swarm.service.name=$svc" --filter status=running 2>/dev/null | head -n 1) || c=''
    [[ -n $c ]] || continue
    use=$(DOCKER_HOST=$SWARM_DATA_HOST docker exec "$c" df -P "$path" 2>/dev/null | { read -r _ && read -r _ _ _ _ pct _ && echo "${pct%\%}"; }) || use=''
    [[ $use =~ ^[0-9]+$ ]] || continue
    ((use < DISK_PERCENT)) ||
      problem disk "volumes on $SWARM_DATA_NODE" "the filesystem of the volumes on $SWARM_DATA_NODE is $use % full (measured at $path in $svc; threshold: $DISK_PERCENT %)"
    return 0
  done
}
