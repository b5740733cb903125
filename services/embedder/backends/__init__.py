"""Embedding backends: one module per model, named by ``shared.models.MODELS``.

A backend module declares its model's spec (``SPEC``: name, dimensions, input
size, from the registry), its ``standardize(pixels)`` (uint8 face pixels at
the input size -> float32 model input) and ``load(settings)``, which returns
the forward pass: a function from a float32 batch ``(n, size, size, 3)`` to raw
vectors ``(n, dimensions)``. Everything else (crop, margin, resize, batching,
normalisation) is the embedder's and the same for every model.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from shared.models import MODELS


def backend_of(model: str) -> ModuleType:
    if model not in MODELS:
        raise ValueError(f"unknown embedding model {model!r}; known: {', '.join(MODELS)}")
    return importlib.import_module(f"{__name__}.{MODELS[model].backend}")
