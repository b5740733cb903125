"""Failures lose nothing: poison messages, killed workers, deadlines, broker restarts.

This module runs last (alphabetical order): it kills and restarts services and
restarts the broker itself.
"""
from __future__ import annotations

import json
import signal
import threading
import time

import numpy as np
import pika
import pytest
import requests

from shared import contracts
from shared.contracts import Face, Job, encode_array
from tests.e2e.conftest import ROLL_NOS, largest_face_match, photos
from tests.e2e.stack import rabbitmqctl


def test_poison_job_is_retried_a_bounded_number_of_times_then_dead_lettered(stack):
    """A crafted job crashes the embedder on every delivery (an empty crop):
    after MAX_DELIVERIES attempts it lands in faces.dead and the waiting
    client hears why, instead of the job looping forever or vanishing."""
    conn = pika.BlockingConnection(pika.URLParameters(stack.env["AMQP_URL"]))
    try:
        ch = conn.channel()
        reply_queue = ch.queue_declare("", exclusive=True).method.queue
        dead_before = ch.queue_declare(contracts.DEAD_LETTER_QUEUE, passive=True).method.message_count
        job = Job(kind=contracts.RECOGNIZE, reply_to=reply_queue, correlation_id="poison-1",
                  deadline=time.time() + 60,
                  faces=[Face(box=[0, 0, 0, 0], confidence=0.99, crop=encode_array(np.zeros((0, 0, 3), np.uint8)),
                              face_box=[0, 0, 0, 0])])
        ch.basic_publish("", contracts.EMBED_QUEUE, job.to_bytes(),
                         pika.BasicProperties(correlation_id="poison-1", reply_to=reply_queue, delivery_mode=2))
        reply = None
        deadline = time.time() + 30
        while reply is None and time.time() < deadline:
            method, props, body = ch.basic_get(reply_queue, auto_ack=True)
            if method:
                reply = (props.correlation_id, json.loads(body))
            else:
                conn.sleep(0.2)
        assert reply is not None, "no reply to the poison job"
        assert reply[0] == "poison-1"
        assert reply[1]["ok"] is False and reply[1]["error"]["code"] == "job_failed"
        assert contracts.DEAD_LETTER_QUEUE in reply[1]["error"]["message"]
        dead_after = ch.queue_declare(contracts.DEAD_LETTER_QUEUE, passive=True).method.message_count
        assert dead_after == dead_before + 1
    finally:
        conn.close()
    assert stack.services["embedder"].proc.poll() is None  # still serving
    assert stack.services["embedder"].ready()


def test_deadline_gives_504_and_the_late_reply_is_discarded(api, stack, enrolled):
    impatient = stack.start("gateway-impatient", "gateway", REQUEST_TIMEOUT_SECONDS="2")
    stack.wait_ready("gateway-impatient")
    detector = stack.services["detector"]
    detector.signal(signal.SIGSTOP)
    try:
        path = photos("val", "madonna")[0]
        resp = requests.post(impatient.url + "/api/v1/recognize", files={"image": ("a.jpg", path.read_bytes())},
                             timeout=30)
        assert resp.status_code == 504 and resp.json()["error"]["code"] == "pipeline_timeout"
    finally:
        detector.signal(signal.SIGCONT)

    def late_replies() -> float:
        return impatient.metric("attendance_late_replies_total")

    deadline = time.time() + 20
    while late_replies() < 1 and time.time() < deadline:
        time.sleep(0.2)
    assert late_replies() >= 1
    stack.retire("gateway-impatient")


def test_worker_killed_mid_job_loses_nothing(api, stack, enrolled):
    embedder = stack.services["embedder"]
    embedder.signal(signal.SIGSTOP)  # holds the job, unacked
    path = photos("val", "jerry_seinfeld")[0]
    result = {}
    client = threading.Thread(target=lambda: result.setdefault("resp", api.recognize(path.read_bytes())))
    client.start()
    time.sleep(3)  # through the detector, now delivered to the paused embedder
    embedder.signal(signal.SIGKILL)
    embedder.proc.wait()
    stack.retire("embedder")
    stack.start("embedder-2", "embedder")  # the broker redelivers the job to the new copy
    client.join(timeout=90)
    assert "resp" in result, "the request did not finish"
    assert largest_face_match(result["resp"]) == ROLL_NOS["jerry_seinfeld"]


def test_broker_restart_is_survived(api, stack, enrolled):
    rabbitmqctl("stop_app")
    try:
        resp = api.recognize(photos("val", "madonna")[0].read_bytes())
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "pipeline_unavailable"
    finally:
        rabbitmqctl("start_app")
    stack.wait_ready(timeout=90)  # every service reconnected by itself
    path = photos("val", "madonna")[1]
    deadline = time.time() + 60
    while True:
        resp = api.recognize(path.read_bytes())
        if resp.status_code == 200 or time.time() > deadline:
            break
        time.sleep(1)
    assert largest_face_match(resp) == ROLL_NOS["madonna"]


@pytest.fixture(autouse=True)
def _services_alive(stack):
    yield
    for name, service in stack.services.items():
        assert service.proc.poll() is None, f"{name} died:\n{service.log_tail()}"
