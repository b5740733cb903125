"""FaceNet 20180402-114759 (VGGFace2, 512-d) through keras-facenet.

keras-facenet downloads the weights on first use into ``KERAS_FACENET_CACHE``
where the internet is reachable (on the project's own machines it is not, and
``EMBEDDER_MODEL=auto`` falls back to the 128-d model). Trained with fixed
image standardisation.
"""
from __future__ import annotations

from services.embedder.backends.keras_graph import compiled_forward
from services.embedder.preprocessing import fixed_standardize
from shared.models import MODELS, VGGFACE2_512

SPEC = MODELS[VGGFACE2_512]
standardize = fixed_standardize


def load(settings):
    from keras_facenet import FaceNet

    model = FaceNet(key=VGGFACE2_512, cache_folder=settings.keras_facenet_cache).model
    return compiled_forward(model, SPEC.image_size)
