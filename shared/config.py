"""All configuration, from environment variables, with documented defaults.

Every service calls :func:`load` once at start. The README's configuration table
mirrors ``SETTINGS`` below; keep them in step.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from shared.credentials import check_broker_credentials
from shared.pipeline import GATEWAY, STAGES


def _default_assets_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "attendance-tracker")


@dataclass(frozen=True)
class Settings:
    # --- infrastructure -----------------------------------------------------
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    amqp_heartbeat_seconds: int = 60
    mongo_uri: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = "attendance"
    # --- gateway ------------------------------------------------------------
    gateway_host: str = "127.0.0.1"  # another address needs authentication on, or ALLOW_OPEN_API
    gateway_port: int = GATEWAY.port
    max_upload_bytes: int = 10 * 1024 * 1024
    request_timeout_seconds: float = 30.0
    gateway_threads: int = 32
    gateway_processes: int = 1  # gunicorn worker processes per gateway copy (metrics: multiprocess mode)
    api_tokens: str = ""  # name:token,... full-access keys (see services/gateway/auth.py)
    api_admin_key: str = ""  # the bootstrap admin key; more keys are created at run time
    allow_open_api: bool = False  # listen beyond loopback with authentication off (never for real data)
    access_log: str = "redacted"  # redacted: routes, not paths (no rollNos); off
    # --- workers ------------------------------------------------------------
    health_port: int = 0  # 0: the stage's own default (shared/pipeline.py)
    prefetch: int = 1
    batch_max: int = 16  # jobs a batching worker (the embedder) handles in one call; its prefetch is at least this
    batch_wait_ms: float = 2.0  # how long it waits for more jobs when fewer are at hand
    max_deliveries: int = 3
    dead_letter_ttl_seconds: int = 7 * 24 * 3600  # faces.dead keeps whole jobs (photos, vectors): not for ever
    dead_letter_max_messages: int = 1000
    # --- detector -----------------------------------------------------------
    detect_min_face_px: int = 20
    detect_min_confidence: float = 0.80
    detect_max_side: int = 1600
    detect_min_face_fraction: float = 0.04  # smallest face looked for: this of the shorter side (at least DETECT_MIN_FACE_PX)
    detect_enroll_min_face_fraction: float = 0.05  # the same for enrollment photos (portraits)
    detect_runtime: str = "openvino"  # MTCNN's networks on openvino or onnxruntime
    detect_threads: int = 1  # threads of MTCNN's networks; 0: the CPUs the process may use
    # --- embedder -----------------------------------------------------------
    embedder_model: str = "auto"
    facenet_h5_path: str = ""  # default: <assets_dir>/facenet_keras.h5
    keras_facenet_cache: str = "~/.keras-facenet"
    embedder_runtime: str = "auto"  # auto: the fastest runtime that loads and passes its check; exact: exact ones only
    embedder_threads: int = 0  # 0: the CPUs this process may use (affinity and cgroup quota)
    # --- matcher ------------------------------------------------------------
    match_threshold: float | None = None  # None: the model's default
    match_top_k: int = 3
    gallery_sync_seconds: float = 10.0  # how often a matcher checks it missed no gallery change
    # --- misc ---------------------------------------------------------------
    assets_dir: str = field(default_factory=_default_assets_dir)
    log_level: str = "INFO"
    log_format: str = "text"
    log_exception_detail: bool = False  # exception messages in logs (they can quote personal data)

    @property
    def facenet_h5(self) -> str:
        return self.facenet_h5_path or str(Path(self.assets_dir) / "facenet_keras.h5")


# The HTTP port for /healthz, /readyz and /metrics of each worker kind when
# HEALTH_PORT is not set (declared in shared/pipeline.py).
DEFAULT_HEALTH_PORTS = {s.name: s.port for s in STAGES}


def _convert(raw: str, typ: str):
    if typ == "bool":
        value = raw.strip().lower()
        if value not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            raise ValueError("must be true or false")
        return value in ("1", "true", "yes", "on")
    if typ in ("int",):
        return int(raw)
    if typ in ("float",):
        return float(raw)
    if typ == "float | None":
        return float(raw) if raw.strip() else None
    return raw


def load(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default ``os.environ``).

    Each field ``foo_bar`` is read from ``FOO_BAR``. A malformed value raises
    ``ValueError`` naming the variable, so a typo fails at start, not mid-job.
    """
    env = os.environ if environ is None else environ
    values = {}
    for f in fields(Settings):
        name = f.name.upper()
        if name in env:
            try:
                values[f.name] = _convert(env[name], str(f.type))
            except ValueError as exc:
                raise ValueError(f"environment variable {name}={env[name]!r}: {exc}") from None
    settings = Settings(**values)
    if settings.max_deliveries < 1:
        raise ValueError("MAX_DELIVERIES must be at least 1")
    if settings.prefetch < 1 or settings.batch_max < 1:
        raise ValueError("PREFETCH and BATCH_MAX must be at least 1")
    check_broker_credentials(settings.amqp_url)  # no guest:guest on a broker others can reach
    if settings.access_log not in ("redacted", "off"):
        raise ValueError("ACCESS_LOG must be redacted or off")
    if settings.dead_letter_ttl_seconds < 1 or settings.dead_letter_max_messages < 1:
        raise ValueError("DEAD_LETTER_TTL_SECONDS and DEAD_LETTER_MAX_MESSAGES must be at least 1")
    return settings
