"""Common package of the attendance-tracker services.

config     - every setting, read from environment variables in one place
contracts  - the versioned message contracts all services exchange
broker     - RabbitMQ topology, publisher with confirms, the generic worker loop
storage    - MongoDB access (persons, faces) and its indexes
imaging    - image decoding and array (de)serialisation shared by the workers
metrics    - Prometheus metrics and the health/metrics HTTP endpoint of workers
logs       - logging setup
"""
