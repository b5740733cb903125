"""FaceNet 20170512-110547 (128-d) quantised to int8, on ONNX Runtime: runtime ``onnxruntime-int8``.

Reduced precision: chosen by ``EMBEDDER_RUNTIME=auto`` (first: the fastest)
when its calibration check below passed, never by ``EMBEDDER_RUNTIME=exact``.
About 3x the speed of the float32 runtimes on a CPU with AVX-512 VNNI
(bench/embedder.py: 8-10 ms of CPU per face against 24-30 ms for ONNX Runtime
float32 and 31-70 ms for Keras); its vectors are not equal to the Keras
reference's (cosine >= 0.997 on the data set, instead of 1 - 2e-7), but close
enough that the model's threshold still separates the data set's people
without error, against its own vectors and against a gallery enrolled with
another runtime.

How the int8 model is made, once per weights file and calibration set (at the
first start, in a child process; cached beside the ONNX export under
``<ASSETS_DIR>/converted/``):

* the float32 ONNX export of the Keras model (``onnx_export``) is quantised
  statically by ONNX Runtime's quantiser: QDQ format, int8 weights per
  channel, uint8 activations, entropy calibration; the first convolution and
  the last layer (the 128-d bottleneck) stay float32 (they cost little and
  carry most of the error);
* calibration faces: the train photos of the 5-celebrity data set
  (``<ASSETS_DIR>/5-celebrity-faces-dataset``, installed by scripts/setup.sh;
  the Docker image has no data set, so this runtime does not load there), the
  largest face of each found by MTCNN, cropped like the embedder crops;
* the calibration check, which must pass or no int8 model is written: on the
  val photos (not calibrated on) the cosine to the float32 model is at least
  :data:`MIN_FACE_COSINE`, and over all photos, leaving each photo out, the
  model's default threshold makes no error (genuine scores at or above it,
  impostor scores below it) with int8 vectors on both sides and with int8
  queries against float32 gallery vectors; its figures are kept in a
  ``.json`` beside the model.

At every start, like the exact runtimes, its output on the fixed check input is
compared with the Keras model's (here: cosine at least :data:`MIN_CHECK_COSINE`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from services.embedder.backends import cpu_threads, facenet_128_keras, onnx_export
from services.embedder.backends.facenet_128_onnx import session_options
from shared.models import MODELS, MSCELEB_128

log = logging.getLogger(__name__)

SPEC = MODELS[MSCELEB_128]
standardize = facenet_128_keras.standardize
RUNTIME = "onnxruntime-int8"
EXACT = False  # EMBEDDER_RUNTIME=exact never picks it
RECIPE = 1  # bump when the quantisation below changes
MIN_FACE_COSINE = 0.99
MIN_CHECK_COSINE = 0.99


def dataset_dir(settings) -> Path:
    return Path(settings.assets_dir).expanduser() / "5-celebrity-faces-dataset"


def _photos(dataset: Path, split: str) -> list[Path]:
    return sorted(dataset.glob(f"{split}/*/*.jpg"))


def calibration_key(dataset: Path) -> str:
    listing = [f"{p.relative_to(dataset)}:{p.stat().st_size}" for p in _photos(dataset, "train") + _photos(dataset, "val")]
    if not listing:
        raise FileNotFoundError(f"no calibration photos under {dataset}/train and /val: run scripts/setup.sh")
    return hashlib.sha256("\n".join(listing).encode()).hexdigest()[:12]


def int8_path(settings, converted: onnx_export.Converted) -> Path:
    key = f"int8-cal{calibration_key(dataset_dir(settings))}-ort{metadata.version('onnxruntime')}-q{RECIPE}"
    return converted.onnx.with_name(converted.onnx.name[:-len(".onnx")] + f"-{key}.onnx")


def ensure_quantized(settings, timeout: float = 1800.0) -> tuple[onnx_export.Converted, Path]:
    converted = onnx_export.ensure_converted(settings, facenet_128_keras)
    target = int8_path(settings, converted)
    if target.is_file():
        return converted, target
    with onnx_export.locked(Path(f"{target}.lock")):
        if target.is_file():
            return converted, target
        _refuse_a_failed_check(Path(f"{target}.json"))
        log.info("quantising %s to int8 (once per weights file and calibration set)", converted.onnx.name)
        command = [sys.executable, "-m", "services.embedder.backends.facenet_128_onnx_int8",
                   "--fp32", str(converted.onnx), "--out", str(target), "--dataset", str(dataset_dir(settings))]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or not target.is_file():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"int8 quantisation failed (exit {done.returncode}):\n{tail}")
    return converted, target


def _refuse_a_failed_check(report: Path) -> None:
    """A calibration check that failed once fails again on the same weights and
    photos: say so at once instead of quantising at every start."""
    try:
        failed = json.loads(report.read_text()).get("passed") is False
    except (OSError, ValueError):
        return
    if failed:
        raise RuntimeError(f"the int8 model failed its calibration check ({report}); not quantising again")


def load(settings):
    import onnxruntime as ort

    converted, path = ensure_quantized(settings)
    threads = cpu_threads(settings)
    session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def forward(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    onnx_export.verify(forward, converted, MIN_CHECK_COSINE, RUNTIME)
    log.info("onnxruntime %s int8, %d intra-op threads, %s", ort.__version__, threads, path.name)
    return forward


# --- the quantisation itself (run in a child process) -------------------------

def dataset_faces(dataset: Path, split: str) -> tuple[np.ndarray, list[str]]:
    """Model inputs of the largest face of each photo of ``split`` (MTCNN boxes, the embedder's crop), and people."""
    from mtcnn import MTCNN

    from services.embedder.preprocessing import face_pixels
    from shared import imaging

    detector = MTCNN()
    inputs, people = [], []
    for path in _photos(dataset, split):
        image = imaging.decode_image(path.read_bytes())
        faces = [f for f in detector.detect_faces(image) if f["confidence"] >= 0.8 and min(f["box"][2:]) >= 20]
        if not faces:
            continue
        x, y, w, h = max(faces, key=lambda f: f["box"][2] * f["box"][3])["box"]
        box = [max(0, x), max(0, y), w + min(0, x), h + min(0, y)]
        inputs.append(standardize(face_pixels(image, box, SPEC)))
        people.append(path.parent.name)
    return np.stack(inputs).astype(np.float32), people


def _errors_at(threshold: float, people: list[str], queries: np.ndarray, gallery: np.ndarray) -> dict:
    """Leave-one-photo-out errors at ``threshold`` of unit ``queries`` against unit ``gallery`` vectors."""
    sims = queries @ gallery.T
    np.fill_diagonal(sims, -2.0)
    labels = np.array(people)
    genuine = np.array([sims[i, labels == p].max() for i, p in enumerate(labels)])
    impostor = np.array([sims[i, labels != p].max() for i, p in enumerate(labels)])
    return {"genuine_min": round(float(genuine.min()), 4), "impostor_max": round(float(impostor.max()), 4),
            "errors": int((genuine < threshold).sum() + (impostor >= threshold).sum())}


def quantize(fp32: Path, out: Path, dataset: Path) -> dict:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    train, train_people = dataset_faces(dataset, "train")
    val, val_people = dataset_faces(dataset, "val")
    people = train_people + val_people

    class Faces(CalibrationDataReader):
        def __init__(self, images):
            self._batches = iter([{onnx_export.INPUT_NAME: images[i:i + 1]} for i in range(len(images))])

        def get_next(self):
            return next(self._batches, None)

    part = f".{os.getpid()}.part"
    prepared, quantized = Path(f"{out}{part}.pre.onnx"), Path(f"{out}{part}")
    try:
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        graph = onnx.load(str(prepared)).graph
        convs = [n.name for n in graph.node if n.op_type == "Conv"]
        last = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm")]
        quantize_static(str(prepared), str(quantized), Faces(train), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Entropy, nodes_to_exclude=convs[:1] + last[-1:])

        def vectors(model: Path, images: np.ndarray) -> np.ndarray:
            session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
            raw = np.concatenate([session.run(None, {onnx_export.INPUT_NAME: images[i:i + 16]})[0]
                                  for i in range(0, len(images), 16)])
            return raw / np.linalg.norm(raw, axis=1, keepdims=True)

        everything = np.concatenate([train, val])
        exact, int8 = vectors(fp32, everything), vectors(quantized, everything)
        val_cos = (exact[len(train):] * int8[len(train):]).sum(axis=1)
        threshold = SPEC.default_threshold
        report = {
            "calibration_faces": len(train), "check_faces": len(everything),
            "val_min_cosine_to_fp32": round(float(val_cos.min()), 5),
            "all_min_cosine_to_fp32": round(float((exact * int8).sum(axis=1).min()), 5),
            "threshold": threshold,
            "fp32": _errors_at(threshold, people, exact, exact),
            "int8": _errors_at(threshold, people, int8, int8),
            "int8_against_fp32_gallery": _errors_at(threshold, people, int8, exact),
        }
        allowed = report["fp32"]["errors"]
        report["passed"] = bool(val_cos.min() >= MIN_FACE_COSINE and report["int8"]["errors"] <= allowed
                                and report["int8_against_fp32_gallery"]["errors"] <= allowed)
        Path(f"{out}.json").write_text(json.dumps(report, indent=2) + "\n")
        if not report["passed"]:
            raise SystemExit(f"calibration check failed: {json.dumps(report)}")
        os.replace(quantized, out)
        return report
    finally:
        prepared.unlink(missing_ok=True)
        quantized.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    """Quantise now: with no arguments the configured weights into the cache, else ``--fp32 --out --dataset``."""
    from shared import config

    parser = argparse.ArgumentParser(description="Quantise the 128-d FaceNet ONNX export to int8, with its check.")
    parser.add_argument("--fp32", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--dataset", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.fp32 is None:
        print(ensure_quantized(config.load())[1])
        return
    print(json.dumps(quantize(args.fp32, args.out, args.dataset), indent=2))


if __name__ == "__main__":
    main()
