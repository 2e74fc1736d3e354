"""Declared consumers: what a service listens to, listed in its `handlers.py` beside its RPC routes.

The service runtime owns them: it creates each durable, runs it in order with bounded retries (a message that
keeps failing becomes a recorded MessageRejected), counts what health reports and lists it in the AsyncAPI file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from pydantic import BaseModel

from plugyard_core.consumer import TrackedConsumer, Tracker
from plugyard_core.streams import EVENTS_STREAM, TELEMETRY_SUBJECTS

ANY_PRODUCER = "*"
# Subjects outside `plugyard.evt.` that only one service may publish on (bus_permissions grants them).
SOLE_PRODUCERS: dict[str, str] = {TELEMETRY_SUBJECTS.removesuffix(">"): "loader"}


def published_only_by(producer: str, subject: str) -> bool:
    """Whether the server lets only `producer` publish on `subject`."""
    if subject.startswith(f"plugyard.evt.{producer}."):
        return True
    return any(subject.startswith(prefix) and owner == producer for prefix, owner in SOLE_PRODUCERS.items())


@dataclass(frozen=True)
class Subscription:
    """A durable, in-order consumer of `subject` on `stream`.

    `producer` is the service whose events it trusts: only that service may publish on `plugyard.evt.<producer>.>`
    (the server's permissions), so the subject must lie there, or under a subject only it publishes on
    (`SOLE_PRODUCERS`: the loader's telemetry); `*` reads every producer's events (the ledger).
    `model` is the data the events carry (None: any CloudEvent). `handler` is what one message does; `tracker`
    builds what applies a batch of them and records the stream position in the same transaction.
    """

    subject: str
    durable: str
    producer: str
    model: type[BaseModel] | None
    handler: Callable[..., Any]
    tracker: Callable[[Subscription], Tracker]
    description: str = ""
    stream: str = EVENTS_STREAM
    batch_size: int = 1000
    ack_wait: float = 60.0
    # Where a consumer with no recorded position starts: the stream's first message, or only what comes next
    # (a reaction to live events that a restart re-derives anyway, such as a loader stopping quarantined workers).
    start_with_new: bool = False

    def __post_init__(self) -> None:
        if self.producer != ANY_PRODUCER and not published_only_by(self.producer, self.subject):
            raise ValueError(f"{self.durable}: {self.subject} is not a subject only its producer {self.producer} publishes on")
        if any(c in self.durable for c in ".*> "):
            raise ValueError(f"durable name {self.durable!r} may not contain '.', '*', '>' or spaces")

    def consumer(self, js: JetStreamContext) -> TrackedConsumer:
        return TrackedConsumer(
            js, stream=self.stream, durable=self.durable, filter_subject=self.subject, tracker=self.tracker(self),
            batch_size=self.batch_size, ack_wait=self.ack_wait, start_with_new=self.start_with_new,
        )
