"""Data sets the tests and benchmarks measure the system on (fetched by
``scripts/setup.sh`` into ``$ASSETS_DIR``, not kept in the repository)."""
