"""ONNX copies of a Keras reference backend's model, converted once per weights file.

The ONNX Runtime and OpenVINO backends run the very model of a Keras backend
(same graph, same weights), exported to ONNX with tf2onnx. The export is done
at the embedder's start when the cache has no copy for the current weights, and
kept under ``<ASSETS_DIR>/converted/``; its file name carries the sha256 of the
weights file, the tf2onnx version, the opset and :data:`RECIPE`, so changed
weights (or a changed conversion) are converted anew and a stale copy is never
used.

Why at start and not in scripts/setup.sh: the embedder then needs nothing but
its weights file, wherever it runs (``make run``, a Docker image, a test with
another ``ASSETS_DIR``), and a replaced weights file cannot leave a stale copy
in use. The cost is one conversion (45-60 s on the project's 2-core machine)
on the first start per weights file; ``python -m
services.embedder.backends.onnx_export`` does it ahead of time (for a Docker
image build or setup). Where the cache cannot be written the runtime fails to
load, and ``EMBEDDER_RUNTIME=auto`` falls back to ``keras``.

The conversion runs in a child process, so the embedder never imports
TensorFlow for it (its memory and start time stay those of the runtime alone),
and it is serialised by a file lock: copies starting together convert once.
With the copy, the Keras model's output on a fixed synthetic input
(:func:`check_input`) is stored; :func:`verify` compares a runtime's output with
it at every start (one forward pass of two images), so a runtime that computes
something else fails to load instead of making wrong vectors.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import subprocess  # noqa: F401 - kept importable as onnx_export.subprocess (tests patch its run)
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

import numpy as np

from shared.model_cache import cache_dir, locked, run_converter, sha256_of  # noqa: F401 - shared with the detector

log = logging.getLogger(__name__)

# Bump when the conversion below changes: copies made by an older recipe are then ignored.
RECIPE = 1
OPSET = 17
INPUT_NAME = "images"
# The output of an exact runtime on the check input: cosine to the Keras
# reference at least this (measured: 1 - 2e-7 for ONNX Runtime and OpenVINO f32).
EXACT_MIN_COSINE = 0.9999


@dataclass(frozen=True)
class Converted:
    onnx: Path
    check: Path  # .npz: images (the check input) and vectors (the Keras model's raw output)


def converted_paths(settings, reference: ModuleType) -> Converted:
    """Where the ONNX copy of ``reference``'s model with the current weights is (or will be) kept."""
    weights = reference.weights_path(settings)
    key = (f"{reference.SPEC.name}-{sha256_of(weights)[:16]}"
           f"-tf2onnx{metadata.version('tf2onnx')}-opset{OPSET}-r{RECIPE}")
    folder = cache_dir(settings)
    return Converted(onnx=folder / f"{key}.onnx", check=folder / f"{key}.check.npz")


def check_input(size: int, standardize) -> np.ndarray:
    """Two fixed images (smooth random shapes plus fine noise, like a photo more than white noise is), standardised."""
    import cv2

    rng = np.random.default_rng(20170512)
    images = []
    for _ in range(2):
        coarse = rng.integers(0, 256, (8, 8, 3)).astype(np.float32)
        smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        pixels = np.clip(smooth + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
        images.append(standardize(pixels))
    return np.stack(images).astype(np.float32)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def verify(forward, converted: Converted, min_cosine: float, runtime: str) -> float:
    """Run ``forward`` on the stored check input; raise unless it matches the Keras output."""
    with np.load(converted.check) as data:
        images, expected = data["images"], data["vectors"]
    worst = float(cosines(np.asarray(forward(images), np.float32), expected).min())
    if not worst >= min_cosine:
        raise RuntimeError(f"{runtime}: cosine {worst:.6f} to the Keras reference on the check input, "
                           f"below {min_cosine}: not the same model")
    log.info("%s verified against the Keras reference: cosine %.7f on the check input", runtime, worst)
    return worst


def ensure_converted(settings, reference: ModuleType, timeout: float = 900.0) -> Converted:
    """The ONNX copy for the current weights: from the cache, else converted now (in a child process)."""
    paths = converted_paths(settings, reference)
    if paths.onnx.is_file() and paths.check.is_file():
        return paths
    paths.onnx.parent.mkdir(parents=True, exist_ok=True)
    with locked(Path(f"{paths.onnx}.lock")):
        if paths.onnx.is_file() and paths.check.is_file():  # another copy converted while we waited
            return paths
        log.info("converting %s to ONNX (once per weights file) into %s", reference.__name__, paths.onnx)
        command = [sys.executable, "-m", "services.embedder.backends.onnx_export", "--backend", reference.__name__,
                   "--weights", reference.weights_path(settings), "--onnx", str(paths.onnx),
                   "--check", str(paths.check)]
        run_converter(command, reference.__name__, timeout)
    if not (paths.onnx.is_file() and paths.check.is_file()):
        raise RuntimeError(f"ONNX conversion of {reference.__name__} left no {paths.onnx}")
    return paths


def convert(reference: ModuleType, settings, onnx_path: Path, check_path: Path) -> None:
    """Export ``reference.build_model(settings)`` to ONNX, with its output on the check input (in this process)."""
    import tensorflow as tf
    import tf2onnx

    size = reference.SPEC.image_size
    model = reference.build_model(settings)
    signature = [tf.TensorSpec([None, size, size, 3], tf.float32, name=INPUT_NAME)]
    # The same function as keras_graph.compiled_forward, with a named input.
    forward = tf.function(lambda images: model(images, training=False), input_signature=signature, autograph=False)
    images = check_input(size, reference.standardize)
    vectors = forward(images).numpy()
    part = f".{os.getpid()}.part"
    onnx_tmp, check_tmp = Path(str(onnx_path) + part), Path(str(check_path) + part)
    try:
        tf2onnx.convert.from_function(forward, input_signature=signature, opset=OPSET, output_path=str(onnx_tmp))
        with open(check_tmp, "wb") as f:
            np.savez(f, images=images, vectors=vectors)
        os.replace(check_tmp, check_path)
        os.replace(onnx_tmp, onnx_path)  # last: its presence means both files are complete
    finally:
        for tmp in (onnx_tmp, check_tmp):
            tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    """Convert now. Without arguments: the 128-d model with the configured weights, into the cache."""
    from shared import config

    parser = argparse.ArgumentParser(description="Export a Keras embedding backend's model to ONNX.")
    parser.add_argument("--backend", default="services.embedder.backends.facenet_128_keras")
    parser.add_argument("--weights", help="weights file (default: the configured one)")
    parser.add_argument("--onnx", type=Path, help="output (default: the cache under ASSETS_DIR)")
    parser.add_argument("--check", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    reference = importlib.import_module(args.backend)
    settings = config.load()
    if args.weights:
        import dataclasses

        settings = dataclasses.replace(settings, facenet_h5_path=args.weights)
    if args.onnx is None:
        paths = ensure_converted(settings, reference)
        print(paths.onnx)
        return
    convert(reference, settings, args.onnx, args.check or Path(f"{args.onnx}.check.npz"))


if __name__ == "__main__":
    main()
