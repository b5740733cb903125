"""The gateway's Flask app: plumbing (errors, metrics, indexes), root paths and
the web console. The API itself is in persons_api.py and attendance_api.py."""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask, Response, g, jsonify, request
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from attendance.errors import AttendanceError
from attendance.store import AttendanceStore
from services.gateway import auth
from services.gateway.attendance_api import attendance_blueprint
from services.gateway.console import console_blueprint
from services.gateway.errors import ApiError, from_attendance
from services.gateway.persons_api import persons_blueprint
from services.gateway.pipeline import PipelineClient
from shared.config import Settings
from shared.probe import Probe
from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS, metrics_payload
from shared.storage import Storage

log = logging.getLogger(__name__)

# A refused upload is read to its end (see drain_body) up to the larger of these:
# 4 times the limit, and 64 MiB (a client that batches for the default limit
# must hear a 413 from a gateway configured lower).
DRAIN_FACTOR = 4
DRAIN_FLOOR_BYTES = 64 * 1024 * 1024


def drain_body(environ: dict, cap: int) -> None:
    """Read and discard the body of a request refused as too large.

    The refusal comes before the body is read. Closing the connection while the
    client is still sending makes it see "connection reset" instead of the 413
    and its message (werkzeug's get_input_stream docs say so); reading the rest
    lets it hear the answer, as nginx's lingering close does. Bodies beyond
    ``cap`` are not read: their senders get the reset.
    """
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    stream = environ.get("wsgi.input")
    if stream is None or remaining > cap:
        return
    while remaining > 0:
        chunk = stream.read(min(1 << 16, remaining))
        if not chunk:
            break
        remaining -= len(chunk)


def create_app(settings: Settings, pipeline: PipelineClient, storage: Storage,
               attendance: AttendanceStore) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False
    tokens = auth.parse_tokens(settings.api_tokens)
    if tokens:
        log.info("API authentication on: %d token(s) (%s)", len(tokens), ", ".join(sorted(tokens.values())))
    else:
        log.warning("API_TOKENS is empty: the API is open to anyone who can reach this port")

    # -- plumbing ---------------------------------------------------------------
    indexes_ready = threading.Event()
    # Readiness answers at once and follows a database outage within seconds.
    database = Probe("database", storage.ping).start()

    def ensure_indexes() -> None:
        """Create the indexes once the database answers (it may be down at start).

        Until then the API answers 503: the unique indexes carry guarantees
        (one rollNo, one mark per person per session) that must hold first.
        """
        if not indexes_ready.is_set():
            storage.ensure_indexes()
            attendance.ensure_indexes()
            indexes_ready.set()

    @app.before_request
    def start_timer():
        g.started = time.monotonic()
        if request.path.startswith("/api/"):
            g.token_name = None
            if tokens:
                g.token_name = auth.authenticate(tokens, request.headers.get("Authorization"))
                if g.token_name is None:
                    raise ApiError(401, "unauthorized",
                                   "this API needs a token: send the header 'Authorization: Bearer <token>'")
            ensure_indexes()

    @app.after_request
    def record(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        HTTP_SECONDS.labels(request.method, endpoint).observe(time.monotonic() - g.get("started", time.monotonic()))
        return response

    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        headers = {"WWW-Authenticate": 'Bearer realm="attendance"'} if err.status == 401 else {}
        return jsonify(err.body()), err.status, headers

    @app.errorhandler(AttendanceError)
    def attendance_error(err: AttendanceError):
        return api_error(from_attendance(err))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(err):
        drain_body(request.environ, cap=max(DRAIN_FACTOR * settings.max_upload_bytes, DRAIN_FLOOR_BYTES))
        return api_error(ApiError(413, "too_large", f"the upload exceeds {settings.max_upload_bytes} bytes"))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        code = (err.name or "error").lower().replace(" ", "_")
        return api_error(ApiError(err.code or 500, code, err.description or err.name))

    @app.errorhandler(PyMongoError)
    def database_down(err: PyMongoError):
        if isinstance(err, (ConnectionFailure, ServerSelectionTimeoutError)):
            log.warning("database unavailable: %s", err)
            return api_error(ApiError(503, "database_unavailable", "the database is not reachable"))
        return unexpected(err)

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error")
        return api_error(ApiError(500, "internal", "internal error; see the gateway's log"))

    # -- root paths -------------------------------------------------------------
    app.register_blueprint(console_blueprint())  # "/" and /console/<file>: the web console

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "service": "gateway"})

    @app.get("/readyz")
    def readyz():
        checks = {"broker": pipeline.ready, "database": database.ok}
        if checks["database"]:
            try:
                ensure_indexes()
            except PyMongoError:
                checks["database"] = False
        return jsonify({"ready": all(checks.values()), "service": "gateway", "checks": checks}), (
            200 if all(checks.values()) else 503)

    @app.get("/api/v1/me")
    def me():
        """Whether the API needs a token and, if so, whose token this request carries."""
        if not tokens:
            return jsonify({"authentication": "off"})
        return jsonify({"authentication": "required", "operator": g.token_name})

    @app.get("/metrics")
    def metrics():
        body, ctype = metrics_payload()
        return Response(body, content_type=ctype)

    app.register_blueprint(persons_blueprint(settings, pipeline, storage))
    app.register_blueprint(attendance_blueprint(settings, pipeline, storage, attendance))
    return app
