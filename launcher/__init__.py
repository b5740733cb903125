"""Run the services on one machine: ``python -m launcher up | down | status``
(behind ``make run`` and ``make stop``), and the supervisor the end-to-end
tests and benchmarks start their own stacks with.

- ``plan.py``: what to run, derived from ``shared.pipeline.SERVICES`` (pure)
- ``policy.py``: restart or not, and the backoff delay (pure)
- ``supervisor.py``: starts, watches, restarts and stops the processes
- ``cli.py``: the commands and the detached supervisor process
- ``stack.py``: a stack of its own (RabbitMQ vhost, database) for tests and benchmarks
- ``prometheus.py``: the local Prometheus of ``MONITORING=1`` (config from the plan)
"""
