"""The embedder's model: chosen by ``EMBEDDER_MODEL``, run on ``EMBEDDER_RUNTIME``, loaded through its backend.

``EMBEDDER_MODEL=auto`` tries the models of ``shared.models.AUTO`` in order
(the 512-d download first) and keeps the first that loads.
``EMBEDDER_RUNTIME=auto`` tries the model's runtimes (``ModelSpec.runtimes``,
fastest first) and falls back to its reference runtime ``keras``: each runtime
checks itself at load (an exact one gives the reference's vectors; the int8 one
passed its calibration check: the model's threshold still makes no error on the
data set) and one that fails is skipped. ``EMBEDDER_RUNTIME=exact`` tries only
the exact ones. A named runtime (``keras``, ``onnxruntime``, ``openvino``,
``onnxruntime-int8``) must load, or the start fails. Backends live in ``services/embedder/backends/``; this module only
chooses and feeds them.
"""
from __future__ import annotations

import logging
from types import ModuleType

import numpy as np

from services.embedder.backends import backend_of, cpu_threads
from services.embedder.preprocessing import face_pixels, l2_normalize
from shared.models import AUTO, MODELS, REFERENCE_RUNTIME, runtimes_of

log = logging.getLogger(__name__)


class Embedder:
    """Crops in, L2-normalised vectors out, with the model's own preprocessing."""

    def __init__(self, backend: ModuleType, forward, runtime: str = REFERENCE_RUNTIME):
        self.backend = backend
        self.spec = backend.SPEC
        self.runtime = runtime
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
    """The :class:`Embedder` for ``settings.embedder_model`` (a model name or ``auto``)
    on ``settings.embedder_runtime`` (a runtime name, ``auto`` or ``exact``)."""
    choice = settings.embedder_model
    if choice != "auto":
        if choice not in MODELS:
            raise ValueError(f"EMBEDDER_MODEL must be auto or one of {', '.join(MODELS)}, not {choice!r}")
        return _load_runtime(choice, settings)
    for i, name in enumerate(AUTO):
        try:
            return _load_runtime(name, settings)
        except Exception as exc:  # noqa: BLE001 - any download/verify failure means: try the next
            if i == len(AUTO) - 1:
                raise
            log.warning("model %s unavailable (%s); trying %s", name, exc, AUTO[i + 1])
    raise AssertionError("unreachable")


def _load_runtime(model: str, settings) -> Embedder:
    """``model`` on the configured runtime; with ``auto`` (``exact``) the first
    of its (exact) runtimes that loads."""
    choice = getattr(settings, "embedder_runtime", "auto") or "auto"
    runtimes = list(runtimes_of(model))
    if choice not in ("auto", "exact"):
        if choice not in runtimes:
            raise ValueError(f"EMBEDDER_RUNTIME={choice!r}: model {model} runs on auto, exact, {', '.join(runtimes)}")
        return _loaded(model, choice, settings)
    candidates = [r for r in runtimes if choice == "auto" or r == REFERENCE_RUNTIME or _exact(model, r)]
    for i, runtime in enumerate(candidates):
        try:
            return _loaded(model, runtime, settings)
        except Exception as exc:  # noqa: BLE001 - a runtime that fails to load or to verify: the next one
            if runtime == REFERENCE_RUNTIME or i == len(candidates) - 1:
                raise
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("model %s: runtime %s unavailable (%s); trying %s", model, runtime, reason, candidates[i + 1])
    raise AssertionError("unreachable")


def _exact(model: str, runtime: str) -> bool:
    """Whether ``exact`` may pick ``runtime``: a backend of reduced precision says ``EXACT = False``."""
    try:
        return bool(getattr(backend_of(model, runtime), "EXACT", True))
    except ImportError:
        return True  # let loading it fail and say why


def _loaded(model: str, runtime: str, settings) -> Embedder:
    backend = backend_of(model, runtime)
    if runtime == REFERENCE_RUNTIME and getattr(settings, "embedder_threads", 0):
        _tensorflow_threads(cpu_threads(settings))
    embedder = Embedder(backend, backend.load(settings), runtime)
    log.info("embedding model %s on runtime %s (%s, %d intra-op threads)",
             model, runtime, backend.__name__.rsplit(".", 1)[-1], cpu_threads(settings))
    return embedder


def _tensorflow_threads(threads: int) -> None:
    """EMBEDDER_THREADS for the Keras runtime (TensorFlow's default: every CPU available); only before TF runs."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError as exc:  # TensorFlow already ran an op in this process
        log.warning("EMBEDDER_THREADS=%d not applied to TensorFlow: %s", threads, exc)
