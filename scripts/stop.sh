#!/usr/bin/env bash
# Stop the services started by run.sh. The broker and the database keep running;
# `scripts/stop.sh --all` stops FerretDB too.
set -uo pipefail
source "$(dirname "$0")/common.sh"
for pidfile in "$VAR_DIR"/run/*.pid; do
  [ -e "$pidfile" ] || continue
  name="$(basename "$pidfile" .pid)"
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then kill "$pid"; say "stopped $name ($pid)"; fi
  rm -f "$pidfile"
done
if [ "${1:-}" = --all ] && [ -f "$FERRETDB_PID" ] && kill -0 "$(cat "$FERRETDB_PID")" 2>/dev/null; then
  kill "$(cat "$FERRETDB_PID")" && say "stopped FerretDB"
  rm -f "$FERRETDB_PID"
fi
