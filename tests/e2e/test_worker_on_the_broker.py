"""The worker loop and the topology on a real RabbitMQ, without models: long
jobs under a short heartbeat, the broker-side delivery limit, dead-letter
retention. Each test gets a virtual host of its own."""
from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import pika
import pytest

from shared import config, pipeline
from shared.broker import connect, declare_topology
from shared.contracts import RECOGNIZE, Job
from shared.metrics import Health
from shared.worker import Processor, Worker, default_policies
from tests.e2e.stack import rabbitmqctl

EMBEDDER = pipeline.stage("embedder")


@pytest.fixture
def settings():
    vhost = f"attendance-worker-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield dataclasses.replace(config.load(), amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
    finally:
        rabbitmqctl("delete_vhost", vhost)


def job() -> Job:
    return Job(kind=RECOGNIZE, reply_to="nobody", correlation_id="c1", deadline=time.time() + 120, image=b"x")


def queue_depth(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def wait_for(condition, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_job_longer_than_two_heartbeats_is_done_once_and_the_connection_survives(settings):
    """Inference runs on a work thread: the connection keeps answering the
    broker's heartbeats. On the connection's thread, the broker would drop the
    connection after two missed heartbeats and redeliver the job."""
    conn = connect(settings)  # the test's own connection, with the usual heartbeat
    settings = dataclasses.replace(settings, amqp_heartbeat_seconds=1)
    calls, sessions = [], []

    def slow(j: Job) -> Job:
        calls.append(time.time())
        time.sleep(5)  # five heartbeats
        return j.evolve(image=None)

    health = Health("broker")
    worker = Worker(EMBEDDER, Processor(EMBEDDER, slow, default_policies(EMBEDDER, settings)), settings, health,
                    on_connect=lambda channel: sessions.append(1))
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: health.status()[0], 30), "the worker did not connect"
        ch = conn.channel()
        ch.basic_publish("", EMBEDDER.queue, job().to_bytes(), pika.BasicProperties(delivery_mode=2))
        assert wait_for(lambda: queue_depth(ch, pipeline.next_queue(EMBEDDER)) == 1, 30), "nothing forwarded"
        time.sleep(3)  # a redelivery would show now
        assert len(calls) == 1 and sessions == [1]
        assert queue_depth(ch, EMBEDDER.queue) == 0 and queue_depth(ch, pipeline.DEAD_LETTER_QUEUE) == 0
    finally:
        worker.stop()
        thread.join(timeout=15)
        conn.close()
    assert not thread.is_alive()


def test_the_broker_dead_letters_a_job_rejected_beyond_the_delivery_limit(settings):
    """The backstop when even the worker's own dead-lettering keeps failing:
    each reject counts (x-delivery-count), and past MAX_DELIVERIES the quorum
    queue hands the job to faces.dead itself."""
    conn = connect(settings)
    try:
        declare_topology(conn, settings)
        ch = conn.channel()
        ch.basic_publish("", EMBEDDER.queue, job().to_bytes(), pika.BasicProperties(delivery_mode=2))
        counts = []
        for _ in range(settings.max_deliveries + 1):
            method = None
            for _ in range(50):
                method, props, _ = ch.basic_get(EMBEDDER.queue)
                if method:
                    break
                time.sleep(0.1)
            assert method, "the job did not come back after a reject"
            counts.append((props.headers or {}).get("x-delivery-count", 0))
            ch.basic_reject(method.delivery_tag, requeue=True)
        assert counts == list(range(settings.max_deliveries + 1))
        assert wait_for(lambda: queue_depth(ch, pipeline.DEAD_LETTER_QUEUE) == 1, 10)
        assert queue_depth(ch, EMBEDDER.queue) == 0
    finally:
        conn.close()


def test_dead_letters_are_kept_for_a_bounded_time_and_number(settings):
    settings = dataclasses.replace(settings, dead_letter_ttl_seconds=2, dead_letter_max_messages=3)
    conn = connect(settings)
    try:
        declare_topology(conn, settings)
        ch = conn.channel()
        for i in range(5):
            ch.basic_publish("", pipeline.DEAD_LETTER_QUEUE, f"job {i}".encode())
        assert wait_for(lambda: queue_depth(ch, pipeline.DEAD_LETTER_QUEUE) == 3, 5)  # the oldest two dropped
        method, _, body = ch.basic_get(pipeline.DEAD_LETTER_QUEUE, auto_ack=False)
        assert body == b"job 2"
        ch.basic_nack(method.delivery_tag, requeue=True)
        assert wait_for(lambda: queue_depth(ch, pipeline.DEAD_LETTER_QUEUE) == 0, 10)  # and they expire
    finally:
        conn.close()


def test_an_old_empty_dead_letter_queue_is_replaced_and_a_full_one_reported(settings):
    conn = connect(settings)
    try:
        ch = conn.channel()
        ch.queue_declare(pipeline.DEAD_LETTER_QUEUE, durable=True)  # as an older version declared it
        declare_topology(conn, settings)  # empty: replaced with retention
        ch = conn.channel()
        ch.queue_delete(pipeline.DEAD_LETTER_QUEUE)
        ch.queue_declare(pipeline.DEAD_LETTER_QUEUE, durable=True)
        ch.basic_publish("", pipeline.DEAD_LETTER_QUEUE, b"evidence")
        with pytest.raises(RuntimeError, match="delete_queue"):
            declare_topology(conn, settings)
        assert queue_depth(conn.channel(), pipeline.DEAD_LETTER_QUEUE) == 1  # nothing lost
    finally:
        conn.close()
