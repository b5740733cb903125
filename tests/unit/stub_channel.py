"""An in-memory stand-in for a pika channel in confirm mode: records what a
worker publishes, acks and rejects, and can refuse or lose a publish."""
from __future__ import annotations

from dataclasses import dataclass, field

import pika.exceptions


@dataclass
class Published:
    exchange: str
    routing_key: str
    body: bytes
    props: object
    mandatory: bool


class StubConnection:
    """Collects ``add_callback_threadsafe`` callbacks; :meth:`run_callbacks`
    plays the connection's thread."""

    def __init__(self):
        self.callbacks = []

    def add_callback_threadsafe(self, callback):
        self.callbacks.append(callback)

    def run_callbacks(self):
        while self.callbacks:
            self.callbacks.pop(0)()


@dataclass
class StubChannel:
    published: list[Published] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)  # ("publish", key) / ("ack", tag) / ("reject", tag, requeue)
    refuse: set[str] = field(default_factory=set)  # routing keys the broker nacks
    lose_connection_on: set[str] = field(default_factory=set)  # routing keys whose publish loses the connection
    connection: StubConnection = field(default_factory=StubConnection)
    is_open: bool = True

    def basic_publish(self, exchange, routing_key, body, properties=None, mandatory=False):
        if routing_key in self.lose_connection_on:
            raise pika.exceptions.StreamLostError("connection lost")
        if routing_key in self.refuse:
            raise pika.exceptions.NackError([])
        self.published.append(Published(exchange, routing_key, body, properties, mandatory))
        self.events.append(("publish", routing_key or exchange))

    def basic_ack(self, delivery_tag, multiple=False):
        self.events.append(("ack", delivery_tag))

    def basic_reject(self, delivery_tag, requeue=True):
        self.events.append(("reject", delivery_tag, requeue))

    def basic_nack(self, delivery_tag, multiple=False, requeue=True):
        self.events.append(("nack", delivery_tag, requeue))

    def to(self, key: str) -> list[Published]:
        return [p for p in self.published if (p.routing_key or p.exchange) == key]
