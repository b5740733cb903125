"""The embedder's model: chosen by ``EMBEDDER_MODEL``, loaded through its backend.

``EMBEDDER_MODEL=auto`` tries the models of ``shared.models.AUTO`` in order
(the 512-d download first) and keeps the first that loads. Backends live in
``services/embedder/backends/``; this module only chooses and feeds them.
"""
from __future__ import annotations

import logging
from types import ModuleType

import numpy as np

from services.embedder.backends import backend_of
from services.embedder.preprocessing import face_pixels, l2_normalize
from shared.models import AUTO, MODELS

log = logging.getLogger(__name__)


class Embedder:
    """Crops in, L2-normalised vectors out, with the model's own preprocessing."""

    def __init__(self, backend: ModuleType, forward):
        self.backend = backend
        self.spec = backend.SPEC
        self._forward = forward

    def model_input(self, crop: np.ndarray, face_box) -> np.ndarray:
        return self.backend.standardize(face_pixels(crop, face_box, self.spec))

    def embed(self, crops: list[tuple[np.ndarray, list[int]]]) -> np.ndarray:
        if not crops:
            return np.zeros((0, self.spec.dimensions), dtype=np.float32)
        batch = np.stack([self.model_input(c, fb) for c, fb in crops]).astype(np.float32)
        raw = np.asarray(self._forward(batch))
        return l2_normalize(raw.astype(np.float32))

    def warm_up(self) -> None:
        """Trace the graph now (a second or two), not on the first job."""
        size = self.spec.image_size
        self.embed([(np.full((size, size, 3), 128, np.uint8), [0, 0, size, size])])


def load_model(settings) -> Embedder:
    """The :class:`Embedder` for ``settings.embedder_model`` (a model name or ``auto``)."""
    choice = settings.embedder_model
    if choice != "auto":
        if choice not in MODELS:
            raise ValueError(f"EMBEDDER_MODEL must be auto or one of {', '.join(MODELS)}, not {choice!r}")
        backend = backend_of(choice)
        return Embedder(backend, backend.load(settings))
    for i, name in enumerate(AUTO):
        backend = backend_of(name)
        try:
            return Embedder(backend, backend.load(settings))
        except Exception as exc:  # noqa: BLE001 - any download/verify failure means: try the next
            if i == len(AUTO) - 1:
                raise
            log.warning("model %s unavailable (%s); trying %s", name, exc, AUTO[i + 1])
    raise AssertionError("unreachable")
