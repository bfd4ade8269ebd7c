#!/bin/sh
# Entry point of the workbench image: the job store's URL (it holds the database password) comes from
# a file, $WORKBENCH_STORE_URL_FILE (a compose or Kubernetes secret), or from $WORKBENCH_STORE_URL, so it
# is never on a command line (which every user of the host can read in ps). Then runs the command.
set -eu
if [ -n "${WORKBENCH_STORE_URL_FILE:-}" ]; then
    if [ ! -r "$WORKBENCH_STORE_URL_FILE" ]; then
        echo "workbench-entrypoint: WORKBENCH_STORE_URL_FILE $WORKBENCH_STORE_URL_FILE cannot be read" >&2
        exit 2
    fi
    WORKBENCH_STORE_URL=$(cat "$WORKBENCH_STORE_URL_FILE")
    export WORKBENCH_STORE_URL
    unset WORKBENCH_STORE_URL_FILE
fi
exec "$@"
