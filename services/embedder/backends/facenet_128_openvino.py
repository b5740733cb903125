"""FaceNet 20170512-110547 (128-d) on OpenVINO: runtime ``openvino`` of the same model.

OpenVINO reads the ONNX export of the Keras reference model (``onnx_export``:
converted at the first start per weights file, cached under
``<ASSETS_DIR>/converted/``) and compiles it for the CPU in float32
(``INFERENCE_PRECISION_HINT=f32``: on CPUs with AMX OpenVINO would otherwise
pick bf16 by itself): the vectors equal the Keras ones (cosine 1 - 2e-7 on the
data set's faces). Before it is used, its output on a fixed input is checked
against the Keras model's.

Threads: one stream of ``EMBEDDER_THREADS`` threads (default: the CPUs the
process may use), latency hint, threads not pinned to cores (pinned, they
cannot move off a core another process is busy on: 10-25% slower measured on
the project's shared 2-core machine). The batch dimension stays dynamic.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

from services.embedder.backends import cpu_threads, facenet_128_keras, onnx_export
from shared.models import MODELS, MSCELEB_128

log = logging.getLogger(__name__)

SPEC = MODELS[MSCELEB_128]
standardize = facenet_128_keras.standardize
RUNTIME = "openvino"
PRECISION = "f32"
MIN_COSINE = onnx_export.EXACT_MIN_COSINE


def compile_options(threads: int, precision: str, pinning: bool = False) -> dict:
    return {
        "INFERENCE_PRECISION_HINT": precision,
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": 1,
        "INFERENCE_NUM_THREADS": threads,
        "ENABLE_CPU_PINNING": pinning,
    }


def load(settings, precision: str | None = None, pinning: bool = False, runtime: str | None = None,
         min_cosine: float | None = None):
    import openvino as ov

    precision = precision or PRECISION
    runtime = runtime or RUNTIME
    converted = onnx_export.ensure_converted(settings, facenet_128_keras)
    threads = cpu_threads(settings)
    core = ov.Core()
    model = core.read_model(str(converted.onnx))
    compiled = core.compile_model(model, "CPU", compile_options(threads, precision, pinning))
    request = compiled.create_infer_request()
    lock = threading.Lock()  # one infer request: one batch at a time

    def forward(batch: np.ndarray) -> np.ndarray:
        with lock:
            out = request.infer({0: np.ascontiguousarray(batch, dtype=np.float32)})
            return np.array(out[0], dtype=np.float32, copy=True)  # the request reuses its output buffer

    onnx_export.verify(forward, converted, MIN_COSINE if min_cosine is None else min_cosine, runtime)
    log.info("openvino %s, %s, %d threads, %s", ov.__version__,
             compiled.get_property("INFERENCE_PRECISION_HINT"), threads, converted.onnx.name)
    return forward
