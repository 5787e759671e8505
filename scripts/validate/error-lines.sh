#!/usr/bin/env bash
# What counts as an error line in a HomeIQ container's log (the review's "no error messages in the
# logs"): a line whose log LEVEL is an error, as HomeIQ's services and nginx write one, never the word
# "error" anywhere in a message ("errors: 0", a URL, an exception class in an INFO line):
#   a line with a level field (JSON "level"/"levelname"/"severity": "...", logfmt level=...) is judged
#   by that field alone: error, critical or fatal (any case);
#   otherwise ERROR, CRITICAL or FATAL in capitals as a word (Python logging's "... - ERROR - ...",
#   uvicorn's "ERROR:", SQLite's "FATAL:"), a Python traceback's first line, or nginx's [error],
#   [crit], [alert], [emerg];
# except nginx's "access forbidden by rule": the Docker API proxy refusing a call it must refuse (nginx
# logs every `deny` at error level), which is the proxy doing its job.
# A line with no level is not counted, though its message may describe a failure (Python's last-resort
# handler prints a record of a logger with no handler as its bare message).
# The same rule as operate/status.ts isErrorLine (test/process/errorLines.test.ts runs both on one set of lines).
#
# Sourced by validate.sh (count_error_lines <file>); run by itself, `bash error-lines.sh <file>`
# prints how many lines of <file> are error lines.
readonly RE_LEVEL_FIELD='"(level|levelname|severity)"[[:space:]]*:[[:space:]]*"([A-Za-z]*)"|(^|[[:space:]])level="?([A-Za-z]*)'
readonly RE_LEVEL_WORD='(^|[^[:alnum:]_])(ERROR|CRITICAL|FATAL)([^[:alnum:]_]|$)|^Traceback \(most recent call last\)|\[(error|crit|alert|emerg)\]'

# is_error_line <line>: true when the line is an error line.
is_error_line() {
  local line=$1 level
  [[ $line != *"access forbidden by rule"* ]] || return 1
  if [[ $line =~ $RE_LEVEL_FIELD ]]; then
    level=${BASH_REMATCH[2]}${BASH_REMATCH[4]}
    level=${level,,}
    [[ $level == error || $level == critical || $level == fatal ]]
    return
  fi
  [[ $line =~ $RE_LEVEL_WORD ]]
}

# count_error_lines <file>: prints how many lines of the file are error lines.
count_error_lines() {
  local line n=0
  while IFS= read -r line || [[ -n $line ]]; do
    ! is_error_line "$line" || n=$((n + 1))
  done <"$1"
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
