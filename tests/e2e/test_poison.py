"""Poison messages on the real workers: answered or dead-lettered, and the
consumer stays connected (no reconnect, no gallery reload)."""
from __future__ import annotations

import json
import time

import pika
import pytest

from shared import pipeline

POISON = [
    b"not json at all",
    b"[1, 2, 3]",
    b'"a string"',
    json.dumps({"v": 1, "kind": "recognize"}).encode(),  # missing fields
    json.dumps({"v": 1, "kind": "recognize", "job_id": "j", "reply_to": "q", "correlation_id": "c",
                "deadline": "tomorrow"}).encode(),
    json.dumps({"v": 1, "kind": "recognize", "job_id": "j", "reply_to": "q", "correlation_id": "c",
                "deadline": 1e12, "faces": [{"box": [1, 2], "confidence": "high", "vector": ["x"]}],
                "model": "m"}).encode(),
]


def log_count(service, text: str) -> int:
    return service.log_path.read_text(errors="replace").count(text)


@pytest.mark.parametrize("stage_name,service_name", [("detector", "detector"), ("matcher", "matcher-a")])
def test_poison_is_answered_and_kept_without_reconnecting(stack, enrolled, stage_name, service_name):
    stage = pipeline.stage(stage_name)
    services = [s for n, s in stack.services.items() if n.startswith(stage_name)]
    connects_before = {s.name: log_count(s, f"consuming {stage.queue}") for s in services}
    loads_before = {s.name: log_count(s, "gallery loaded") for s in services}
    conn = pika.BlockingConnection(pika.URLParameters(stack.env["AMQP_URL"]))
    try:
        ch = conn.channel()
        reply_queue = ch.queue_declare("", exclusive=True).method.queue
        dead_before = ch.queue_declare(pipeline.DEAD_LETTER_QUEUE, passive=True).method.message_count
        for i, body in enumerate(POISON):
            ch.basic_publish("", stage.queue, body,
                             pika.BasicProperties(correlation_id=f"poison-{i}", reply_to=reply_queue, delivery_mode=2))
        replies = {}
        deadline = time.time() + 30
        while len(replies) < len(POISON) and time.time() < deadline:
            method, props, body = ch.basic_get(reply_queue, auto_ack=True)
            if method:
                replies[props.correlation_id] = json.loads(body)
            else:
                conn.sleep(0.2)
        assert sorted(replies) == sorted(f"poison-{i}" for i in range(len(POISON)))
        assert all(r["ok"] is False and r["error"]["code"] == "bad_message" for r in replies.values()), replies
        dead_after = ch.queue_declare(pipeline.DEAD_LETTER_QUEUE, passive=True).method.message_count
        assert dead_after == dead_before + len(POISON)
        ch.queue_purge(pipeline.DEAD_LETTER_QUEUE)  # the evidence was checked
    finally:
        conn.close()
    for s in services:
        assert s.proc.poll() is None and s.ready()
        assert log_count(s, f"consuming {stage.queue}") == connects_before[s.name], f"{s.name} reconnected"
        assert log_count(s, "gallery loaded") == loads_before[s.name], f"{s.name} reloaded its gallery"
