"""MTCNN's three networks, with mtcnn 1.0.0's own weights, on a CPU runtime.

mtcnn builds P-, R- and O-Net as Keras models and loads its weights
(``mtcnn/assets/weights/*.lz4``) into them. Those Keras models are exported to
ONNX with tf2onnx, once per weights (and mtcnn, tf2onnx, opset, recipe), in a
child process at the first start, and kept under ``<ASSETS_DIR>/converted/``
(``shared/model_cache.py``, as the embedder does with FaceNet). The detector
process then runs them on OpenVINO (default) or ONNX Runtime and never imports
TensorFlow. The conversion takes about 2 s on the project's 2-core machine;
``python -m services.detector.networks`` does it ahead of time.

With the copies, the Keras models' outputs on fixed inputs are stored; each
runtime's outputs are compared with them at every start (:func:`verify`), so a
runtime that computes something else fails to load.

Why OpenVINO: on the project's 2-core machine (AVX-512) it runs these small
convolutions 2-2.5 times faster than ONNX Runtime and 2-10 times faster than
TensorFlow (whose per-call overhead, ~1.3 ms, is more than PNet's work on the
small pyramid levels): PNet on a 384x288 level 6.2 ms (ORT 14.9, TF 13.1),
RNet on 64 patches 2.3 ms (5.8, 7.7), ONet on 16 patches 5.1 ms (8.3 CPU, 8.7).
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from shared.model_cache import cache_dir, locked, run_converter, sha256_of

log = logging.getLogger(__name__)

RECIPE = 1  # bump when the conversion changes: older copies are then ignored
OPSET = 17
NETWORKS = ("pnet", "rnet", "onet")
INPUT_SHAPES = {"pnet": [None, None, None, 3], "rnet": [None, 24, 24, 3], "onet": [None, 48, 48, 3]}
# The inputs on which each runtime is compared with the Keras models (a pyramid level, patches).
CHECK_SHAPES = {"pnet": (1, 41, 33, 3), "rnet": (5, 24, 24, 3), "onet": (5, 48, 48, 3)}
# Largest |difference| to the Keras outputs a runtime may show (measured: 2e-6 for OpenVINO and ONNX Runtime, f32).
MAX_DIFFERENCE = 1e-4
RUNTIMES = ("openvino", "onnxruntime")


@dataclass(frozen=True)
class Converted:
    onnx: dict[str, Path]  # network name -> its ONNX file
    check: Path  # .npz: <net>_input and <net>_output<i> (the Keras models' outputs)


def weights_files() -> dict[str, Path]:
    """mtcnn's weights files (found without importing mtcnn, which imports TensorFlow)."""
    spec = importlib.util.find_spec("mtcnn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mtcnn package is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]) / "assets" / "weights"
    return {name: folder / f"{name}.lz4" for name in NETWORKS}


def converted_paths(settings) -> Converted:
    digest = "".join(sha256_of(path)[:8] for path in weights_files().values())
    key = (f"mtcnn{metadata.version('mtcnn')}-{digest}-tf2onnx{metadata.version('tf2onnx')}"
           f"-opset{OPSET}-r{RECIPE}")
    folder = cache_dir(settings)
    return Converted(onnx={name: folder / f"{key}.{name}.onnx" for name in NETWORKS},
                     check=folder / f"{key}.check.npz")


def _complete(paths: Converted) -> bool:
    return paths.check.is_file() and all(p.is_file() for p in paths.onnx.values())


def ensure_converted(settings, timeout: float = 600.0) -> Converted:
    """The ONNX copies of the three networks: from the cache, else converted now (in a child process)."""
    paths = converted_paths(settings)
    if _complete(paths):
        return paths
    paths.check.parent.mkdir(parents=True, exist_ok=True)
    with locked(Path(f"{paths.check}.lock")):
        if _complete(paths):  # another copy converted while we waited
            return paths
        log.info("converting MTCNN's networks to ONNX (once per weights) into %s", paths.check.parent)
        run_converter([sys.executable, "-m", "services.detector.networks", "--prefix",
                       str(paths.check).removesuffix(".check.npz")], "MTCNN's networks", timeout)
    if not _complete(paths):
        raise RuntimeError(f"ONNX conversion of MTCNN's networks left no {paths.check}")
    return paths


def convert(prefix: str) -> None:
    """Export mtcnn's Keras networks to ``<prefix>.<net>.onnx`` with their outputs
    on the check inputs in ``<prefix>.check.npz`` (in this process: TensorFlow)."""
    import os

    import tensorflow as tf
    import tf2onnx
    from mtcnn.stages import StageONet, StagePNet, StageRNet

    stages = {"pnet": StagePNet, "rnet": StageRNet, "onet": StageONet}
    rng = np.random.default_rng(20160411)  # fixed: the same check inputs every time
    check, written = {}, []
    part = f".{os.getpid()}.part"
    try:
        for name in NETWORKS:
            model = stages[name]()._model
            signature = [tf.TensorSpec(INPUT_SHAPES[name], tf.float32, name="images")]
            forward = tf.function(lambda images, model=model: model(images, training=False),
                                  input_signature=signature, autograph=False)
            images = rng.uniform(-1.0, 1.0, CHECK_SHAPES[name]).astype(np.float32)
            check[f"{name}_input"] = images
            for i, output in enumerate(forward(images)):
                check[f"{name}_output{i}"] = output.numpy()
            tmp = Path(f"{prefix}.{name}.onnx{part}")
            written.append(tmp)
            tf2onnx.convert.from_function(forward, input_signature=signature, opset=OPSET, output_path=str(tmp))
        tmp = Path(f"{prefix}.check.npz{part}")
        written.append(tmp)
        with open(tmp, "wb") as f:
            np.savez(f, **check)
        for name in NETWORKS:
            os.replace(f"{prefix}.{name}.onnx{part}", f"{prefix}.{name}.onnx")
        os.replace(tmp, f"{prefix}.check.npz")  # last: its presence means every file is complete
    finally:
        for tmp in written:
            tmp.unlink(missing_ok=True)


def _split(name: str, outputs: list[np.ndarray]):
    """A network's outputs in our order, told by their last dimension:
    regression (4), landmarks (10, ONet), face probability (the second of 2 classes)."""
    by_width = {o.shape[-1]: o for o in outputs}
    reg, prob = by_width[4], by_width[2][..., 1]
    if name == "pnet":
        return reg[0], prob[0]
    if name == "rnet":
        return reg, prob
    return reg, by_width[10], prob


class RuntimeNetworks:
    """The three networks on one runtime, as ``mtcnn_fast.Networks``."""

    def __init__(self, runs: dict, runtime: str, threads: int):
        self._runs = runs  # name -> function(batch) -> list of outputs
        self.runtime = runtime
        self.threads = threads

    def run(self, name: str, batch: np.ndarray) -> list[np.ndarray]:
        return self._runs[name](np.ascontiguousarray(batch, dtype=np.float32))

    def pnet(self, level):
        return _split("pnet", self.run("pnet", level))

    def rnet(self, patches):
        return _split("rnet", self.run("rnet", patches))

    def onet(self, patches):
        return _split("onet", self.run("onet", patches))


def _openvino(converted: Converted, threads: int) -> dict:
    import openvino as ov

    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    runs = {}
    for name, path in converted.onnx.items():
        compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        request = compiled.create_infer_request()

        def run(batch, request=request, count=len(compiled.outputs)):
            request.infer({0: batch})
            return [request.get_output_tensor(i).data.copy() for i in range(count)]

        runs[name] = run
    return runs


def _onnxruntime(converted: Converted, threads: int) -> dict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads must not burn CPUs
    options.log_severity_level = 3
    runs = {}
    for name, path in converted.onnx.items():
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        runs[name] = lambda batch, session=session, input_name=input_name: session.run(None, {input_name: batch})
    return runs


def verify(networks: RuntimeNetworks, converted: Converted) -> float:
    """Run each network on the stored check input; raise unless it matches the Keras outputs."""
    worst = 0.0
    with np.load(converted.check) as data:
        for name in NETWORKS:
            expected = sorted((data[k] for k in data.files if k.startswith(f"{name}_output")), key=lambda a: a.shape[-1])
            got = sorted(networks.run(name, data[f"{name}_input"]), key=lambda a: a.shape[-1])
            if [a.shape for a in got] != [a.shape for a in expected]:
                raise RuntimeError(f"{networks.runtime}: {name} outputs {[a.shape for a in got]}, "
                                   f"the Keras model {[a.shape for a in expected]}")
            worst = max(worst, max(float(np.abs(a - b).max()) for a, b in zip(got, expected)))
    if not worst <= MAX_DIFFERENCE:
        raise RuntimeError(f"{networks.runtime}: MTCNN's outputs differ from Keras by {worst:.2e} "
                           f"(more than {MAX_DIFFERENCE}): not the same networks")
    log.info("MTCNN on %s verified against Keras: largest difference %.1e", networks.runtime, worst)
    return worst


def load(settings, runtime: str = "openvino", threads: int = 1) -> RuntimeNetworks:
    """MTCNN's networks on ``runtime`` (``openvino`` or ``onnxruntime``) with ``threads`` threads, verified."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown MTCNN runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    converted = ensure_converted(settings)
    runs = (_openvino if runtime == "openvino" else _onnxruntime)(converted, threads)
    networks = RuntimeNetworks(runs, runtime, threads)
    verify(networks, converted)
    return networks


def main(argv: list[str] | None = None) -> None:
    """Convert now: into ``--prefix``, or (without it) into the cache under ASSETS_DIR."""
    from shared import config

    parser = argparse.ArgumentParser(description="Export MTCNN's networks to ONNX.")
    parser.add_argument("--prefix", help="output files <prefix>.<net>.onnx and <prefix>.check.npz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.prefix is None:
        print(ensure_converted(config.load()).check.parent)
        return
    convert(args.prefix)


if __name__ == "__main__":
    main()
