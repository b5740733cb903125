"""Running images through the pipeline on behalf of an HTTP request."""
from __future__ import annotations

from services.gateway.errors import ApiError, from_pipeline
from services.gateway.pipeline import PipelineClient, PipelineTimeout, PipelineUnavailable
from shared.contracts import RECOGNIZE, Enrollment, Reply


def run_jobs(pipeline: PipelineClient, kind: str, inputs: list[tuple[bytes, Enrollment | None]],
             timeout: float) -> list[Reply]:
    """Publish every image at once, then collect the replies, in order.

    Broker trouble becomes 503, a missed deadline 504.
    """
    try:
        submitted = [pipeline.submit(kind, data, timeout, enroll) for data, enroll in inputs]
        return [pipeline.wait(job, fut) for job, fut in submitted]
    except PipelineUnavailable as exc:
        raise ApiError(503, "pipeline_unavailable", str(exc)) from None
    except PipelineTimeout as exc:
        raise ApiError(504, "pipeline_timeout", str(exc)) from None


def recognize_all(pipeline: PipelineClient, images: list[bytes], timeout: float) -> list[Reply]:
    return run_jobs(pipeline, RECOGNIZE, [(data, None) for data in images], timeout)


def faces_or_error(reply: Reply) -> list[dict]:
    if not reply.ok:
        raise from_pipeline(reply.error)
    return reply.faces
