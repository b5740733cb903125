"""The worker loop's rules, against an in-memory channel: what is published,
acked, requeued and dead-lettered for every kind of delivery."""
from __future__ import annotations

import json
import time

import pika
import pytest
from prometheus_client import REGISTRY

from shared import pipeline
from shared.broker import to_gallery
from shared.contracts import ENROLL, RECOGNIZE, ErrorCode, Face, Job, JobError, Reply
from shared.pipeline import STAGES
from shared.reconnect import Backoff, keep_connected
from shared.worker import (ACK, RETRY, Deadline, Delivery, DeliveryLimit, Metrics, Processor, Result, Worker,
                           settle)
from tests.unit.stub_channel import StubChannel

FIRST, LAST = STAGES[0], STAGES[-1]
MAX_DELIVERIES = 3
REPLY_QUEUE = "amq.gen-reply"


def job(**kw) -> Job:
    base = dict(kind=RECOGNIZE, reply_to=REPLY_QUEUE, correlation_id="corr-1", deadline=time.time() + 60,
                image=b"\xff\xd8\xffjpeg")
    base.update(kw)
    return Job(**base)


def delivery(body: bytes, deliveries: int = 0, reply_to: str | None = REPLY_QUEUE, tag: int = 7) -> Delivery:
    return Delivery(body, tag, reply_to, "corr-1", deliveries)


def processor(handler, stage=FIRST, clock=time.time) -> Processor:
    return Processor(stage, handler, [DeliveryLimit(stage, MAX_DELIVERIES), Deadline(stage, clock), Metrics(stage)])


def run(handler, body: bytes, stage=FIRST, channel=None, **kw):
    """Decide and settle one delivery; returns (channel, decision, the retry delay)."""
    channel = channel or StubChannel()
    d = delivery(body, **kw)
    proc = processor(handler, stage)
    decision = settle(channel, d, proc.decide(d))
    proc.settled(d, decision, 0.01)
    return channel, decision, decision.delay


def reply_of(channel: StubChannel) -> Reply:
    (answer,) = channel.to(REPLY_QUEUE)
    assert answer.props.correlation_id == "corr-1"
    return Reply.from_bytes(answer.body)


def never_called(job):
    raise AssertionError("the handler must not run")


# --- the handler's result goes on -----------------------------------------------
def test_a_job_result_is_forwarded_to_the_next_stage_then_acked():
    out = job().evolve(image=None, faces=(Face(box=(1, 2, 3, 4), confidence=0.9),))
    channel, decision, _ = run(lambda j: out, job().to_bytes())
    next_queue = pipeline.next_queue(FIRST)
    assert channel.events == [("publish", next_queue), ("ack", 7)]  # confirmed publish before the ack
    (forwarded,) = channel.to(next_queue)
    assert Job.from_bytes(forwarded.body) == out and forwarded.mandatory
    assert forwarded.props.delivery_mode == pika.DeliveryMode.Persistent.value
    assert decision.outcome == "ok"


def test_a_reply_result_answers_the_gateway():
    channel, decision, _ = run(lambda j: Reply(job_id=j.job_id, ok=True, faces=[]), job().to_bytes(), stage=LAST)
    assert reply_of(channel).ok and channel.events[-1] == ("ack", 7)
    assert channel.to(REPLY_QUEUE)[0].mandatory is False  # a gateway gone meanwhile must not block the ack


def test_every_output_of_a_result_is_published_before_the_ack():
    result = Result(reply=Reply(job_id="j", ok=True), also=(to_gallery(b"{}"),))
    channel, _, _ = run(lambda j: result, job(kind=ENROLL).to_bytes(), stage=LAST)
    assert channel.events == [("publish", pipeline.GALLERY_EXCHANGE), ("publish", REPLY_QUEUE), ("ack", 7)]


def test_the_last_stage_cannot_forward_a_job():
    channel, decision, _ = run(lambda j: j, job().to_bytes(), stage=LAST)
    assert decision.settle == RETRY and channel.published == []


# --- bad input is answered, never retried ------------------------------------------
def test_a_job_error_is_answered_and_acked():
    def refuse(j):
        raise JobError(ErrorCode.NO_FACE, "no face was found")

    channel, decision, _ = run(refuse, job().to_bytes())
    reply = reply_of(channel)
    assert reply.error == {"code": "no_face", "message": "no face was found"}
    assert channel.events[-1] == ("ack", 7) and decision.outcome == "no_face"


@pytest.mark.parametrize("body", [
    b"not json",
    b"[1, 2]",
    b'"a string"',
    json.dumps({"v": 1, "kind": "recognize", "job_id": 5, "reply_to": "q", "correlation_id": "c",
                "deadline": 1e12}).encode(),
    json.dumps({"v": 1, "kind": "recognize", "job_id": "j", "reply_to": "q", "correlation_id": "c",
                "deadline": "tomorrow"}).encode(),
    json.dumps({"v": 1, "kind": "recognize", "job_id": "j", "reply_to": "q", "correlation_id": "c",
                "deadline": 1e12, "faces": [{"box": "everywhere", "confidence": 1}]}).encode(),
])
def test_an_unreadable_message_is_answered_and_kept_for_an_operator(body):
    channel, decision, _ = run(never_called, body)
    reply = reply_of(channel)
    assert reply.error["code"] == ErrorCode.BAD_MESSAGE and reply.job_id == "unknown"
    (dead,) = channel.to(pipeline.DEAD_LETTER_QUEUE)
    assert dead.body == body and dead.props.headers["x-failed-queue"] == FIRST.queue
    assert channel.events[-1] == ("ack", 7) and decision.kind == "unknown"


def test_an_unreadable_message_without_reply_to_is_still_dead_lettered():
    channel, _, _ = run(never_called, b"{]", reply_to=None)
    assert len(channel.to(pipeline.DEAD_LETTER_QUEUE)) == 1 and channel.to(REPLY_QUEUE) == []
    assert channel.events[-1] == ("ack", 7)


def test_an_expired_job_is_answered_without_work():
    channel, decision, _ = run(never_called, job(deadline=time.time() - 1).to_bytes())
    assert reply_of(channel).error["code"] == ErrorCode.DEADLINE_EXCEEDED
    assert channel.events[-1] == ("ack", 7) and decision.outcome == "expired"


# --- crashes: retried, then dead-lettered ---------------------------------------------
def crash(j):
    raise RuntimeError("model exploded")


def test_a_crash_requeues_with_reject_after_a_pause():
    channel, decision, slept = run(crash, job().to_bytes())
    assert channel.published == []
    assert channel.events == [("reject", 7, True)]  # reject: RabbitMQ 4 counts it as a delivery
    assert slept > 0 and decision.outcome == "crashed"


@pytest.mark.parametrize("deliveries", [0, MAX_DELIVERIES - 1])
def test_below_the_limit_a_crash_is_retried(deliveries):
    channel, decision, _ = run(crash, job().to_bytes(), deliveries=deliveries)
    assert decision.settle == RETRY


def test_at_the_delivery_limit_the_job_is_dead_lettered_and_the_client_told():
    body = job().to_bytes()
    channel, decision, _ = run(never_called, body, deliveries=MAX_DELIVERIES)
    (dead,) = channel.to(pipeline.DEAD_LETTER_QUEUE)
    assert dead.body == body and dead.mandatory
    assert dead.props.headers["x-failed-queue"] == FIRST.queue and dead.props.headers["x-deliveries"] == MAX_DELIVERIES
    reply = reply_of(channel)
    assert reply.error["code"] == ErrorCode.JOB_FAILED and pipeline.DEAD_LETTER_QUEUE in reply.error["message"]
    assert channel.events == [("publish", pipeline.DEAD_LETTER_QUEUE), ("publish", REPLY_QUEUE), ("ack", 7)]
    assert decision.outcome == "dead_lettered"


# --- outputs the broker does not take ----------------------------------------------------
def test_an_output_the_broker_refuses_requeues_the_job():
    channel = StubChannel(refuse={pipeline.next_queue(FIRST)})
    channel, decision, _ = run(lambda j: j.evolve(image=None), job().to_bytes(), channel=channel)
    assert channel.events == [("reject", 7, True)] and decision.outcome == "output_refused"


def test_an_error_reply_that_cannot_be_published_leaves_the_job_unacked():
    channel = StubChannel(lose_connection_on={REPLY_QUEUE})
    with pytest.raises(pika.exceptions.StreamLostError):
        run(lambda j: Reply(job_id=j.job_id, ok=True), job().to_bytes(), stage=LAST, channel=channel)
    assert channel.events == []  # neither acked nor rejected: the broker redelivers after reconnect


def test_a_dead_letter_the_broker_refuses_is_not_acked():
    channel = StubChannel(refuse={pipeline.DEAD_LETTER_QUEUE})
    _, decision, _ = run(never_called, job().to_bytes(), channel=channel, deliveries=MAX_DELIVERIES)
    assert ("ack", 7) not in channel.events and decision.settle == RETRY


# --- metrics, and the pika adapter ---------------------------------------------------------
def jobs_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("attendance_jobs_total",
                                     {"service": FIRST.name, "kind": RECOGNIZE, "outcome": outcome}) or 0.0


def test_metrics_count_each_outcome():
    before_ok, before_crash = jobs_counted("ok"), jobs_counted("crashed")
    run(lambda j: j.evolve(image=None), job().to_bytes())
    run(crash, job().to_bytes())
    assert jobs_counted("ok") == before_ok + 1 and jobs_counted("crashed") == before_crash + 1


def test_worker_on_message_reads_the_delivery_count_from_the_headers():
    class Method:
        delivery_tag = 42

    props = pika.BasicProperties(reply_to=REPLY_QUEUE, correlation_id="corr-1",
                                 headers={"x-delivery-count": MAX_DELIVERIES})
    worker = Worker(FIRST, processor(never_called), settings=None, health=None)
    channel = StubChannel()
    worker.on_message(channel, Method(), props, job().to_bytes())
    worker.work.shutdown(wait=True)  # the work thread decided...
    assert channel.events == []  # ...but only the connection's thread publishes and acks
    channel.connection.run_callbacks()
    assert channel.to(pipeline.DEAD_LETTER_QUEUE) and channel.events[-1] == ("ack", 42)


def test_the_handler_runs_off_the_connection_thread_and_a_closed_channel_settles_nothing():
    import threading

    threads = []

    def handler(j):
        threads.append(threading.current_thread().name)
        return j.evolve(image=None)

    class Method:
        delivery_tag = 5

    worker = Worker(FIRST, processor(handler), settings=None, health=None)
    channel = StubChannel()
    worker.on_message(channel, Method(), pika.BasicProperties(), job().to_bytes())
    worker.work.shutdown(wait=True)
    assert threads and threads[0] != threading.current_thread().name
    channel.is_open = False  # the connection died while the job ran
    channel.connection.run_callbacks()
    assert channel.events == []  # not acked: the broker redelivers it


def test_decisions_ack_by_default():
    assert processor(lambda j: j.evolve(image=None)).decide(delivery(job().to_bytes())).settle == ACK


# --- reconnecting ----------------------------------------------------------------------------
def test_keep_connected_backs_off_resets_after_success_and_reports_down():
    events, sleeps = [], []
    iterate = iter([
        ("fail", pika.exceptions.AMQPConnectionError("refused")),
        ("fail", pika.exceptions.AMQPConnectionError("refused")),
        ("serve", None),  # connects, then the connection drops
        ("fail", ConnectionError("reset")),
        ("crash", RuntimeError("database down")),
    ])
    stop = {"now": False}

    def session(connected):
        kind, exc = next(iterate, ("stop", None))
        events.append(kind)
        if kind == "stop":
            stop["now"] = True
            return
        if kind == "serve":
            connected()
            raise pika.exceptions.StreamLostError("lost")
        raise exc

    downs = []
    keep_connected(session, name="test", on_down=lambda: downs.append(1), stopping=lambda: stop["now"],
                   backoff=Backoff(1, 4), sleep=sleeps.append)
    assert events == ["fail", "fail", "serve", "fail", "crash", "stop"]
    assert sleeps == [1, 2, 1, 2, 4]  # doubled, reset by the successful connect, capped at 4
    assert len(downs) == 6


# --- batching ------------------------------------------------------------------------------------
class BatchingHandler:
    """Handles one job, or several in one call (as the embedder does)."""

    def __init__(self, fail_batch=False):
        self.batches, self.singles, self.fail_batch = [], [], fail_batch

    def __call__(self, j):
        self.singles.append(j.job_id)
        if j.image == b"bad":
            raise JobError(ErrorCode.NO_FACE, "no face")
        return j.evolve(image=None)

    def batch(self, jobs):
        self.batches.append([j.job_id for j in jobs])
        if self.fail_batch:
            raise RuntimeError("the batch as a whole failed")
        return [JobError(ErrorCode.NO_FACE, "no face") if j.image == b"bad" else j.evolve(image=None) for j in jobs]


def test_a_batching_handler_gets_the_admitted_jobs_together():
    handler = BatchingHandler()
    jobs = [job(job_id="a"), job(job_id="b", deadline=time.time() - 1), job(job_id="c", image=b"bad"), job(job_id="d")]
    decisions = processor(handler).decide_many([delivery(j.to_bytes(), tag=i) for i, j in enumerate(jobs)])
    assert handler.batches == [["a", "c", "d"]] and handler.singles == []  # b expired: never handled
    assert [d.outcome for d in decisions] == ["ok", "expired", ErrorCode.NO_FACE, "ok"]


def test_a_batch_that_fails_as_a_whole_is_retried_job_by_job():
    handler = BatchingHandler(fail_batch=True)
    jobs = [job(job_id="a"), job(job_id="c", image=b"bad")]
    decisions = processor(handler).decide_many([delivery(j.to_bytes()) for j in jobs])
    assert handler.singles == ["a", "c"] and [d.outcome for d in decisions] == ["ok", ErrorCode.NO_FACE]


def test_the_worker_takes_what_is_waiting_as_one_batch():
    import dataclasses

    from shared import config

    class Method:
        delivery_tag = 1

    handler = BatchingHandler()
    settings = dataclasses.replace(config.load(), batch_max=3, batch_wait_ms=0)
    worker = Worker(FIRST, processor(handler), settings, health=None)
    channel = StubChannel()
    worker.work.submit(time.sleep, 0.2).result  # keep the work thread busy while 4 deliveries arrive
    for i in range(4):
        worker.on_message(channel, Method(), pika.BasicProperties(), job(job_id=f"j{i}").to_bytes())
    worker.work.shutdown(wait=True)
    assert handler.batches == [["j0", "j1", "j2"]] and handler.singles == ["j3"]  # at most batch_max at once
    channel.connection.run_callbacks()
    assert [e[0] for e in channel.events].count("ack") == 4
