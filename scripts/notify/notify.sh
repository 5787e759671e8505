#!/usr/bin/env bash
# Tells the user something went wrong (a failed or late scheduled backup, ...): a persistent notification
# in Home Assistant through its REST API, and/or a POST to a webhook (ntfy or any URL that takes a text
# body). Run by scripts/schedule/tick.sh and by hand; contract in README.md here.
#
# Secrets (HOMEIQ_HA_TOKEN, HOMEIQ_NOTIFY_WEBHOOK_URL: an ntfy topic is as good as a password) come from
# the environment only and reach curl on its stdin (`--config -`), never in an argv, never printed.
# Never add `set -x` here.
set -euo pipefail

LOG_TAG=homeiq-notify
EXIT_USAGE=2
EXIT_DELIVERY=4
log() { printf '[%s] %s\n' "$LOG_TAG" "$*"; }
die() {
  local code=$1
  shift
  printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2
  exit "$code"
}

# json_str <text>: a JSON string literal. Control characters other than \n \r \t are dropped.
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')
  printf '"%s"' "$s"
}

# curl_config_str <text>: a double-quoted string for a curl config file, which is read line by line and
# unescapes \\ \" \n \r \t inside quotes.
curl_config_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

TITLE=${HOMEIQ_NOTIFY_TITLE:-}
MESSAGE=${HOMEIQ_NOTIFY_MESSAGE:-}
[[ -n $TITLE ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_NOTIFY_TITLE is required (one line of text)"
[[ -n $MESSAGE ]] || die "$EXIT_USAGE" "environment variable HOMEIQ_NOTIFY_MESSAGE is required (text)"
TITLE=${TITLE//[$'\r\n']/ }
# Home Assistant and ntfy show a few lines well; a whole log does not belong in a notification.
MAX=${HOMEIQ_NOTIFY_MAX_CHARS:-3000}
[[ $MAX =~ ^[1-9][0-9]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_NOTIFY_MAX_CHARS must be a positive integer (got '$MAX')"
if ((${#MESSAGE} > MAX)); then MESSAGE="${MESSAGE:0:MAX} [...]"; fi
NOTIFY_ID=${HOMEIQ_NOTIFY_ID:-}
[[ -z $NOTIFY_ID || $NOTIFY_ID =~ ^[a-z0-9_]+$ ]] ||
  die "$EXIT_USAGE" "HOMEIQ_NOTIFY_ID must be lower-case letters, digits and _ (got '$NOTIFY_ID')"
TIMEOUT=${HOMEIQ_NOTIFY_TIMEOUT_SECONDS:-20}
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "$EXIT_USAGE" "HOMEIQ_NOTIFY_TIMEOUT_SECONDS must be a positive integer (got '$TIMEOUT')"

HA_URL=${HOMEIQ_HA_URL:-}
if [[ -n $HA_URL ]]; then
  # The stack's homeAssistantUrl may be the websocket URL the services use: the REST API is on the same
  # host and port over http(s).
  case $HA_URL in
    ws://*) HA_URL=http://${HA_URL#ws://} ;;
    wss://*) HA_URL=https://${HA_URL#wss://} ;;
    http://* | https://*) ;;
    *) die "$EXIT_USAGE" "HOMEIQ_HA_URL must start with http://, https://, ws:// or wss:// (got '$HA_URL')" ;;
  esac
  [[ $HA_URL =~ ^https?://[^[:space:]@?#]+$ ]] ||
    die "$EXIT_USAGE" "HOMEIQ_HA_URL must be a base URL without spaces, user, query or fragment (got '$HA_URL')"
  HA_URL=${HA_URL%/}
  HA_URL=${HA_URL%/api/websocket}
  [[ -n ${HOMEIQ_HA_TOKEN:-} ]] || die "$EXIT_USAGE" "HOMEIQ_HA_TOKEN (Home Assistant long-lived access token, secret) is required when HOMEIQ_HA_URL is set"
fi
WEBHOOK=${HOMEIQ_NOTIFY_WEBHOOK_URL:-}
if [[ -n $WEBHOOK && ! $WEBHOOK =~ ^https?://[^[:space:]]+$ ]]; then
  die "$EXIT_USAGE" "HOMEIQ_NOTIFY_WEBHOOK_URL must be an http:// or https:// URL without spaces (value not shown: it may hold a secret topic)"
fi
command -v curl >/dev/null || die "$EXIT_USAGE" "curl is not on PATH (Debian: apt-get install curl)"

if [[ -z $HA_URL && -z $WEBHOOK ]]; then
  log "no notification channel is set (HOMEIQ_HA_URL, HOMEIQ_NOTIFY_WEBHOOK_URL): not sent: $TITLE"
  exit 0
fi

# post <what> <curl config on stdin>: runs curl with its whole request in a config read from stdin, so
# neither a token nor a webhook URL is in any process's argv. True on a 2xx answer.
post() {
  local what=$1 code errf
  errf=$(mktemp "${TMPDIR:-/tmp}/homeiq-notify.XXXXXX")
  if ! code=$(curl --config - --silent --show-error --output /dev/null --write-out '%{http_code}' \
    --max-time "$TIMEOUT" --request POST 2>"$errf"); then
    printf '[%s] WARNING: %s: not delivered: %s\n' "$LOG_TAG" "$what" "$(tail -n 1 "$errf")" >&2
    rm -f "$errf"
    return 1
  fi
  rm -f "$errf"
  if [[ ! $code =~ ^2[0-9][0-9]$ ]]; then
    printf '[%s] WARNING: %s: not delivered: HTTP %s\n' "$LOG_TAG" "$what" "$code" >&2
    return 1
  fi
  log "$what: delivered (HTTP $code)"
}

failed=0
if [[ -n $HA_URL ]]; then
  body="{\"title\": $(json_str "$TITLE"), \"message\": $(json_str "$MESSAGE")${NOTIFY_ID:+, \"notification_id\": \"$NOTIFY_ID\"}}"
  {
    printf 'url = %s\n' "$(curl_config_str "$HA_URL/api/services/persistent_notification/create")"
    printf 'header = %s\n' "$(curl_config_str "Authorization: Bearer $HOMEIQ_HA_TOKEN")"
    printf 'header = "Content-Type: application/json"\n'
    printf 'data-binary = %s\n' "$(curl_config_str "$body")"
  } | post "Home Assistant persistent notification at $HA_URL" || failed=1
fi
if [[ -n $WEBHOOK ]]; then
  # ntfy reads Title and Tags from headers and the message from the body; other webhooks get the text.
  {
    printf 'url = %s\n' "$(curl_config_str "$WEBHOOK")"
    printf 'header = %s\n' "$(curl_config_str "Title: $TITLE")"
    printf 'header = "Tags: warning"\n'
    printf 'header = "Content-Type: text/plain; charset=utf-8"\n'
    printf 'data-binary = %s\n' "$(curl_config_str "$MESSAGE")"
  } | post "webhook" || failed=1
fi
((failed == 0)) || die "$EXIT_DELIVERY" "a notification could not be delivered (see the warnings above): $TITLE"
