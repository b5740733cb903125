"""Make the embedder's converted models now (``scripts/setup.sh``), not at its first start.

The ONNX export of the 128-d weights takes about a minute, the int8
quantisation with its calibration check about as long again; both are cached
under ``$ASSETS_DIR/converted/`` and found there by every later start. What is
made follows ``EMBEDDER_RUNTIME``: ``auto`` the int8 model (and the export it
is made from), ``exact``, ``onnxruntime`` and ``openvino`` the export, ``keras``
nothing. A failed int8 check is not an error for ``auto``: the embedder then
runs an exact runtime.

    python -m services.embedder.prepare
"""
from __future__ import annotations

import logging
import sys

from shared import config

log = logging.getLogger("embedder.prepare")


def prepare(settings) -> str:
    """Convert what ``settings.embedder_runtime`` will load; returns what was made ready."""
    from services.embedder.backends import facenet_128_keras, facenet_128_onnx_int8, onnx_export

    choice = settings.embedder_runtime
    if choice == "keras":
        return "nothing to convert for the keras runtime"
    if choice in ("auto", "onnxruntime-int8"):
        try:
            _, path = facenet_128_onnx_int8.ensure_quantized(settings)
            return f"int8 model ready: {path}"
        except Exception as exc:  # noqa: BLE001 - auto goes on with the exact runtimes
            if choice != "auto":
                raise
            log.warning("no int8 model (%s); the embedder will run an exact runtime", str(exc).splitlines()[0])
    converted = onnx_export.ensure_converted(settings, facenet_128_keras)
    return f"ONNX export ready: {converted.onnx}"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print(prepare(config.load()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
