"""The embedder's runtimes: registry, selection (EMBEDDER_RUNTIME), threads, the ONNX cache key.

No model is loaded here (that takes a conversion of ~45 s on a fresh machine):
the vectors of each runtime against the Keras reference, on real faces, are
checked by tests/e2e/test_embedder_runtimes.py.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import types

import numpy as np
import pytest

from services.embedder import models as embedder_models
from services.embedder.backends import backend_of, cpu_threads, onnx_export
from shared import config
from shared.models import MODELS, MSCELEB_128, REFERENCE_RUNTIME, VGGFACE2_512, runtimes_of


def test_a_runtime_is_not_a_model():
    """Runtimes of the same weights share the model's name: the gallery must not split by runtime."""
    assert set(MODELS) == {VGGFACE2_512, MSCELEB_128}
    names = runtimes_of(MSCELEB_128)
    assert list(names)[-1] == REFERENCE_RUNTIME and names[REFERENCE_RUNTIME] == MODELS[MSCELEB_128].backend
    assert {"onnxruntime", "openvino"} <= set(names)
    assert runtimes_of(VGGFACE2_512) == {REFERENCE_RUNTIME: MODELS[VGGFACE2_512].backend}
    hash(MODELS[MSCELEB_128])  # still a usable dict key / set member


@pytest.mark.parametrize("runtime", list(runtimes_of(MSCELEB_128)))
def test_every_runtime_is_a_backend_of_the_same_model(runtime):
    backend = backend_of(MSCELEB_128, runtime)
    reference = backend_of(MSCELEB_128)
    assert backend.SPEC is MODELS[MSCELEB_128]
    assert backend.standardize is reference.standardize
    assert callable(backend.load)


def test_only_reduced_precision_runtimes_say_so():
    exact = {r: getattr(backend_of(MSCELEB_128, r), "EXACT", True) for r in runtimes_of(MSCELEB_128)}
    assert exact["keras"] and exact["onnxruntime"] and exact["openvino"]
    assert exact.get("onnxruntime-int8", False) is False


def test_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="no runtime"):
        backend_of(MSCELEB_128, "tensorrt")


def test_settings():
    assert config.load({}).embedder_runtime == "auto" and config.load({}).embedder_threads == 0
    s = config.load({"EMBEDDER_RUNTIME": "openvino", "EMBEDDER_THREADS": "1"})
    assert s.embedder_runtime == "openvino" and s.embedder_threads == 1
    with pytest.raises(ValueError, match="EMBEDDER_THREADS"):
        config.load({"EMBEDDER_THREADS": "two"})


# --- selection ----------------------------------------------------------------

def fake_backend(name, spec, fails=None, exact=True, calls=None):
    def load(settings):
        (calls if calls is not None else []).append(name)
        if fails:
            raise fails
        return lambda batch: np.ones((len(batch), spec.dimensions), np.float32)

    return types.SimpleNamespace(__name__=f"fake.{name}", SPEC=spec, standardize=lambda p: p.astype(np.float32),
                                 load=load, EXACT=exact)


@pytest.fixture
def fakes(monkeypatch):
    """Fake backends for the 128-d model's runtimes; ``fakes[runtime]`` configures one."""
    spec = MODELS[MSCELEB_128]
    calls: list[str] = []
    table = {r: {} for r in runtimes_of(MSCELEB_128)}

    def backend_of_fake(model, runtime=REFERENCE_RUNTIME):
        if model != MSCELEB_128:
            raise RuntimeError(f"{model} not available here")
        if runtime not in table:
            raise ValueError(f"model {model} has no runtime {runtime!r}")
        options = table[runtime]
        exact = options.get("exact", getattr(backend_of(model, runtime), "EXACT", True))
        return fake_backend(runtime, spec, options.get("fails"), exact, calls)

    monkeypatch.setattr(embedder_models, "backend_of", backend_of_fake)
    table["calls"] = calls
    return table


def settings(**kw):
    return dataclasses.replace(config.load({}), **{"embedder_model": MSCELEB_128, **kw})


def test_auto_takes_the_fastest_runtime_that_loads_and_passes_its_check(fakes):
    embedder = embedder_models.load_model(settings(embedder_runtime="auto"))
    assert embedder.runtime == "onnxruntime-int8" and fakes["calls"] == ["onnxruntime-int8"]
    assert embedder.spec.name == MSCELEB_128  # the vectors are recorded under the model, not the runtime


def test_auto_goes_on_when_the_int8_model_fails_its_calibration_check(fakes, caplog):
    fakes["onnxruntime-int8"]["fails"] = RuntimeError("the int8 model failed its calibration check")
    with caplog.at_level(logging.WARNING):
        embedder = embedder_models.load_model(settings(embedder_runtime="auto"))
    assert embedder.runtime == "onnxruntime" and fakes["calls"] == ["onnxruntime-int8", "onnxruntime"]
    assert "failed its calibration check" in caplog.text


def test_exact_takes_the_first_exact_runtime_that_loads(fakes):
    embedder = embedder_models.load_model(settings(embedder_runtime="exact"))
    first = next(r for r in runtimes_of(MSCELEB_128) if r != "onnxruntime-int8")
    assert embedder.runtime == first and fakes["calls"] == [first]


def test_exact_falls_back_to_keras_when_the_runtimes_fail(fakes, caplog):
    for runtime in runtimes_of(MSCELEB_128):
        if runtime != REFERENCE_RUNTIME:
            fakes[runtime]["fails"] = RuntimeError(f"{runtime} is broken")
    with caplog.at_level(logging.WARNING):
        embedder = embedder_models.load_model(settings(embedder_runtime="exact"))
    assert embedder.runtime == REFERENCE_RUNTIME
    assert "onnxruntime-int8" not in fakes["calls"]  # reduced precision: never by exact
    assert fakes["calls"][-1] == REFERENCE_RUNTIME
    assert "runtime onnxruntime unavailable (onnxruntime is broken)" in caplog.text


def test_auto_skips_a_missing_package(fakes):
    fakes["onnxruntime-int8"]["fails"] = ImportError("No module named 'onnxruntime'")
    fakes["onnxruntime"]["fails"] = ImportError("No module named 'onnxruntime'")
    assert embedder_models.load_model(settings(embedder_runtime="auto")).runtime == "openvino"


def test_a_named_runtime_must_load(fakes):
    fakes["onnxruntime"]["fails"] = RuntimeError("broken")
    with pytest.raises(RuntimeError, match="broken"):
        embedder_models.load_model(settings(embedder_runtime="onnxruntime"))
    assert fakes["calls"] == ["onnxruntime"]


def test_a_named_runtime_of_reduced_precision_loads_when_named(fakes):
    assert embedder_models.load_model(settings(embedder_runtime="onnxruntime-int8")).runtime == "onnxruntime-int8"


def test_an_unknown_runtime_is_a_configuration_error(fakes):
    with pytest.raises(ValueError, match="EMBEDDER_RUNTIME='tensorrt'"):
        embedder_models.load_model(settings(embedder_runtime="tensorrt"))


def test_the_auto_model_falls_through_to_a_model_with_the_named_runtime(fakes):
    embedder = embedder_models.load_model(settings(embedder_runtime="openvino", embedder_model="auto"))
    assert embedder.spec.name == MSCELEB_128 and embedder.runtime == "openvino"


def test_keras_is_still_the_reference_when_named(fakes):
    assert embedder_models.load_model(settings(embedder_runtime="keras")).runtime == REFERENCE_RUNTIME


# --- threads ------------------------------------------------------------------

def test_threads_default_to_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr("services.embedder.backends._cgroup_cpu_quota", lambda: None)
    assert cpu_threads(settings()) == len(os.sched_getaffinity(0))
    assert cpu_threads(settings(embedder_threads=3)) == 3
    with pytest.raises(ValueError, match="EMBEDDER_THREADS"):
        cpu_threads(settings(embedder_threads=-1))


def test_a_cgroup_cpu_quota_lowers_the_default(monkeypatch, tmp_path):
    from services.embedder import backends

    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert backends._cgroup_cpu_quota(cpu_max) == 2
    cpu_max.write_text("max 100000\n")
    assert backends._cgroup_cpu_quota(cpu_max) is None
    assert backends._cgroup_cpu_quota(tmp_path / "absent") is None
    monkeypatch.setattr(backends, "_cgroup_cpu_quota", lambda: 1)
    assert cpu_threads(settings()) == 1


# --- the ONNX copy ------------------------------------------------------------

def fake_reference(weights):
    return types.SimpleNamespace(__name__="fake_reference", SPEC=MODELS[MSCELEB_128],
                                 weights_path=lambda settings: str(weights))


def test_the_onnx_copy_is_keyed_by_the_weights(tmp_path):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"weights one")
    s = settings(assets_dir=str(tmp_path / "assets"))
    first = onnx_export.converted_paths(s, fake_reference(weights))
    assert first.onnx.parent == tmp_path / "assets" / "converted"
    assert first.onnx.name.endswith(".onnx") and first.check.name.endswith(".check.npz")
    assert onnx_export.converted_paths(s, fake_reference(weights)) == first
    weights.write_bytes(b"weights two")
    assert onnx_export.converted_paths(s, fake_reference(weights)).onnx != first.onnx


def test_a_cached_copy_is_used_without_converting(tmp_path, monkeypatch):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"w")
    s = settings(assets_dir=str(tmp_path))
    paths = onnx_export.converted_paths(s, fake_reference(weights))
    paths.onnx.parent.mkdir(parents=True)
    paths.onnx.write_bytes(b"onnx")
    paths.check.write_bytes(b"npz")
    monkeypatch.setattr(onnx_export.subprocess, "run", lambda *a, **k: pytest.fail("converted again"))
    assert onnx_export.ensure_converted(s, fake_reference(weights)) == paths


def test_a_failed_conversion_says_why(tmp_path, monkeypatch):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"w")
    done = types.SimpleNamespace(returncode=1, stdout="", stderr="Traceback\nValueError: bad layer")
    monkeypatch.setattr(onnx_export.subprocess, "run", lambda *a, **k: done)
    with pytest.raises(RuntimeError, match="bad layer"):
        onnx_export.ensure_converted(settings(assets_dir=str(tmp_path)), fake_reference(weights))


def test_verify_refuses_a_runtime_that_computes_something_else(tmp_path):
    check = tmp_path / "c.npz"
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2, 128)).astype(np.float32)
    np.savez(check, images=np.zeros((2, 160, 160, 3), np.float32), vectors=vectors)
    converted = onnx_export.Converted(onnx=tmp_path / "m.onnx", check=check)
    assert onnx_export.verify(lambda x: vectors * 3, converted, 0.9999, "same") > 0.9999
    with pytest.raises(RuntimeError, match="not the same model"):
        onnx_export.verify(lambda x: rng.normal(size=(2, 128)), converted, 0.9999, "other")


def test_the_check_input_is_fixed():
    from services.embedder.preprocessing import prewhiten

    a, b = onnx_export.check_input(160, prewhiten), onnx_export.check_input(160, prewhiten)
    assert a.shape == (2, 160, 160, 3) and a.dtype == np.float32 and np.array_equal(a, b)
