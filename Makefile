# The two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: run run-monitoring stop status setup infra test unit e2e bench

run:            ## set up what is missing, start what is not running (supervised: restarted if they die), print the gateway's address
	scripts/run.sh

run-monitoring: ## `make run` and a local Prometheus with the alerts (deploy/prometheus/) on http://127.0.0.1:9090/ (same as MONITORING=1 make run)
	MONITORING=1 scripts/run.sh

stop:           ## stop the services started by `make run` and wait until they have exited
	scripts/stop.sh

status:         ## each service of `make run`: pid, port, restarts, ready
	@$(PY) -m launcher status

setup:          ## install what is missing (idempotent)
	scripts/setup.sh

infra: setup    ## start RabbitMQ and FerretDB if they are not running
	scripts/infra.sh

test: infra     ## set up what is missing and run the whole test suite
	$(PY) -m pytest tests

unit: setup     ## unit tests only (no broker, no database, no models)
	$(PY) -m pytest tests/unit

e2e: infra      ## end-to-end tests only
	$(PY) -m pytest tests/e2e

bench: infra    ## benchmarks against the real stack and the in-process baselines: writes docs/PERFORMANCE.md (about 17 min)
	$(PY) -m bench.performance
