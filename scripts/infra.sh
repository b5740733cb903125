#!/usr/bin/env bash
# Start the local infrastructure if it is not already answering. Idempotent.
#   RabbitMQ: Debian's rabbitmq-server, detached, on 5672, with its Prometheus
#             plugin (per-queue depth and consumers) on 127.0.0.1:15692.
#   MongoDB:  if MONGO_URI (default mongodb://127.0.0.1:27017/) accepts writes,
#             it is used as it is (a real MongoDB works unchanged); otherwise
#             FerretDB (built by setup.sh) is started on 127.0.0.1:27017 with its
#             data in $STATE_DIR (default ~/.local/state/attendance-tracker).
set -euo pipefail
source "$(dirname "$0")/common.sh"

amqp_up() { "$PY" - <<'PY' 2>/dev/null
import os, pika
pika.BlockingConnection(pika.URLParameters(os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))).close()
PY
}
# A write, not a ping: a server can answer ping and still be unable to store
# anything (e.g. a FerretDB whose data directory was deleted under it).
mongo_up() { "$PY" - <<'PY' 2>/dev/null
import os, pymongo
client = pymongo.MongoClient(os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/"), serverSelectionTimeoutMS=1500)
client["attendance_infra_check"]["probe"].insert_one({"ok": 1})
client.drop_database("attendance_infra_check")
PY
}
rabbitmq_metrics_up() { "$PY" - <<'PY' 2>/dev/null
import urllib.request
urllib.request.urlopen("http://127.0.0.1:15692/metrics/detailed?family=queue_consumer_count", timeout=3).close()
PY
}
# Our FerretDB (tools/ferretdb), recognised by its command line, whichever
# checkout or ASSETS_DIR built it: a pid file can be stale or elsewhere.
ferretdb_pids() { pgrep -f "bin/ferretdb -listen 127.0.0.1:27017 -data " || true; }
ferretdb_running() { [ -n "$(ferretdb_pids)" ]; }
wait_for() {  # wait_for NAME SECONDS LOG CHECK
  local name="$1" secs="$2" logfile="$3"; shift 3
  for _ in $(seq "$secs"); do "$@" && return 0; sleep 1; done
  die "$name did not come up within ${secs}s (see $logfile)"
}

if ! amqp_up; then
  say "starting RabbitMQ"
  if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
    as_root rabbitmq-server -detached
  fi
  as_root rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 || true
  wait_for RabbitMQ 60 /var/log/rabbitmq/ amqp_up
fi

# RabbitMQ's Prometheus plugin: the per-queue depth and consumers that the alerts, the
# dashboard and the local Prometheus (MONITORING=1 make run) read. On loopback only:
# advanced.config keeps it there across broker restarts, the eval for the running node.
# Idempotent and harmless (nothing else changes); a broker elsewhere is left alone.
LISTENER='[{ip, "127.0.0.1"}, {port, 15692}]'
if [ -d /etc/rabbitmq ] && ! as_root test -e /etc/rabbitmq/advanced.config; then
  echo "[{rabbitmq_prometheus, [{tcp_config, $LISTENER}]}]." | as_root tee /etc/rabbitmq/advanced.config >/dev/null
fi
if ! rabbitmq_metrics_up && as_root rabbitmqctl -q status >/dev/null 2>&1; then
  say "enabling RabbitMQ's Prometheus plugin on 127.0.0.1:15692"
  if as_root rabbitmqctl -q eval "application:load(rabbitmq_prometheus),
        application:set_env(rabbitmq_prometheus, tcp_config, $LISTENER)." >/dev/null &&
     as_root rabbitmq-plugins -q enable rabbitmq_prometheus >/dev/null; then
    wait_for "RabbitMQ's Prometheus plugin" 30 /var/log/rabbitmq/ rabbitmq_metrics_up
  else
    say "warning: could not enable rabbitmq_prometheus: no per-queue metrics (the services do not need them)"
  fi
fi

if ! mongo_up; then
  if ferretdb_running; then
    say "FerretDB ($(ferretdb_pids | tr '\n' ' ')) does not store data; restarting it"
    kill $(ferretdb_pids); sleep 1
  elif [ -n "${MONGO_URI:-}" ] && [[ "$MONGO_URI" != *"127.0.0.1:27017"* ]] && [[ "$MONGO_URI" != *"localhost:27017"* ]]; then
    die "MONGO_URI=$MONGO_URI does not accept writes"
  fi
  say "starting FerretDB on 127.0.0.1:27017 (data in $FERRETDB_DATA)"
  nohup "$FERRETDB_BIN" -listen 127.0.0.1:27017 -data "$FERRETDB_DATA" >>"$STATE_DIR/ferretdb.log" 2>&1 &
  echo $! > "$FERRETDB_PID"
  wait_for FerretDB 30 "$STATE_DIR/ferretdb.log" mongo_up
fi
say "infrastructure up: RabbitMQ and $(ferretdb_running && echo "FerretDB" || echo 'the MongoDB at MONGO_URI')"
