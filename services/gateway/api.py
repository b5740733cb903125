"""The gateway's Flask app: plumbing (errors, metrics, indexes), root paths and
the web console. The API itself is in persons_api.py and attendance_api.py."""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid

from flask import Flask, Response, g, jsonify, request
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from attendance.errors import AttendanceError
from attendance.store import AttendanceStore
from services.gateway import auth
from services.gateway.attendance_api import attendance_blueprint
from services.gateway.console import console_blueprint
from services.gateway.errors import ApiError, from_attendance
from services.gateway.key_store import KeyStore
from services.gateway.keys_api import keys_blueprint
from services.gateway.openapi import openapi_blueprint
from services.gateway.persons_api import persons_blueprint
from services.gateway.settings_api import settings_blueprint
from services.gateway.pipeline import PipelineClient
from shared import logs
from shared.config import Settings
from shared.metrics import HTTP_IN_FLIGHT, HTTP_REQUESTS, HTTP_SECONDS, metrics_payload
from shared.probe import Probe
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


access_log = logging.getLogger("gateway.access")

# On every answer: no MIME sniffing, no framing, no referrer; pages (the console,
# the printable register) run only the gateway's own scripts and styles.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` if it is a plain token, else a new one."""
    return given if given and REQUEST_ID.match(given) else uuid.uuid4().hex


class AuthenticationSwitch:
    """Whether requests must present a key: yes when the environment gives
    keys, or the database holds an active one (checked at most every few
    seconds: creating the first key turns authentication on for every gateway
    copy). A database that cannot say counts as yes: fail closed."""

    RECHECK_SECONDS = 2.0

    def __init__(self, env_keys: dict, keys: KeyStore):
        self.env_keys, self.keys = env_keys, keys
        self._known: tuple[float, bool] | None = None

    def on(self) -> bool:
        if self.env_keys:
            return True
        now = time.monotonic()
        if self._known is None or now - self._known[0] > self.RECHECK_SECONDS or not self._known[1]:
            self._known = (now, self.keys.any_active())
        return self._known[1]


def create_app(settings: Settings, pipeline: PipelineClient, storage: Storage,
               attendance: AttendanceStore) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False
    env_keys = auth.environment_keys(settings.api_tokens, settings.api_admin_key)
    keys = KeyStore(storage.db)
    authentication = AuthenticationSwitch(env_keys, keys)
    if env_keys:
        log.info("API authentication on: %d key(s) from the environment", len(env_keys))

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
        HTTP_IN_FLIGHT.inc()
        g.in_flight = True  # end_log_context takes it back, whatever happens to the request
        g.started = time.monotonic()
        g.request_id = request_id(request.headers.get("X-Request-ID"))
        g.log_context = logs.REQUEST_ID.set(g.request_id)  # every log line and job of this request names it
        if request.path.startswith("/api/"):
            g.token_name = None
            needed = auth.required_scope(request.endpoint)
            if needed is not None and authentication.on():
                principal = auth.authenticate(env_keys, keys.find, request.headers.get("Authorization"))
                if principal is None:
                    raise ApiError(401, "unauthorized",
                                   "this API needs a key: send the header 'Authorization: Bearer <key>'")
                if not auth.allows(principal.scope, needed):
                    raise ApiError(403, "forbidden", f"the key {principal.name!r} has the scope "
                                                     f"{principal.scope}; this needs {needed}")
                g.principal, g.token_name = principal, principal.name
            ensure_indexes()

    @app.after_request
    def record(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        seconds = time.monotonic() - g.get("started", time.monotonic())
        HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        HTTP_SECONDS.labels(request.method, endpoint).observe(seconds)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if settings.access_log == "redacted":
            # The route, not the path: a path names people (/persons/21CSD6749).
            access_log.info("%s %s %d %.0fms key=%s", request.method, endpoint, response.status_code,
                            1000 * seconds, g.get("token_name") or "-")
        return response

    @app.teardown_request
    def end_log_context(exc):
        if g.pop("in_flight", False):
            HTTP_IN_FLIGHT.dec()
        if "log_context" in g:
            logs.REQUEST_ID.reset(g.log_context)

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
        body, status, headers = api_error(ApiError(err.code or 500, code, err.description or err.name))
        headers.update((k, v) for k, v in err.get_headers() if k == "Allow")  # a 405 names the methods (RFC 9110)
        return body, status, headers

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
    def api_me():
        """Whether the API needs a key and, if so, whose key this request carries, with its scope."""
        principal = g.get("principal")
        if principal is None:
            return jsonify({"authentication": "off"})
        return jsonify({"authentication": "required", "operator": principal.name, "scope": principal.scope})

    @app.get("/metrics")
    def metrics():
        body, ctype = metrics_payload()  # every gateway process's, with GATEWAY_PROCESSES > 1
        return Response(body, content_type=ctype)

    app.register_blueprint(openapi_blueprint())  # GET /api/v1/openapi.json
    app.register_blueprint(keys_blueprint(keys))
    app.register_blueprint(settings_blueprint(settings, pipeline, storage))
    app.register_blueprint(persons_blueprint(settings, pipeline, storage, attendance))
    app.register_blueprint(attendance_blueprint(settings, pipeline, storage, attendance))
    return app
