#!/usr/bin/env bash
# What counts as an error line in a HomeIQ container's log (the review's "no error messages in the
# logs"): a line with an error level as HomeIQ's services and nginx write one. Case-insensitive:
#   ERROR, CRITICAL or FATAL as a word (Python logging's level names, "... - ERROR - ...");
#   a Python traceback ("Traceback (most recent call last)");
#   JSON "level"/"levelname"/"severity": "error" | "critical" | "fatal";
#   nginx's [error], [crit], [alert], [emerg];
# except nginx's "access forbidden by rule": the Docker API proxy refusing a call it must refuse (nginx
# logs every `deny` at error level), which is the proxy doing its job.
# The same rule as operate/status.ts ERROR_LINE (test/unit/errorLines.test.ts runs both on one set of lines).
#
# Sourced by validate.sh (count_error_lines <file>); run by itself, `bash error-lines.sh <file>`
# prints how many lines of <file> are error lines.
readonly RE_ERROR_LINE='(^|[^[:alnum:]_])(error|critical|fatal)([^[:alnum:]_]|$)|Traceback \(most recent call last\)|"(level|levelname|severity)"[[:space:]]*:[[:space:]]*"(error|critical|fatal)"|\[(error|crit|alert|emerg)\]'

# count_error_lines <file>: prints how many lines of the file are error lines.
count_error_lines() {
  local line n=0
  shopt -s nocasematch
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ $RE_ERROR_LINE && $line != *"access forbidden by rule"* ]] && n=$((n + 1))
  done <"$1"
  shopt -u nocasematch
  echo "$n"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  [[ $# -eq 1 && -r $1 ]] || {
    echo "usage: bash scripts/validate/error-lines.sh <log file>" >&2
    exit 2
  }
  count_error_lines "$1"
fi
