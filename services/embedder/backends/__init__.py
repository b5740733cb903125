"""Embedding backends: one module per model and runtime, named by ``shared.models.MODELS``.

A backend module declares its model's spec (``SPEC``: name, dimensions, input
size, from the registry), its ``standardize(pixels)`` (uint8 face pixels at
the input size -> float32 model input) and ``load(settings)``, which returns
the forward pass: a function from a float32 batch ``(n, size, size, 3)`` to raw
vectors ``(n, dimensions)``. Everything else (crop, margin, resize, batching,
normalisation) is the embedder's and the same for every model.

A model's reference backend (``ModelSpec.backend``) is its runtime ``keras``;
other runtimes of the same weights (``ModelSpec.runtimes``) are backends of
their own with the same ``SPEC`` and ``standardize``, whose ``load`` checks
their output against the reference before returning the forward pass. One of
reduced precision (vectors close to the reference's, not equal) declares
``EXACT = False``: it runs only when named, never as ``EMBEDDER_RUNTIME=auto``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from shared.model_cache import available_cpus, cgroup_cpu_quota
from shared.models import MODELS, REFERENCE_RUNTIME, runtimes_of


def backend_of(model: str, runtime: str = REFERENCE_RUNTIME) -> ModuleType:
    if model not in MODELS:
        raise ValueError(f"unknown embedding model {model!r}; known: {', '.join(MODELS)}")
    modules = runtimes_of(model)
    if runtime not in modules:
        raise ValueError(f"model {model} has no runtime {runtime!r}; it has: {', '.join(modules)}")
    return importlib.import_module(f"{__name__}.{modules[runtime]}")


def cpu_threads(settings) -> int:
    """Intra-op threads for a runtime: ``EMBEDDER_THREADS``, or (0) the CPUs this process may use.

    Those are the CPUs of its affinity mask (``taskset``, ``docker --cpuset-cpus``),
    fewer if a cgroup v2 CPU quota (``docker --cpus``) allows less. Copies of the
    embedder on one host should each get their own CPUs (or ``EMBEDDER_THREADS``
    = their share), or their threads fight over the same cores.
    """
    configured = int(getattr(settings, "embedder_threads", 0) or 0)
    if configured < 0:
        raise ValueError(f"EMBEDDER_THREADS must be 0 (the CPUs available) or more, not {configured}")
    if configured:
        return configured
    return available_cpus(_cgroup_cpu_quota())


# Module-level, so that cpu_threads looks it up at each call (the tests replace it).
_cgroup_cpu_quota = cgroup_cpu_quota
