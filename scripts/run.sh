#!/usr/bin/env bash
# `make run`: set up what is missing, start broker, database and the four
# services (one copy each) in the background, wait until all are ready and print
# the gateway's address. `make stop` stops the services.
# EMBEDDERS=N starts N embedder copies.
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/infra.sh"
"$ROOT/scripts/stop.sh" >/dev/null 2>&1 || true

export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
cd "$ROOT"
start() {  # start NAME [ENV=VALUE ...]
  local name="$1"; shift
  env "$@" nohup "$PY" -m "services.${name%%-*}" >>"$VAR_DIR/log/$name.log" 2>&1 &
  echo $! > "$VAR_DIR/run/$name.pid"
}
start detector
for i in $(seq "${EMBEDDERS:-1}"); do start "embedder-$i" HEALTH_PORT=$((9102 + 10 * (i - 1))); done
start matcher
start gateway

port="${GATEWAY_PORT:-8080}"
say "waiting for the services to be ready (logs in $VAR_DIR/log/)"
for _ in $(seq 180); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 \
     && curl -fsS http://127.0.0.1:9101/readyz >/dev/null 2>&1 \
     && curl -fsS http://127.0.0.1:9102/readyz >/dev/null 2>&1 \
     && curl -fsS http://127.0.0.1:9103/readyz >/dev/null 2>&1; then
    say "Attendance Tracker is running: http://127.0.0.1:$port/  (API under /api/v1; 'make stop' to stop)"
    exit 0
  fi
  sleep 1
done
die "the services did not become ready in 180 s; see $VAR_DIR/log/"
