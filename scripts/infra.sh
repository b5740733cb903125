#!/usr/bin/env bash
# Start the local infrastructure if it is not already answering. Idempotent.
#   RabbitMQ: Debian's rabbitmq-server, detached, on 5672.
#   MongoDB:  if MONGO_URI (default mongodb://127.0.0.1:27017/) answers, it is
#             used as it is (a real MongoDB works unchanged); otherwise FerretDB
#             (built by setup.sh) is started on 127.0.0.1:27017 with data in var/.
set -euo pipefail
source "$(dirname "$0")/common.sh"

amqp_up() { "$PY" - <<'PY' 2>/dev/null
import os, pika
pika.BlockingConnection(pika.URLParameters(os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))).close()
PY
}
mongo_up() { "$PY" - <<'PY' 2>/dev/null
import os, pymongo
pymongo.MongoClient(os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/"), serverSelectionTimeoutMS=1500).admin.command("ping")
PY
}
wait_for() {  # wait_for NAME SECONDS CHECK
  local name="$1" secs="$2"; shift 2
  for _ in $(seq "$secs"); do "$@" && return 0; sleep 1; done
  die "$name did not come up within ${secs}s (see $VAR_DIR/log/)"
}

if ! amqp_up; then
  say "starting RabbitMQ"
  if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
    as_root rabbitmq-server -detached
  fi
  as_root rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 || true
  wait_for RabbitMQ 60 amqp_up
fi

if ! mongo_up; then
  if [ -n "${MONGO_URI:-}" ] && [[ "$MONGO_URI" != *"127.0.0.1:27017"* ]] && [[ "$MONGO_URI" != *"localhost:27017"* ]]; then
    die "MONGO_URI=$MONGO_URI does not answer"
  fi
  say "starting FerretDB on 127.0.0.1:27017 (data in $VAR_DIR/ferretdb)"
  nohup "$FERRETDB_BIN" -listen 127.0.0.1:27017 -data "$VAR_DIR/ferretdb" >>"$VAR_DIR/log/ferretdb.log" 2>&1 &
  echo $! > "$VAR_DIR/run/ferretdb.pid"
  wait_for FerretDB 30 mongo_up
fi
say "infrastructure up: RabbitMQ and $( [ -f "$VAR_DIR/run/ferretdb.pid" ] && kill -0 "$(cat "$VAR_DIR/run/ferretdb.pid")" 2>/dev/null && echo FerretDB || echo 'the MongoDB at MONGO_URI' )"
