"""The web console: static files, served as they are (no build step).

``static/index.html`` is markup only; the look is in ``console.css`` and the
behaviour in ES modules (``main.js`` imports the others), so a
Content-Security-Policy of ``script-src 'self'`` holds: no inline script, no
inline event handler, no inline style. The page is ``/``; its files are under
``/console/``, which the page names by relative paths (as it does the API), so
a reverse proxy may mount the gateway under a prefix. The console's pages (people,
a person, enroll, recognize, attendance, administration) are sections of that one
page, chosen by the URL's hash (``router.js``).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

STATIC = Path(__file__).with_name("static")

# Content types by extension rather than from the host's mimetypes tables, which
# vary (older Pythons and some /etc/mime.types say application/javascript; a
# slim image may have no table at all), while a browser refuses a module script
# served as anything but a JavaScript type. Other files are not served.
CONTENT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}


def send_console_file(name: str):
    """One file of the console; 404 for anything else.

    Flask sends it with an ETag and without a max-age, so browsers revalidate:
    a new gateway's console is used at once, never mixed with cached modules.
    """
    mimetype = CONTENT_TYPES.get(Path(name).suffix)
    if mimetype is None:
        abort(404)
    return send_from_directory(STATIC, name, mimetype=mimetype)


def console_blueprint() -> Blueprint:
    bp = Blueprint("console", __name__)

    @bp.get("/")
    def index():
        return send_console_file("index.html")

    @bp.get("/console/<path:name>")
    def asset(name: str):
        return send_console_file(name)

    return bp
