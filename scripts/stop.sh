#!/usr/bin/env bash
# Stop the services started by run.sh (`python -m launcher down`: the supervisor
# stops them and waits until they have exited). The broker and the database keep
# running; `scripts/stop.sh --all` stops FerretDB too.
set -uo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
export VAR_DIR
rc=0
if [ -x "$PY" ]; then "$PY" -m launcher down || rc=$?; fi
if [ "${1:-}" = --all ] && [ -f "$FERRETDB_PID" ] && kill -0 "$(cat "$FERRETDB_PID")" 2>/dev/null; then
  kill "$(cat "$FERRETDB_PID")" && say "stopped FerretDB"
  rm -f "$FERRETDB_PID"
fi
exit "$rc"
