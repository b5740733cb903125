"""A container's healthcheck: exit 0 when its service answers a path (``/readyz``).

``python -m shared.healthcheck /readyz`` in the Dockerfile's HEALTHCHECK. The image
says which service it runs (``ATTENDANCE_SERVICE``); the port is the service's
port variable (``GATEWAY_PORT``, ``HEALTH_PORT``) if set, else its default from
``shared/pipeline.py``. Slim images have no curl.
"""
from __future__ import annotations

import os
import sys
import urllib.request

from shared.pipeline import service


def probe_url(environ, path: str) -> str:
    s = service(environ["ATTENDANCE_SERVICE"])
    return f"http://127.0.0.1:{int(environ.get(s.port_variable) or 0) or s.port}{path}"


if __name__ == "__main__":
    urllib.request.urlopen(probe_url(os.environ, sys.argv[1]), timeout=4)  # raises (exit 1) unless 2xx
