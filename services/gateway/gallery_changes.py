"""Changes of the gallery made by the gateway (an erasure, an edited record, a
face enrolled from a review, new thresholds): counted in the database's gallery
version, then announced to every matcher. A matcher that misses the message
(the broker down now, or later) notices by the version and reloads, so a
failed announcement loses nothing."""
from __future__ import annotations

import logging

from services.gateway.pipeline import PipelineClient, PipelineUnavailable
from shared.contracts import GalleryChange
from shared.storage import Storage

log = logging.getLogger(__name__)


def announce(storage: Storage, pipeline: PipelineClient, op: str, person_id: str = "",
             face_id: str | None = None) -> None:
    change = GalleryChange(op=op, person_id=person_id, face_id=face_id, version=storage.bump_gallery_version())
    try:
        pipeline.announce(change)
    except PipelineUnavailable:
        log.warning("could not announce a gallery change (%s); matchers will notice by its version", op)
