#!/usr/bin/env bash
# `make run`: set up what is missing, start broker and database, then
# `python -m launcher up`: a detached supervisor starts the services that are
# not running (one copy each; EMBEDDERS=N starts N embedders, likewise
# DETECTORS, MATCHERS), restarts any that dies, and this waits until all are
# ready and prints the gateway's address. Run again while up, it starts
# only what is missing or changed. `make stop` stops them; `make status` shows them.
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/infra.sh"
cd "$ROOT"
export VAR_DIR
exec "$PY" -m launcher up
