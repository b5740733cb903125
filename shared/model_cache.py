"""What the services that run a converted model share: the cache of converted
copies under ``<ASSETS_DIR>/converted/``, the conversion in a child process
(serialised by a file lock, so copies starting together convert once), and the
CPUs a runtime's threads may use.

Used by the embedder (``services/embedder/backends/onnx_export.py``: FaceNet
to ONNX) and the detector (``services/detector/networks.py``: MTCNN's three
networks to ONNX). Neither TensorFlow nor a runtime is imported here.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import subprocess
from pathlib import Path


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir(settings) -> Path:
    """Where converted copies are kept: ``<ASSETS_DIR>/converted``."""
    return Path(settings.assets_dir).expanduser() / "converted"


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive lock on ``path`` (created if missing) for the ``with`` block."""
    import fcntl

    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_converter(command: list[str], what: str, timeout: float) -> None:
    """Run a conversion ``command`` (a child Python process); raise with the
    tail of its output if it fails. TensorFlow's C++ logs are kept quiet."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"ONNX conversion of {what} failed (exit {done.returncode}):\n{tail}")


def cgroup_cpu_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> int | None:
    """CPUs a cgroup v2 CPU quota (``docker --cpus``) allows, rounded up; None without one."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def available_cpus(quota: int | None = None) -> int:
    """The CPUs this process may use: those of its affinity mask (``taskset``,
    ``docker --cpuset-cpus``), fewer if the cgroup CPU ``quota`` allows less."""
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        available = os.cpu_count() or 1
    return max(1, min(available, quota or available))
