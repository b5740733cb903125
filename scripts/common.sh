# Sourced by the other scripts: paths and small helpers.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
VAR_DIR="${VAR_DIR:-$ROOT/var}"
ASSETS_DIR="${ASSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attendance-tracker}"
export ASSETS_DIR
FERRETDB_BIN="$ASSETS_DIR/bin/ferretdb"
DATASET_DIR="$ASSETS_DIR/5-celebrity-faces-dataset"
mkdir -p "$VAR_DIR/log" "$VAR_DIR/run"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
