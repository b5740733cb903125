"""RabbitMQ: topology, confirmed publishing and the generic worker loop.

Guarantees every worker gets from :func:`run_worker`:

* work queues are durable quorum queues; messages are persistent;
* a job is acked only after everything it produced (the next stage's job, the
  reply, gallery changes) was confirmed by the broker, so a worker killed
  mid-job loses nothing: the broker redelivers it;
* bad input (:class:`~shared.contracts.JobError`) and passed deadlines are
  answered on the reply queue at once, never dropped and never retried;
* a job that keeps failing (a crash, an unexpected exception) is retried at most
  ``MAX_DELIVERIES`` times, then moved to the dead-letter queue ``faces.dead``
  and answered with ``job_failed``. The queues' ``x-delivery-limit`` is the
  broker-side backstop for the case where even that last step crashes;
* the broker going away (restart, network) is survived by reconnecting with
  backoff; unacked jobs are redelivered by the broker.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import pika
import pika.exceptions

from shared import contracts
from shared.config import Settings
from shared.contracts import ErrorCode, Job, JobError, Reply
from shared.metrics import JOB_SECONDS, JOBS, Health

log = logging.getLogger(__name__)

RECONNECT_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    ConnectionError,
)


def connection_parameters(settings: Settings) -> pika.URLParameters:
    params = pika.URLParameters(settings.amqp_url)
    params.heartbeat = 120
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.client_properties = {"connection_name": "attendance-tracker"}
    return params


def connect(settings: Settings) -> pika.BlockingConnection:
    return pika.BlockingConnection(connection_parameters(settings))


def declare_topology(channel, settings: Settings) -> None:
    """Declare exchanges and queues; idempotent, every service calls it at connect."""
    channel.exchange_declare(contracts.DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
    channel.queue_declare(contracts.DEAD_LETTER_QUEUE, durable=True)
    channel.queue_bind(contracts.DEAD_LETTER_QUEUE, contracts.DEAD_LETTER_EXCHANGE)
    for queue in contracts.WORK_QUEUES:
        channel.queue_declare(
            queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": settings.max_deliveries,
                "x-dead-letter-exchange": contracts.DEAD_LETTER_EXCHANGE,
            },
        )
    channel.exchange_declare(contracts.GALLERY_EXCHANGE, exchange_type="fanout", durable=True)


PERSISTENT = pika.DeliveryMode.Persistent


@dataclass
class Outgoing:
    """One message a handler wants published before its input is acked."""

    exchange: str
    routing_key: str
    body: bytes
    correlation_id: str | None = None
    reply_to: str | None = None
    # Replies go to a gateway's private queue that may be gone (gateway
    # restarted): the broker drops such a reply, which is fine. Everything else
    # must reach a queue (or publish raises and the job is not acked).
    mandatory: bool = True


def forward(job: Job, queue: str) -> Outgoing:
    """The job, passed on to the next stage's queue."""
    return Outgoing("", queue, job.to_bytes(), job.correlation_id, job.reply_to)


def answer(reply_to: str, correlation_id: str, reply: Reply) -> Outgoing:
    """The reply to the waiting gateway."""
    return Outgoing("", reply_to, reply.to_bytes(), correlation_id, mandatory=False)


def answer_job(job: Job, reply: Reply) -> Outgoing:
    return answer(job.reply_to, job.correlation_id, reply)


def publish(channel, out: Outgoing, headers: dict | None = None) -> None:
    """Publish and wait for the broker's confirm (the channel is in confirm mode).

    Raises ``pika.exceptions.UnroutableError`` / ``NackError`` when the broker
    did not take a mandatory message.
    """
    props = pika.BasicProperties(
        content_type="application/json",
        delivery_mode=PERSISTENT,
        correlation_id=out.correlation_id,
        reply_to=out.reply_to,
        headers=headers,
    )
    channel.basic_publish(out.exchange, out.routing_key, out.body, props, mandatory=out.mandatory)


Handler = Callable[[Job], Iterable[Outgoing]]


class Worker:
    """Consume one work queue and run ``handler`` on every job, with the
    guarantees listed in the module docstring.

    ``on_connect(channel)`` runs after every (re)connect, before consuming:
    the matcher binds its gallery-change queue and reloads the gallery there.
    """

    def __init__(
        self,
        service: str,
        queue: str,
        handler: Handler,
        settings: Settings,
        health: Health,
        on_connect: Callable[[object], None] | None = None,
    ):
        self.service = service
        self.queue = queue
        self.handler = handler
        self.settings = settings
        self.health = health
        self.on_connect = on_connect

    # -- message handling --------------------------------------------------
    def _deliver(self, channel, outputs: Iterable[Outgoing]) -> None:
        for out in outputs:
            publish(channel, out)

    def _reply_failure(self, channel, props, job_id: str, code: str, message: str) -> None:
        if not props.reply_to:
            log.warning("cannot answer job %s (%s): no reply_to", job_id, code)
            return
        reply = Reply.failure(job_id, code, message)
        publish(channel, answer(props.reply_to, props.correlation_id, reply))

    def on_message(self, channel, method, props, body: bytes) -> None:
        started = time.monotonic()
        deliveries = int((props.headers or {}).get("x-delivery-count", 0))
        try:
            job = Job.from_bytes(body)
        except JobError as exc:
            log.warning("unreadable message on %s: %s", self.queue, exc.message)
            self._reply_failure(channel, props, "unknown", exc.code, exc.message)
            channel.basic_ack(method.delivery_tag)
            JOBS.labels(self.service, "unknown", "bad_message").inc()
            return

        if deliveries >= self.settings.max_deliveries:
            # It failed on every earlier attempt: park it for an operator and
            # tell the waiting client, instead of crashing another worker.
            log.error("job %s failed %d times on %s: dead-lettered", job.job_id, deliveries, self.queue)
            publish(
                channel,
                Outgoing("", contracts.DEAD_LETTER_QUEUE, body, props.correlation_id, props.reply_to),
                headers={"x-failed-queue": self.queue, "x-deliveries": deliveries},
            )
            self._reply_failure(
                channel, props, job.job_id, ErrorCode.JOB_FAILED,
                f"the {self.service} failed on this job {deliveries} times; it was moved to "
                f"the dead-letter queue {contracts.DEAD_LETTER_QUEUE}",
            )
            channel.basic_ack(method.delivery_tag)
            JOBS.labels(self.service, job.kind, "dead_lettered").inc()
            return

        if job.expired():
            self._reply_failure(
                channel, props, job.job_id, ErrorCode.DEADLINE_EXCEEDED,
                f"deadline passed before the {self.service} could process the job",
            )
            channel.basic_ack(method.delivery_tag)
            JOBS.labels(self.service, job.kind, "expired").inc()
            return

        try:
            outputs = list(self.handler(job))
            outcome = "ok"
        except JobError as exc:
            outputs = [answer_job(job, Reply.failure(job.job_id, exc.code, exc.message))]
            outcome = exc.code
        except Exception:  # noqa: BLE001 - any crash: retry, bounded by max_deliveries
            log.exception("job %s crashed the %s (delivery %d)", job.job_id, self.service, deliveries + 1)
            JOBS.labels(self.service, job.kind, "crashed").inc()
            time.sleep(0.5)  # no hot loop on a persistent failure (e.g. database down)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        self._deliver(channel, outputs)
        channel.basic_ack(method.delivery_tag)
        JOBS.labels(self.service, job.kind, outcome).inc()
        JOB_SECONDS.labels(self.service, job.kind).observe(time.monotonic() - started)

    # -- connection lifecycle ----------------------------------------------
    def run_forever(self) -> None:
        """Consume until the process ends; reconnect with backoff on any failure.

        Setup failures other than the broker's (e.g. the matcher's database
        being down while it reloads the gallery) are retried the same way, with
        the service reported not ready meanwhile.
        """
        backoff = 1.0
        while True:
            connection = None
            try:
                connection = connect(self.settings)
                channel = connection.channel()
                channel.confirm_delivery()
                declare_topology(channel, self.settings)
                channel.basic_qos(prefetch_count=self.settings.prefetch)
                if self.on_connect:
                    self.on_connect(channel)
                channel.basic_consume(self.queue, self.on_message)
                self.health.set_ready("broker", True)
                log.info("%s consuming %s", self.service, self.queue)
                backoff = 1.0
                channel.start_consuming()
            except RECONNECT_ERRORS as exc:
                log.warning("broker connection lost (%s); reconnecting in %.0fs", exc or type(exc).__name__, backoff)
            except Exception:  # noqa: BLE001 - keep the service alive, report not ready
                log.exception("%s setup failed; retrying in %.0fs", self.service, backoff)
            finally:
                self.health.set_ready("broker", False)
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except Exception:  # noqa: BLE001 - closing a broken connection
                        pass
            time.sleep(backoff)
            backoff = min(backoff * 2, 15.0)
