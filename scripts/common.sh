# Sourced by the other scripts: paths and small helpers.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
VAR_DIR="${VAR_DIR:-$ROOT/var}"
ASSETS_DIR="${ASSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attendance-tracker}"
export ASSETS_DIR
FERRETDB_BIN="$ASSETS_DIR/bin/ferretdb"
# FerretDB outlives any one checkout, so its data and pid file live outside it.
STATE_DIR="${STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/attendance-tracker}"
FERRETDB_DATA="$STATE_DIR/ferretdb"
FERRETDB_PID="$STATE_DIR/ferretdb.pid"
DATASET_DIR="$ASSETS_DIR/5-celebrity-faces-dataset"
mkdir -p "$VAR_DIR/log" "$VAR_DIR/run" "$STATE_DIR"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
