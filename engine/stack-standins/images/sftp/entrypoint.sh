#!/bin/sh
set -eu
[ -n "${AUTHORIZED_KEY:-}" ] || { echo "AUTHORIZED_KEY is required" >&2; exit 2; }
printf '%s\n' "$AUTHORIZED_KEY" >/home/copies/.ssh/authorized_keys
chown copies:copies /home/copies/.ssh/authorized_keys
chmod 600 /home/copies/.ssh/authorized_keys
exec /usr/sbin/sshd -D -e
