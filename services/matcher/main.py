"""Matcher service: vectors in, answer out (the last stage of shared/pipeline.py).

Recognition searches the in-memory gallery; enrollment stores the vector in
MongoDB and announces it on the ``gallery.changes`` fanout exchange, which every
matcher copy (this one included) applies to its gallery. An upkeep thread
probes the database (readiness follows it within seconds, and jobs that need
it are answered ``database_unavailable`` at once while it is down, instead of
spending their deliveries) and reloads the gallery when a change was missed.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from services.matcher.gallery import Gallery
from services.matcher.matcher import Matcher, probe_database
from shared import pipeline, service
from shared.contracts import GalleryChange, JobError
from shared.storage import Storage

log = logging.getLogger(__name__)

PROBE_SECONDS = 2.0


def upkeep(matcher: Matcher, health, sync_seconds: float) -> None:
    """Forever: probe the database; every ``sync_seconds`` check the gallery version."""
    next_sync = time.monotonic() + sync_seconds
    while True:
        was_ok = matcher.database_ok
        ok = probe_database(matcher)
        if ok != was_ok:
            log.warning("database %s", "reachable again" if ok else "unreachable")
        health.set_ready("database", ok and health.status()[1].get("gallery", False))
        if ok and time.monotonic() >= next_sync:
            next_sync = time.monotonic() + sync_seconds
            try:
                matcher.check_version()
            except Exception:  # noqa: BLE001 - retried at the next sync
                log.exception("gallery version check failed")
        time.sleep(PROBE_SECONDS)


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
        health.set_ready("database", False)
        health.set_ready("gallery", False)
        queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue, pipeline.GALLERY_EXCHANGE)
        channel.basic_consume(queue, on_gallery_change, auto_ack=True)

        def load_gallery():
            storage.ensure_indexes()
            matcher.reload()
            health.set_ready("gallery", True)
            health.set_ready("database", True)

        return load_gallery

    threading.Thread(target=upkeep, args=(matcher, health, settings.gallery_sync_seconds),
                     name="matcher-upkeep", daemon=True).start()
    return matcher.handle, on_connect


def main() -> None:
    service.run("matcher", setup)
