"""Matcher service: vectors in, answer out (the last stage of shared/pipeline.py).

Recognition searches the in-memory gallery; enrollment stores the vector in
MongoDB and announces it on the ``gallery.changes`` fanout exchange, which every
matcher copy (this one included) applies to its gallery. A probe watches
the database (readiness follows it within seconds, and jobs that need it are
answered ``database_unavailable`` at once while it is down, instead of spending
their deliveries); a sync thread reloads the gallery when a change was missed.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from services.matcher.gallery import Gallery
from services.matcher.matcher import Matcher
from shared import pipeline, service
from shared.contracts import GalleryChange, JobError
from shared.probe import Probe
from shared.storage import Storage

log = logging.getLogger(__name__)

def keep_gallery_in_sync(matcher: Matcher, database: Probe, sync_seconds: float) -> None:
    """Forever: every ``sync_seconds``, reload if a gallery change was missed."""
    while True:
        time.sleep(sync_seconds)
        if database.ok:
            try:
                matcher.check_version()
            except Exception:  # noqa: BLE001 - tried again at the next sync
                log.exception("gallery version check failed")


def setup(settings, health):
    storage = Storage(settings.mongo_uri, settings.mongo_db, timeout_ms=3000)
    matcher = Matcher(storage, Gallery(), settings.match_threshold, settings.match_top_k)
    # Changes are read from the database: off the connection's thread, in order.
    changes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gallery-changes")

    def apply_change(body: bytes) -> None:
        try:
            matcher.apply(GalleryChange.from_bytes(body))
        except JobError as exc:
            log.warning("ignored malformed gallery change: %s", exc.message)
        except Exception:  # noqa: BLE001 - e.g. database down: the version check reloads later
            log.exception("could not apply a gallery change")

    def on_gallery_change(channel, method, props, body):
        changes.submit(apply_change, body)

    def on_connect(channel):
        """Subscribe to changes first, then load (on the work thread, returned
        to the worker loop): nothing falls between the two."""
        health.set_ready("gallery", False)
        queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue, pipeline.GALLERY_EXCHANGE)
        channel.basic_consume(queue, on_gallery_change, auto_ack=True)

        def load_gallery():
            storage.ensure_indexes()
            matcher.reload()
            health.set_ready("gallery", True)

        return load_gallery

    def database_changed(ok: bool) -> None:
        matcher.database_ok = ok
        health.set_ready("database", ok)

    database = Probe("database", storage.ping, on_change=database_changed).start()
    threading.Thread(target=keep_gallery_in_sync, args=(matcher, database, settings.gallery_sync_seconds),
                     name="gallery-sync", daemon=True).start()
    return matcher.handle, on_connect


def main() -> None:
    service.run("matcher", setup)
