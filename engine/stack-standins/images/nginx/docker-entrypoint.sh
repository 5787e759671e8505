#!/bin/sh
# STAND-IN for nginx:alpine's /docker-entrypoint.sh: runs the *.sh scripts of
# /docker-entrypoint.d when the command is nginx (this image ships none), then execs the command.
set -e
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    for f in /docker-entrypoint.d/*.sh; do
        [ -x "$f" ] || continue
        echo "$0: launching $f"
        "$f"
    done
    echo "$0: Configuration complete; ready for start up"
fi
exec "$@"
