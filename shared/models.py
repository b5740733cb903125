"""What the services must know about each FaceNet model, without loading it.

The embedder uses this to preprocess; the matcher to pick the default
threshold of the model that made a vector. Loading lives in
``services/embedder/models.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

VGGFACE2_512 = "20180402-114759"
MSCELEB_128 = "20170512-110547"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dimensions: int
    # True: (x - 127.5) / 127.5, as 20180402-114759 was trained;
    # False: per-image prewhitening, as 20170512-110547 was trained.
    fixed_standardization: bool
    # Cosine similarity at or above which two faces are taken as one person.
    default_threshold: float
    # Margin around the MTCNN box, as a fraction of the box on each side. Both
    # models were trained on MTCNN crops with a 32 px margin at 160 px
    # (davidsandberg/facenet align_dataset_mtcnn), keras-facenet's crop uses
    # 16 px per side: about a tenth of the face box.
    margin: float = 0.1
    image_size: int = 160


SPECS = {
    # 0.42: davidsandberg/facenet's LFW validation of this model settles on a
    # squared L2 distance of about 1.16 between unit vectors = cosine 1 - 1.16/2.
    # Not measured here: its weights cannot be downloaded on the project's machines.
    VGGFACE2_512: ModelSpec(VGGFACE2_512, 512, True, 0.42),
    # 0.42: measured with bench/threshold.py on the 5-celebrity data set (117
    # photos, leave-one-photo-out): genuine scores >= 0.467, impostor scores
    # <= 0.375; 0.42 is the middle of the error-free range 0.38-0.465.
    MSCELEB_128: ModelSpec(MSCELEB_128, 128, False, 0.42),
}


def threshold_for(model: str, override: float | None) -> float:
    if override is not None:
        return override
    spec = SPECS.get(model)
    if spec is None:
        raise KeyError(f"unknown embedding model {model!r}")
    return spec.default_threshold
