"""Embedder service: face crops in, L2-normalised vectors out (see shared/pipeline.py for the queues)."""
from __future__ import annotations

import logging

from services.embedder.models import load_model
from shared import contracts, service
from shared.contracts import decode_array
from shared.metrics import EMBEDDING_MODEL, FACES

log = logging.getLogger(__name__)


def setup(settings, health):
    embedder = load_model(settings)
    embedder.warm_up()
    spec = embedder.spec
    EMBEDDING_MODEL.labels(spec.name, str(spec.dimensions)).set(1)
    log.info("embedding model %s (%d-d) ready (EMBEDDER_MODEL=%s)", spec.name, spec.dimensions, settings.embedder_model)

    def handle(job: contracts.Job):
        faces = job.faces or ()
        if any(f.crop is None or f.face_box is None for f in faces):
            raise contracts.JobError(contracts.ErrorCode.BAD_MESSAGE, "embed job with a face that has no crop")
        vectors = embedder.embed([(decode_array(f.crop), f.face_box) for f in faces])
        FACES.labels("embedder").inc(len(faces))
        return job.evolve(faces=tuple(f.with_vector(v) for f, v in zip(faces, vectors)), model=spec.name)

    return handle, None


def main() -> None:
    service.run("embedder", setup)
