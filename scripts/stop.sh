#!/usr/bin/env bash
# Stop the services started by run.sh (the broker and database keep running;
# `scripts/stop.sh --all` stops FerretDB too).
set -uo pipefail
source "$(dirname "$0")/common.sh"
for pidfile in "$VAR_DIR"/run/*.pid; do
  [ -e "$pidfile" ] || continue
  name="$(basename "$pidfile" .pid)"
  [ "$name" = ferretdb ] && [ "${1:-}" != --all ] && continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then kill "$pid"; say "stopped $name ($pid)"; fi
  rm -f "$pidfile"
done
