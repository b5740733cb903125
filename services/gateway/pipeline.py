"""The gateway's client of the pipeline: publish jobs, wait for their replies.

pika connections are not thread-safe, so one I/O thread owns the connection:
it publishes (with broker confirms) and consumes this process's private reply
queue. Request threads hand jobs over with ``add_callback_threadsafe`` and wait
on a future keyed by the job's correlation id. A reply that arrives after its
request gave up finds no future and is discarded (and counted).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from shared.broker import connect, declare_topology, publish, to_gallery, to_queue
from shared.config import Settings
from shared.contracts import Enrollment, GalleryChange, Job, MatchScope, Reply
from shared.logs import REQUEST_ID
from shared.metrics import LATE_REPLIES, PIPELINE_WAIT
from shared.pipeline import FIRST_STAGE
from shared.reconnect import keep_connected

log = logging.getLogger(__name__)


class PipelineUnavailable(Exception):
    """The broker cannot be reached or refused the job."""


class PipelineTimeout(Exception):
    """No reply before the job's deadline."""


class ChannelLost(ConnectionError):
    """The channel is unusable though the connection is up: reconnect."""


class PipelineClient:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._pending: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._connection = None
        self._channel = None
        self._reply_queue: str | None = None
        self._ready = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="pipeline-io", daemon=True)

    # -- lifecycle -------------------------------------------------------------
    def start(self, wait_seconds: float = 0.0) -> "PipelineClient":
        self._thread.start()
        self._ready.wait(wait_seconds)
        return self

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def stop(self) -> None:
        self._stopping = True
        self._thread.join(timeout=5)

    def _run(self) -> None:
        keep_connected(self._session, name="pipeline client", on_down=self._on_down,
                       stopping=lambda: self._stopping)

    def _session(self, connected) -> None:
        self._connection = connect(self.settings)
        declare_topology(self._connection, self.settings)
        channel = self._connection.channel()
        channel.confirm_delivery()
        # Private, server-named reply queue: gone with this connection.
        self._reply_queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        cancelled = threading.Event()
        channel.add_on_cancel_callback(lambda frame: cancelled.set())
        channel.basic_consume(self._reply_queue, self._on_reply, auto_ack=True)
        self._channel = channel
        self._ready.set()
        log.info("pipeline client connected; replies on %s", self._reply_queue)
        connected()
        while not self._stopping:
            self._connection.process_data_events(time_limit=1)
            # The broker can close the channel (e.g. a publish to an exchange
            # deleted meanwhile) or cancel the reply consumer (its queue
            # deleted) while the connection stays up: then no reply can ever
            # arrive. Start over on a new connection instead of answering 503
            # (or waiting out every deadline) until the connection drops.
            if not channel.is_open or cancelled.is_set():
                raise ChannelLost("the broker closed the pipeline client's channel" if not channel.is_open
                                  else "the broker cancelled the reply consumer")

    def _on_down(self) -> None:
        self._ready.clear()
        self._channel = None
        # Replies to the old queue can never arrive: fail the waiters now.
        self._fail_pending(PipelineUnavailable("lost the connection to the message broker"))
        conn, self._connection = self._connection, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def _fail_pending(self, exc: Exception) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(exc)

    def _on_reply(self, channel, method, props, body: bytes) -> None:
        with self._lock:
            fut = self._pending.pop(props.correlation_id or "", None)
        if fut is None:
            LATE_REPLIES.inc()
            log.info("discarded a late reply (correlation id %s)", props.correlation_id)
            return
        try:
            fut.set_result(Reply.from_bytes(body))
        except Exception as exc:  # noqa: BLE001 - malformed reply
            fut.set_exception(exc)

    # -- requests --------------------------------------------------------------
    def _in_io_thread(self, action) -> Future:
        """Run ``action(channel)`` on the I/O thread; the future holds its result."""
        connection = self._connection
        if not self._ready.is_set() or connection is None:
            raise PipelineUnavailable("the message broker is not reachable")
        done: Future = Future()

        def run():
            try:
                done.set_result(action(self._channel))
            except Exception as exc:  # noqa: BLE001 - unroutable, nacked, connection lost
                done.set_exception(exc)

        try:
            connection.add_callback_threadsafe(run)
        except Exception as exc:  # noqa: BLE001 - connection closed meanwhile
            raise PipelineUnavailable(str(exc)) from None
        return done

    def submit(self, kind: str, image: bytes, timeout: float, enroll: Enrollment | None = None,
               scope: MatchScope | None = None) -> tuple[Job, Future]:
        """Publish one job; returns it and the future of its reply."""
        reply_queue = self._reply_queue
        if not self._ready.is_set() or reply_queue is None:
            raise PipelineUnavailable("the message broker is not reachable")
        job = Job(kind=kind, reply_to=reply_queue, correlation_id=uuid.uuid4().hex,
                  deadline=time.time() + timeout, image=image, enroll=enroll, scope=scope,
                  request_id=REQUEST_ID.get())
        reply: Future = Future()
        with self._lock:
            self._pending[job.correlation_id] = reply

        def on_published(published: Future) -> None:
            exc = published.exception()
            if exc is not None:
                with self._lock:
                    self._pending.pop(job.correlation_id, None)
                if not reply.done():
                    reply.set_exception(PipelineUnavailable(f"the broker did not take the job: {exc}"))

        try:
            self._in_io_thread(lambda channel: publish(channel, to_queue(FIRST_STAGE.queue, job)))\
                .add_done_callback(on_published)
        except PipelineUnavailable:
            with self._lock:
                self._pending.pop(job.correlation_id, None)
            raise
        return job, reply

    def wait(self, job: Job, fut: Future) -> Reply:
        """The job's reply; PipelineTimeout once its deadline passed."""
        started = time.monotonic()
        try:
            return fut.result(timeout=max(0.0, job.deadline - time.time()) + 0.5)
        except FutureTimeout:
            raise PipelineTimeout("no answer from the pipeline before the job's deadline") from None
        finally:
            with self._lock:
                self._pending.pop(job.correlation_id, None)
            PIPELINE_WAIT.labels(job.kind).observe(time.monotonic() - started)

    def announce(self, change: GalleryChange) -> None:
        """Tell every matcher copy about a gallery change (confirmed by the broker)."""
        try:
            self._in_io_thread(lambda channel: publish(channel, to_gallery(change.to_bytes()))).result(timeout=10)
        except PipelineUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001
            raise PipelineUnavailable(f"could not publish the gallery change: {exc}") from None
