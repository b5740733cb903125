"""Embedder service: face crops in, L2-normalised vectors out (faces.embed -> faces.match)."""
from __future__ import annotations

import logging

from services.embedder.models import Embedder, load_model
from shared import contracts, service
from shared.broker import forward
from shared.contracts import decode_array
from shared.metrics import EMBEDDING_MODEL, FACES

log = logging.getLogger(__name__)


def setup(settings, health):
    model, spec = load_model(settings.embedder_model, settings.facenet_h5, settings.keras_facenet_cache)
    embedder = Embedder(model, spec)
    embedder.warm_up()
    EMBEDDING_MODEL.labels(spec.name, str(spec.dimensions)).set(1)
    log.info("embedding model %s (%d-d) ready (EMBEDDER_MODEL=%s)", spec.name, spec.dimensions, settings.embedder_model)

    def handle(job: contracts.Job):
        faces = job.faces or []
        if any(f.crop is None or f.face_box is None for f in faces):
            raise contracts.JobError(contracts.ErrorCode.BAD_MESSAGE, "embed job with a face that has no crop")
        vectors = embedder.embed([(decode_array(f.crop), f.face_box) for f in faces])
        for face, vector in zip(faces, vectors):
            face.crop = None
            face.face_box = None
            face.vector = [round(float(x), 6) for x in vector]
        FACES.labels("embedder").inc(len(faces))
        job.model = spec.name
        return [forward(job, contracts.MATCH_QUEUE)]

    return handle, None


def main() -> None:
    service.run("embedder", contracts.EMBED_QUEUE, setup)
