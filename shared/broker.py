"""RabbitMQ adapter: connection parameters, topology and confirmed publishing.

The topology derives from ``shared/pipeline.py``: one durable quorum queue per
stage (with the delivery limit as the broker-side backstop and the
dead-letter exchange), the dead-letter queue and the gallery-change fanout.
The worker loop that consumes is ``shared/worker.py``; reconnecting is
``shared/reconnect.py``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pika
import pika.exceptions

from shared import pipeline
from shared.config import Settings
from shared.contracts import Job, Reply

# Errors that mean "this connection or channel is gone": reconnect.
RECONNECT_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    ConnectionError,
)
# The broker did not take a mandatory message (no queue, or nacked).
REFUSED_ERRORS = (pika.exceptions.UnroutableError, pika.exceptions.NackError)

PERSISTENT = pika.DeliveryMode.Persistent
# Header set on every published message: when it was published, in milliseconds
# since the Unix epoch (an integer: pika encodes no floats in headers). The worker
# loop measures a job's queue wait from it (shared/worker.py).
ENQUEUED_AT = "x-enqueued-at-ms"


def connection_parameters(settings: Settings) -> pika.URLParameters:
    params = pika.URLParameters(settings.amqp_url)
    params.heartbeat = settings.amqp_heartbeat_seconds
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.client_properties = {"connection_name": "attendance-tracker"}
    return params


def connect(settings: Settings) -> pika.BlockingConnection:
    return pika.BlockingConnection(connection_parameters(settings))


def dead_letter_arguments(settings: Settings) -> dict:
    """``faces.dead`` holds whole jobs (photos, vectors: biometric data): it
    keeps them for an operator for ``DEAD_LETTER_TTL_SECONDS`` at most, and the
    newest ``DEAD_LETTER_MAX_MESSAGES`` at most (the oldest go first)."""
    return {"x-message-ttl": settings.dead_letter_ttl_seconds * 1000,
            "x-max-length": settings.dead_letter_max_messages, "x-overflow": "drop-head"}


def declare_topology(connection, settings: Settings) -> None:
    """Declare exchanges and queues; idempotent, every service calls it at connect.

    Uses a channel of its own: a declaration the broker refuses closes the
    channel it was made on.
    """
    channel = connection.channel()
    try:
        channel.exchange_declare(pipeline.DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
        channel = _declare_dead_letter_queue(connection, channel, settings)
        channel.queue_bind(pipeline.DEAD_LETTER_QUEUE, pipeline.DEAD_LETTER_EXCHANGE)
        for queue in pipeline.WORK_QUEUES:
            channel.queue_declare(
                queue,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": settings.max_deliveries,
                    "x-dead-letter-exchange": pipeline.DEAD_LETTER_EXCHANGE,
                },
            )
        channel.exchange_declare(pipeline.GALLERY_EXCHANGE, exchange_type="fanout", durable=True)
    finally:
        if channel.is_open:
            channel.close()


def _declare_dead_letter_queue(connection, channel, settings: Settings):
    """Declare ``faces.dead`` with its retention. A queue left by an older
    version or other settings (the broker refuses to change a queue's
    arguments) is replaced when it is empty; a non-empty one is an operator's
    to inspect, and the error says so."""
    arguments = dead_letter_arguments(settings)
    try:
        channel.queue_declare(pipeline.DEAD_LETTER_QUEUE, durable=True, arguments=arguments)
        return channel
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code != 406:  # PRECONDITION_FAILED: other arguments
            raise
    channel = connection.channel()
    try:
        channel.queue_delete(pipeline.DEAD_LETTER_QUEUE, if_empty=True)
    except pika.exceptions.ChannelClosedByBroker:
        raise RuntimeError(
            f"the queue {pipeline.DEAD_LETTER_QUEUE} exists with other settings than DEAD_LETTER_TTL_SECONDS and "
            f"DEAD_LETTER_MAX_MESSAGES and holds messages: inspect them, then delete the queue "
            f"(rabbitmqctl delete_queue {pipeline.DEAD_LETTER_QUEUE})") from None
    channel.queue_declare(pipeline.DEAD_LETTER_QUEUE, durable=True, arguments=arguments)
    return channel


@dataclass(frozen=True)
class Outgoing:
    """One message to publish (and have confirmed) before a job is acked."""

    exchange: str
    routing_key: str
    body: bytes
    correlation_id: str | None = None
    reply_to: str | None = None
    # Replies go to a gateway's private queue that may be gone (gateway
    # restarted): the broker drops such a reply, which is fine. Everything else
    # must reach a queue (or publish raises and the job is not acked).
    mandatory: bool = True
    headers: dict | None = None


def to_queue(queue: str, job: Job) -> Outgoing:
    """The job, for the stage that consumes ``queue``."""
    return Outgoing("", queue, job.to_bytes(), job.correlation_id, job.reply_to)


def answer(reply_to: str, correlation_id: str | None, reply: Reply) -> Outgoing:
    """The reply to the waiting gateway."""
    return Outgoing("", reply_to, reply.to_bytes(), correlation_id, mandatory=False)


def answer_job(job: Job, reply: Reply) -> Outgoing:
    return answer(job.reply_to, job.correlation_id, reply)


def to_gallery(body: bytes) -> Outgoing:
    """A gallery change, for every matcher copy."""
    return Outgoing(pipeline.GALLERY_EXCHANGE, "", body)


def publish(channel, out: Outgoing) -> None:
    """Publish and wait for the broker's confirm (the channel is in confirm mode).

    Raises one of ``REFUSED_ERRORS`` when the broker did not take a mandatory
    message. Every message carries its publishing time in the header ``ENQUEUED_AT``.
    """
    props = pika.BasicProperties(
        content_type="application/json",
        delivery_mode=PERSISTENT,
        correlation_id=out.correlation_id,
        reply_to=out.reply_to,
        headers={**(out.headers or {}), ENQUEUED_AT: int(time.time() * 1000)},
    )
    channel.basic_publish(out.exchange, out.routing_key, out.body, props, mandatory=out.mandatory)
