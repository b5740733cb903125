"""Running images through the pipeline on behalf of an HTTP request."""
from __future__ import annotations

from services.gateway.errors import ApiError, from_pipeline
from services.gateway.pipeline import PipelineClient, PipelineTimeout, PipelineUnavailable
from shared.contracts import RECOGNIZE, Enrollment, MatchScope, Reply


def run_jobs(pipeline: PipelineClient, kind: str, inputs: list[tuple[bytes, Enrollment | None]],
             timeout: float, scope: MatchScope | None = None) -> list[Reply]:
    """Publish every image at once, then collect the replies, in order.

    Broker trouble becomes 503, a missed deadline 504.
    """
    try:
        submitted = [pipeline.submit(kind, data, timeout, enroll, scope) for data, enroll in inputs]
        return [pipeline.wait(job, fut) for job, fut in submitted]
    except PipelineUnavailable as exc:
        raise ApiError(503, "pipeline_unavailable", str(exc)) from None
    except PipelineTimeout as exc:
        raise ApiError(504, "pipeline_timeout", str(exc)) from None


def recognize_all(pipeline: PipelineClient, images: list[bytes], timeout: float,
                  scope: MatchScope | None = None) -> list[Reply]:
    return run_jobs(pipeline, RECOGNIZE, [(data, None) for data in images], timeout, scope)


def faces_or_error(reply: Reply) -> list[dict]:
    if not reply.ok:
        raise from_pipeline(reply.error)
    return reply.faces
