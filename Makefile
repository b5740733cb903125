# The two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: run stop setup infra test unit e2e bench

run:            ## set up what is missing, start everything, print the gateway's address
	scripts/run.sh

stop:           ## stop the services started by `make run`
	scripts/stop.sh

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

bench: infra    ## benchmarks: threshold choice, latency, reports at scale (reports in bench/reports/)
	$(PY) bench/threshold.py
	$(PY) bench/latency.py
	$(PY) bench/reports_at_scale.py
