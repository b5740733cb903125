"""The embedding models, registered by name: what every service must know of
each without loading it.

The embedder loads a model through its ``backend`` (a module under
``services/embedder/backends/`` that declares the preprocessing and the forward
pass); the matcher uses ``default_threshold`` for the vectors a model made; the
detector's crop must leave room for every model's ``margin``. Adding a model:
one backend module plus one line in ``MODELS`` below.

A model may also run on other runtimes (``runtimes``: ONNX Runtime, OpenVINO)
than its reference backend (``keras``). They run the same weights and give the
same vectors (one of reduced precision, int8, only when named: vectors close
enough that the threshold still holds), so they share the model's name: every
stored vector records the model, never the runtime, and the gallery does not
split by runtime.
"""
from __future__ import annotations

from dataclasses import dataclass, field

VGGFACE2_512 = "20180402-114759"
MSCELEB_128 = "20170512-110547"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dimensions: int
    # Cosine similarity at or above which two faces are taken as one person.
    default_threshold: float
    # Module under services/embedder/backends/ that loads and runs the model.
    backend: str
    # Margin around the MTCNN box, as a fraction of the box on each side. Both
    # FaceNet models were trained on MTCNN crops with a 32 px margin at 160 px
    # (davidsandberg/facenet align_dataset_mtcnn), keras-facenet's crop uses
    # 16 px per side: about a tenth of the face box.
    margin: float = 0.1
    image_size: int = 160
    # Other runtimes of the same weights, runtime name -> backend module; each
    # checks its vectors against ``backend`` at load. EMBEDDER_RUNTIME=auto
    # tries them in this order, fastest first as measured with bench/embedder.py,
    # then the reference backend, runtime "keras"; EMBEDDER_RUNTIME=exact only
    # the exact ones (cosine >= 0.9999; a reduced-precision backend says
    # ``EXACT = False`` and must pass its own calibration check to load).
    runtimes: dict[str, str] = field(default_factory=dict, hash=False)


MODELS = {
    # 0.42: davidsandberg/facenet's LFW validation of this model settles on a
    # squared L2 distance of about 1.16 between unit vectors = cosine 1 - 1.16/2.
    # Not measured here: its weights cannot be downloaded on the project's machines.
    VGGFACE2_512: ModelSpec(VGGFACE2_512, 512, 0.42, backend="facenet_512_keras"),
    # 0.42: measured with bench/threshold.py on the 5-celebrity data set (117
    # photos, leave-one-photo-out): genuine scores >= 0.467, impostor scores
    # <= 0.375; 0.42 is the middle of the error-free range 0.38-0.465.
    MSCELEB_128: ModelSpec(MSCELEB_128, 128, 0.42, backend="facenet_128_keras",
                           runtimes={"onnxruntime-int8": "facenet_128_onnx_int8", "onnxruntime": "facenet_128_onnx",
                                     "openvino": "facenet_128_openvino"}),
}
SPECS = MODELS  # the name the older code and tests use

# EMBEDDER_MODEL=auto: the first of these that loads.
AUTO = (VGGFACE2_512, MSCELEB_128)

# The runtime of every model's reference backend (``ModelSpec.backend``).
REFERENCE_RUNTIME = "keras"


def runtimes_of(model: str) -> dict[str, str]:
    """Runtime name -> backend module for ``model``: its ``runtimes`` in auto order, then the reference."""
    spec = MODELS[model]
    return {**spec.runtimes, REFERENCE_RUNTIME: spec.backend}


# Near misses: a face below the match threshold but within this much of it is
# shown for review (shared.models.review_floor_for; settable at run time).
DEFAULT_REVIEW_BAND = 0.12


def review_floor_for(model: str, threshold: float) -> float:
    return round(threshold - DEFAULT_REVIEW_BAND, 4)


def threshold_for(model: str, override: float | None) -> float:
    if override is not None:
        return override
    spec = MODELS.get(model)
    if spec is None:
        raise KeyError(f"unknown embedding model {model!r}")
    return spec.default_threshold
