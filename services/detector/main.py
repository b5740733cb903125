"""Detector service: image in, face crops out (see shared/pipeline.py for the queues)."""
from __future__ import annotations

import logging
import time

from services.detector import core
from shared import contracts, imaging, service
from shared.contracts import Reply
from shared.metrics import FACES, FACES_PER_IMAGE, MODEL_LOAD_SECONDS

log = logging.getLogger(__name__)


def setup(settings, health):
    started = time.monotonic()
    detector = core.FastMtcnnDetector(settings)
    MODEL_LOAD_SECONDS.labels("detector", "mtcnn", detector.networks.runtime).set(time.monotonic() - started)
    rules = core.QualityRules(settings.detect_min_face_px, settings.detect_min_confidence)
    log.info("MTCNN loaded on %s (%d threads); min face %d px and %.0f%% of the shorter side (enrollment %.0f%%), "
             "min confidence %.2f", detector.networks.runtime, detector.networks.threads, rules.min_face_px,
             100 * detector.sizes.fraction, 100 * detector.sizes.enroll_fraction, rules.min_confidence)

    def handle(job: contracts.Job):
        if job.image is None:
            raise contracts.JobError(contracts.ErrorCode.BAD_MESSAGE, "detect job without an image")
        image = imaging.decode_image(job.image)
        detections = detector.detect(image, job.kind)
        FACES_PER_IMAGE.labels(job.kind).observe(sum(1 for d in detections if rules.usable(d)))
        chosen = core.select_faces(job.kind, detections, rules)
        FACES.labels("detector").inc(len(chosen))
        if not chosen:  # recognition of a photo without faces: nothing to embed
            return Reply(job_id=job.job_id, ok=True, faces=[])
        return job.evolve(image=None, faces=tuple(core.faces_for_embedding(image, chosen)))

    return handle, None


def main() -> None:
    service.run("detector", setup)
