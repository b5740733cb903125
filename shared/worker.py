"""The worker loop: what happens to each delivered message, and the consumer
that runs it. This is the code that decides whether data is lost.

Every worker gets these guarantees:

* a job is acked only after everything it produced (the next stage's job, the
  reply, gallery changes) was confirmed by the broker, so a worker killed
  mid-job loses nothing: the broker redelivers it;
* a message that cannot be read (not JSON, not an object, fields of the wrong
  type) is answered with ``bad_message`` where it says whom to answer, and kept
  in the dead-letter queue for an operator; it never crashes the consumer;
* bad input (:class:`~shared.contracts.JobError`) and passed deadlines are
  answered at once, never retried;
* a job that crashes the handler is requeued (``basic.reject``, which the
  broker counts as a delivery); after ``MAX_DELIVERIES`` deliveries it goes to
  the dead-letter queue and the client hears ``job_failed``. The queues'
  ``x-delivery-limit`` is the broker-side backstop;
* an output the broker refuses (unroutable, nacked) requeues the job too.

The parts, after dramatiq's middleware: :class:`Processor` makes a pure
:class:`Decision` for a :class:`Delivery` (run the handler, or let a
:class:`Policy` — delivery limit, deadline — decide first); :func:`settle`
carries it out on a channel; :class:`Worker` is the pika consumer around both.
``tests/unit/test_worker.py`` checks each rule against an in-memory channel.
"""
from __future__ import annotations

import collections
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence, Union

from shared import pipeline
from shared.broker import (ENQUEUED_AT, REFUSED_ERRORS, Outgoing, answer, answer_job, connect, declare_topology,
                           publish, to_queue)
from shared.config import Settings
from shared.contracts import ENROLL, ErrorCode, Job, JobError, Reply
from shared.logs import request_context
from shared.metrics import (DEAD_LETTERS, ENROLLMENT_PHOTOS, JOB_SECONDS, JOBS, QUEUE_WAIT_SECONDS, REDELIVERIES,
                            Health)
from shared.pipeline import Stage
from shared.reconnect import keep_connected

log = logging.getLogger(__name__)

ACK, RETRY = "ack", "retry"
# Wait before requeueing a crashed job: no hot loop on a persistent failure.
RETRY_DELAY_SECONDS = 0.5


@dataclass(frozen=True)
class Delivery:
    """One message as the broker delivered it."""

    body: bytes
    tag: int
    reply_to: str | None = None
    correlation_id: str | None = None
    deliveries: int = 0  # earlier deliveries of this message (quorum queues' x-delivery-count)
    enqueued_at: float | None = None  # when it was published (Unix time, s; header x-enqueued-at-ms), if it says

    @classmethod
    def from_pika(cls, method, props, body: bytes) -> "Delivery":
        headers = props.headers or {}
        count = headers.get("x-delivery-count", 0)
        enqueued_ms = headers.get(ENQUEUED_AT)
        return cls(body, method.delivery_tag, props.reply_to, props.correlation_id,
                   count if isinstance(count, int) else 0,
                   enqueued_ms / 1000 if isinstance(enqueued_ms, (int, float)) and not isinstance(enqueued_ms, bool)
                   else None)


@dataclass(frozen=True)
class Result:
    """What a handler produced: a job for the next stage and/or a reply, plus
    other messages to publish before the input is acked (gallery changes)."""

    job: Job | None = None
    reply: Reply | None = None
    also: tuple[Outgoing, ...] = ()


# A handler returns the job for the next stage, the reply, or a Result.
Handler = Callable[[Job], Union[Job, Reply, Result]]


@dataclass(frozen=True)
class Decision:
    """What to do with one delivery: publish ``outgoing``, then ack or requeue."""

    outcome: str  # for metrics and logs: ok, expired, bad_message, dead_lettered, crashed, or an error code
    kind: str  # the job's kind, "unknown" when unreadable
    settle: str = ACK
    outgoing: tuple[Outgoing, ...] = ()
    delay: float = 0.0  # seconds to wait before requeueing


def reply_to_delivery(delivery: Delivery, job_id: str, code: str, message: str) -> tuple[Outgoing, ...]:
    """The error reply, if the message says whom to answer."""
    if not delivery.reply_to:
        return ()
    return (answer(delivery.reply_to, delivery.correlation_id, Reply.failure(job_id, code, message)),)


def to_dead_letters(delivery: Delivery, stage: Stage, why: str) -> Outgoing:
    """The message as it came, parked in the dead-letter queue with the reason."""
    return Outgoing("", pipeline.DEAD_LETTER_QUEUE, delivery.body, delivery.correlation_id, delivery.reply_to,
                    headers={"x-failed-queue": stage.queue, "x-deliveries": delivery.deliveries, "x-reason": why})


class Policy:
    """One rule around the handler. ``before`` may decide instead of the
    handler; ``after`` sees every decision once it was carried out."""

    def before(self, delivery: Delivery, job: Job) -> Decision | None:
        return None

    def after(self, delivery: Delivery, decision: Decision, seconds: float) -> None:
        pass


class DeliveryLimit(Policy):
    """A job delivered ``max_deliveries`` times already failed each time: park
    it for an operator and tell the waiting client, instead of crashing again."""

    def __init__(self, stage: Stage, max_deliveries: int):
        self.stage, self.max_deliveries = stage, max_deliveries

    def before(self, delivery, job):
        if delivery.deliveries < self.max_deliveries:
            return None
        log.error("job %s failed %d times on %s: dead-lettered", job.job_id, delivery.deliveries, self.stage.queue)
        message = (f"the {self.stage.name} failed on this job {delivery.deliveries} times; it was moved to "
                   f"the dead-letter queue {pipeline.DEAD_LETTER_QUEUE}")
        return Decision("dead_lettered", job.kind, ACK, (
            to_dead_letters(delivery, self.stage, "delivery limit"),
            *reply_to_delivery(delivery, job.job_id, ErrorCode.JOB_FAILED, message)))


class Deadline(Policy):
    """Nobody waits for a job past its deadline: answer so, do no work."""

    def __init__(self, stage: Stage, clock: Callable[[], float] = time.time):
        self.stage, self.clock = stage, clock

    def before(self, delivery, job):
        if not job.expired(self.clock()):
            return None
        reply = Reply.failure(job.job_id, ErrorCode.DEADLINE_EXCEEDED,
                              f"deadline passed before the {self.stage.name} could process the job")
        return Decision("expired", job.kind, ACK, (answer_job(job, reply),))


# The refusals of an enrollment photo (the codes the gateway reports per photo):
# attendance_enrollment_photos_total counts them at the stage that decides them.
ENROLLMENT_REFUSALS = frozenset({ErrorCode.NO_FACE, ErrorCode.MULTIPLE_FACES, ErrorCode.FACE_TOO_SMALL,
                                 ErrorCode.NOT_AN_IMAGE, ErrorCode.IMAGE_TOO_LARGE, ErrorCode.LOOKALIKE})


class Metrics(Policy):
    """Per stage and kind: ``attendance_jobs_total`` by outcome;
    ``attendance_job_seconds``, the work time of acked jobs (from the worker
    receiving the job to its ack); ``attendance_queue_wait_seconds``, from the
    job's publishing (header ``x-enqueued-at-ms``) to the worker receiving it (a
    redelivered job's counts from its first publishing); redeliveries, dead
    letters, and enrollment photos refused (by the stage that refuses them) or
    accepted (by the last stage)."""

    def __init__(self, stage: Stage, clock: Callable[[], float] = time.time):
        self.service, self.last = stage.name, stage.next is None
        self.clock = clock

    def after(self, delivery, decision, seconds):
        kind = decision.kind
        JOBS.labels(self.service, kind, decision.outcome).inc()
        if decision.settle == ACK:
            JOB_SECONDS.labels(self.service, kind).observe(seconds)
        if delivery.enqueued_at is not None:
            # Received ``seconds`` ago; the clocks of two hosts may disagree a little.
            QUEUE_WAIT_SECONDS.labels(self.service, kind).observe(
                max(0.0, self.clock() - seconds - delivery.enqueued_at))
        if delivery.deliveries > 0:
            REDELIVERIES.labels(self.service, kind).inc()
        if any(out.routing_key == pipeline.DEAD_LETTER_QUEUE for out in decision.outgoing):
            DEAD_LETTERS.labels(self.service, "unreadable" if kind == "unknown" else "delivery_limit").inc()
        if kind == ENROLL:
            if decision.outcome in ENROLLMENT_REFUSALS:
                ENROLLMENT_PHOTOS.labels("refused", decision.outcome).inc()
            elif decision.outcome == "ok" and self.last:
                ENROLLMENT_PHOTOS.labels("accepted", "none").inc()


def default_policies(stage: Stage, settings: Settings) -> list[Policy]:
    return [DeliveryLimit(stage, settings.max_deliveries), Deadline(stage), Metrics(stage)]


class Processor:
    """Turns a delivery into a :class:`Decision`. Pure apart from the handler."""

    def __init__(self, stage: Stage, handler: Handler, policies: Sequence[Policy]):
        self.stage, self.handler, self.policies = stage, handler, list(policies)
        self.next_queue = pipeline.next_queue(stage)

    def decide(self, delivery: Delivery) -> Decision:
        return self.decide_many([delivery])[0]

    def decide_many(self, deliveries: Sequence[Delivery]) -> list[Decision]:
        """One decision per delivery. Jobs the policies let through go to the
        handler together when it can batch (``handler.batch``: jobs in, one
        result or exception per job out) - the embedder runs one forward pass
        for the faces of several photos; a batch that fails as a whole is
        retried job by job, so one bad job cannot fail its neighbours."""
        decisions: list[Decision | None] = [None] * len(deliveries)
        admitted: list[tuple[int, Job]] = []
        for i, delivery in enumerate(deliveries):
            job, decisions[i] = self._admit(delivery)
            if job is not None:
                admitted.append((i, job))
        batch = getattr(self.handler, "batch", None)
        results: list = []
        if batch is not None and len(admitted) > 1:
            try:
                results = list(batch([job for _, job in admitted]))
            except Exception:  # noqa: BLE001 - each job on its own below
                log.exception("a batch of %d jobs failed on the %s; handling them one by one",
                              len(admitted), self.stage.name)
                results = []
        for n, (i, job) in enumerate(admitted):
            with request_context(job.request_id):
                outcome = results[n] if results else self._run(job)
                decisions[i] = self._decision_for(deliveries[i], job, outcome)
                log.info("%s job %s: %s", job.kind, job.job_id, decisions[i].outcome)
        return decisions  # type: ignore[return-value]

    def _admit(self, delivery: Delivery) -> tuple[Job | None, Decision | None]:
        """The job to handle, or the decision made without the handler."""
        try:
            job = Job.from_bytes(delivery.body)
        except JobError as exc:
            log.warning("unreadable message on %s: %s", self.stage.queue, exc.message)
            return None, Decision(ErrorCode.BAD_MESSAGE, "unknown", ACK, (
                to_dead_letters(delivery, self.stage, exc.message),
                *reply_to_delivery(delivery, "unknown", exc.code, exc.message)))
        with request_context(job.request_id):
            for policy in self.policies:
                decision = policy.before(delivery, job)
                if decision is not None:
                    log.info("%s job %s: %s", job.kind, job.job_id, decision.outcome)
                    return None, decision
        return job, None

    def _run(self, job: Job):
        """The handler's result for one job, or the exception it raised."""
        try:
            return self.handler(job)
        except Exception as exc:  # noqa: BLE001 - judged in _decision_for
            return exc

    def _decision_for(self, delivery: Delivery, job: Job, outcome) -> Decision:
        if isinstance(outcome, JobError):
            return Decision(outcome.code, job.kind, ACK, (answer_job(
                job, Reply.failure(job.job_id, outcome.code, outcome.message, outcome.details)),))
        try:
            if isinstance(outcome, Exception):
                raise outcome
            return Decision("ok", job.kind, ACK, self._outputs(job, outcome))
        except Exception:  # noqa: BLE001 - any crash: retry, bounded by the delivery limit
            log.exception("job %s crashed the %s (delivery %d)", job.job_id, self.stage.name, delivery.deliveries + 1)
            return Decision("crashed", job.kind, RETRY, delay=RETRY_DELAY_SECONDS)

    def _outputs(self, job: Job, result) -> tuple[Outgoing, ...]:
        if isinstance(result, Job):
            result = Result(job=result)
        elif isinstance(result, Reply):
            result = Result(reply=result)
        out = list(result.also)
        if result.job is not None:
            if self.next_queue is None:
                raise TypeError(f"{self.stage.name} is the last stage: its handler must return a Reply")
            out.append(to_queue(self.next_queue, result.job))
        if result.reply is not None:
            out.append(answer_job(job, result.reply))
        return tuple(out)

    def settled(self, delivery: Delivery, decision: Decision, seconds: float) -> None:
        for policy in self.policies:
            policy.after(delivery, decision, seconds)


def settle(channel, delivery: Delivery, decision: Decision) -> Decision:
    """Carry out ``decision``: publish its messages with confirms, then ack, or
    requeue. Returns the decision as carried out (a refused output turns it
    into a retry). A lost connection raises: the broker redelivers the job.
    Runs on the connection's thread; a retry's delay was waited out before."""
    try:
        for out in decision.outgoing:
            publish(channel, out)
    except REFUSED_ERRORS as exc:
        log.warning("the broker refused an output of a %s job (%s): requeued", decision.kind, type(exc).__name__)
        decision = Decision("output_refused", decision.kind, RETRY, delay=RETRY_DELAY_SECONDS)
    if decision.settle == ACK:
        channel.basic_ack(delivery.tag)
    else:
        # reject, not nack: RabbitMQ 4 counts only rejections as deliveries.
        channel.basic_reject(delivery.tag, requeue=True)
    return decision


class Worker:
    """Consume one stage's queue with a :class:`Processor`, reconnecting forever.

    pika's connection is not thread-safe and must answer the broker's
    heartbeats: its thread only receives and settles. Handlers (inference for
    seconds, a gallery reload for a minute) run on a separate work thread,
    which hands each decision back with ``add_callback_threadsafe`` — pika's
    threaded-consumer pattern (``examples/basic_consumer_threaded.py``). A
    decision whose connection died meanwhile is dropped: the broker redelivers.

    ``on_connect(channel)`` runs on the connection's thread after every
    (re)connect, before consuming (the matcher subscribes to gallery changes
    there). It may return a function to run on the work thread before
    consuming starts (the matcher's gallery reload); the connection keeps
    serving heartbeats meanwhile.
    """

    def __init__(self, stage: Stage, processor: Processor, settings: Settings, health: Health,
                 on_connect: Callable[[object], Callable[[], None] | None] | None = None):
        self.stage, self.processor, self.settings, self.health = stage, processor, settings, health
        self.on_connect = on_connect
        # One work thread: the models use every core already; jobs queue here
        # in delivery order (PREFETCH bounds how many).
        self.work = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{stage.name}-work")
        self._waiting: collections.deque = collections.deque()  # deliveries the work thread has not taken yet
        batches = hasattr(processor.handler, "batch") and settings is not None
        self.batch_max = settings.batch_max if batches else 1
        self.batch_wait = settings.batch_wait_ms / 1000 if batches else 0.0
        self._stopping = False
        self._consuming = None  # (connection, channel) while consuming

    def on_message(self, channel, method, props, body: bytes) -> None:
        """On the connection's thread: queue the delivery for the work thread."""
        self._waiting.append((channel.connection, channel, Delivery.from_pika(method, props, body), time.monotonic()))
        self.work.submit(self._process_waiting)

    def _take(self) -> list:
        """Up to ``batch_max`` queued deliveries; when fewer are there, wait at
        most ``batch_wait`` for more (deliveries prefetched a moment apart)."""
        taken, deadline = [], time.monotonic() + self.batch_wait
        while len(taken) < self.batch_max:
            try:
                taken.append(self._waiting.popleft())
            except IndexError:
                if not taken or time.monotonic() >= deadline:
                    break
                time.sleep(0.001)
        return taken

    def _process_waiting(self) -> None:
        """On the work thread: decide a batch, wait out a retry's delay, send the decisions back."""
        taken = self._take()
        if not taken:
            return  # an earlier call took these deliveries in its batch
        decisions = self.processor.decide_many([delivery for _, _, delivery, _ in taken])
        delay = max(d.delay for d in decisions)
        if delay:
            time.sleep(delay)
        for (connection, channel, delivery, started), decision in zip(taken, decisions):
            try:
                connection.add_callback_threadsafe(
                    functools.partial(self._settle, channel, delivery, decision, started))
            except Exception:  # noqa: BLE001 - connection closed meanwhile: the broker redelivers
                log.warning("connection gone before a %s job could be settled; the broker redelivers it",
                            decision.kind)

    def _settle(self, channel, delivery: Delivery, decision: Decision, started: float) -> None:
        """On the connection's thread again: publish, then ack or requeue."""
        if not channel.is_open:
            return
        decision = settle(channel, delivery, decision)
        self.processor.settled(delivery, decision, time.monotonic() - started)

    def _session(self, connected: Callable[[], None]) -> None:
        connection = connect(self.settings)
        try:
            declare_topology(connection, self.settings)
            channel = connection.channel()
            channel.confirm_delivery()
            # A batching handler needs the deliveries of a batch at hand.
            channel.basic_qos(prefetch_count=max(self.settings.prefetch, self.batch_max))
            prepare = self.on_connect(channel) if self.on_connect else None
            if prepare is not None:
                pending = self.work.submit(prepare)
                while not pending.done():
                    connection.process_data_events(time_limit=0.2)
                pending.result()  # a failed preparation ends this session
            channel.basic_consume(self.stage.queue, self.on_message)
            self.health.set_ready("broker", True)
            log.info("%s consuming %s", self.stage.name, self.stage.queue)
            connected()
            self._consuming = (connection, channel)
            if not self._stopping:
                channel.start_consuming()
        finally:
            self._consuming = None
            if connection.is_open:
                try:
                    connection.close()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass

    def run_forever(self) -> None:
        """Consume until :meth:`stop` (or the process ends), reconnecting after failures."""
        keep_connected(self._session, name=self.stage.name, stopping=lambda: self._stopping,
                       on_down=lambda: self.health.set_ready("broker", False))

    def stop(self) -> None:
        """End :meth:`run_forever` from another thread; unacked jobs go back to the queue."""
        self._stopping = True
        consuming = self._consuming
        if consuming is not None:
            connection, channel = consuming
            try:
                connection.add_callback_threadsafe(channel.stop_consuming)
            except Exception:  # noqa: BLE001 - already closed
                pass
