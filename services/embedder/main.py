"""Embedder service: face crops in, L2-normalised vectors out (see shared/pipeline.py for the queues).

Its handler batches: the faces of several jobs at hand go through the model in
one forward pass (the worker loop hands over up to ``BATCH_MAX`` jobs), which
costs less per face than one pass per photo.
"""
from __future__ import annotations

import logging
import time

from services.embedder.models import load_model
from shared import contracts, service
from shared.contracts import decode_array
from shared.metrics import EMBEDDING_MODEL, FACES, MODEL_LOAD_SECONDS

log = logging.getLogger(__name__)


def crops_of(job: contracts.Job) -> list:
    faces = job.faces or ()
    if any(f.crop is None or f.face_box is None for f in faces):
        raise contracts.JobError(contracts.ErrorCode.BAD_MESSAGE, "embed job with a face that has no crop")
    return [(decode_array(f.crop), f.face_box) for f in faces]


def setup(settings, health):
    started = time.monotonic()
    embedder = load_model(settings)
    embedder.warm_up()
    spec = embedder.spec
    MODEL_LOAD_SECONDS.labels("embedder", spec.name, embedder.runtime).set(time.monotonic() - started)
    EMBEDDING_MODEL.labels(spec.name, str(spec.dimensions)).set(1)
    log.info("embedding model %s (%d-d) ready on runtime %s (EMBEDDER_MODEL=%s, EMBEDDER_RUNTIME=%s, BATCH_MAX=%d)",
             spec.name, spec.dimensions, embedder.runtime, settings.embedder_model, settings.embedder_runtime,
             settings.batch_max)

    def with_vectors(job: contracts.Job, vectors) -> contracts.Job:
        FACES.labels("embedder").inc(len(vectors))
        return job.evolve(faces=tuple(f.with_vector(v) for f, v in zip(job.faces or (), vectors)), model=spec.name)

    def handle(job: contracts.Job):
        return with_vectors(job, embedder.embed(crops_of(job)))

    def batch(jobs: list[contracts.Job]) -> list:
        """One forward pass for every face of ``jobs``; a job whose message is
        bad gets its own error, the others their vectors."""
        per_job: list = []
        for job in jobs:
            try:
                per_job.append(crops_of(job))
            except contracts.JobError as exc:
                per_job.append(exc)
        vectors = embedder.embed([c for crops in per_job if not isinstance(crops, Exception) for c in crops])
        results, at = [], 0
        for job, crops in zip(jobs, per_job):
            if isinstance(crops, Exception):
                results.append(crops)
                continue
            results.append(with_vectors(job, vectors[at:at + len(crops)]))
            at += len(crops)
        return results

    handle.batch = batch
    return handle, None


def main() -> None:
    service.run("embedder", setup)
