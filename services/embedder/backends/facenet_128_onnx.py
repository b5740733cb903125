"""FaceNet 20170512-110547 (128-d) on ONNX Runtime: runtime ``onnxruntime`` of the same model.

The Keras reference model (``facenet_128_keras``, weights from the same h5
file) exported to ONNX by ``onnx_export`` (converted at the first start per
weights file, cached under ``<ASSETS_DIR>/converted/``; see that module for
why there), run on ONNX Runtime's CPU provider in float32: the vectors equal
the Keras ones (cosine 1 - 2e-7 on the data set's faces). Before it is
used, its output on a fixed input is checked against the Keras model's.

Threads: ``EMBEDDER_THREADS`` intra-op threads (default: the CPUs the process
may use), one inter-op thread, sequential execution. Idle threads do not
spin-wait (ONNX Runtime's default is to spin): a spinning pool keeps burning
CPUs that other copies and services on the host need.
"""
from __future__ import annotations

import logging

import numpy as np

from services.embedder.backends import cpu_threads, facenet_128_keras, onnx_export
from shared.models import MODELS, MSCELEB_128

log = logging.getLogger(__name__)

SPEC = MODELS[MSCELEB_128]
standardize = facenet_128_keras.standardize
RUNTIME = "onnxruntime"


def session_options(threads: int, spinning: bool = False):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    return options


def load(settings, spinning: bool = False):
    import onnxruntime as ort

    converted = onnx_export.ensure_converted(settings, facenet_128_keras)
    threads = cpu_threads(settings)
    session = ort.InferenceSession(str(converted.onnx), session_options(threads, spinning),
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def forward(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    onnx_export.verify(forward, converted, onnx_export.EXACT_MIN_COSINE, RUNTIME)
    log.info("onnxruntime %s, %d intra-op threads, %s", ort.__version__, threads, converted.onnx.name)
    return forward
