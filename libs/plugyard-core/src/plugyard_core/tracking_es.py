"""A Tracker for eventsourcing applications: a batch's new events and its stream position in one save."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate, event
from eventsourcing.persistence import RecordConflictError, Tracking
from pydantic import ValidationError

from plugyard_core.consumer import Delivered, Rejected
from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.json_limits import JsonLimitExceeded, loads_within_limits
from plugyard_core.rpc import summarize_validation_error
from plugyard_core.streams import EVENTS_STREAM, MAX_MESSAGE_BYTES
from plugyard_schemas.cloudevent import CloudEvent

log = logging.getLogger("plugyard.tracking")

RAW_EXCERPT_BYTES = 512

Handler = Callable[[PlugyardApplication, CloudEvent, Delivered], Iterable[MutableOrImmutableAggregate[Any]] | None]


class Reject(Exception):
    """Raised by a handler for a message that can never be processed: it is recorded and not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def rejection_id(consumer: str, stream_seq: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"plugyard:rejected:{consumer}:{stream_seq}")


class RejectedMessage(Aggregate):
    """A message a consumer refused; one per (consumer, stream sequence)."""

    @staticmethod
    def create_id(consumer: str, stream_seq: int) -> UUID:
        return rejection_id(consumer, stream_seq)

    @event("MessageRejected")
    def __init__(self, consumer: str, stream_seq: int, nats_subject: str, reason: str, raw_excerpt: str, stream: str = EVENTS_STREAM) -> None:
        self.consumer = consumer
        self.stream = stream
        self.stream_seq = stream_seq
        self.nats_subject = nats_subject
        self.reason = reason
        self.raw_excerpt = raw_excerpt


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_cloudevent(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> CloudEvent:
    """The message body as a CloudEvent, or Reject naming what is wrong with it."""
    try:
        # JSON has no NaN or Infinity; Python's decoder takes them, the ledger refuses them: every consumer agrees.
        obj = loads_within_limits(data, max_bytes=max_bytes, parse_constant=_no_constant)
    except JsonLimitExceeded as exc:
        raise Reject(str(exc)) from None
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise Reject(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise Reject(f"not a CloudEvent: a JSON {type(obj).__name__}, not an object")
    try:
        return CloudEvent.model_validate(obj)
    except ValidationError as exc:
        raise Reject(f"not a CloudEvent: {summarize_validation_error(exc)}") from None


class EventSourcedTracker:
    """Implements Tracker for a PlugyardApplication.

    `handle(app, event, delivered)` returns the aggregates to save (or raises Reject, or a pydantic
    ValidationError, for a message that can never be processed). A batch is saved in one transaction with
    `Tracking(durable, last stream seq)`. When messages of one batch touch the same aggregate through
    separate instances the save conflicts; that batch is then processed one message per transaction.
    """

    def __init__(
        self,
        app: PlugyardApplication,
        durable: str,
        handle: Handler,
        *,
        max_bytes: int = MAX_MESSAGE_BYTES,
        stream: str = EVENTS_STREAM,
        lock: AbstractContextManager[Any] | None = None,
    ):
        """`lock`: held while a batch is processed or a message rejected (an application's write lock, which its
        RPC commands take too)."""
        self.app = app
        self.durable = durable
        self.handle = handle
        self.max_bytes = max_bytes
        self.stream = stream
        self.lock = lock or nullcontext()

    def last_processed(self) -> int:
        return self.app.recorder.max_tracking_id(self.durable) or 0

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        if not batch:
            return []
        with self.lock:
            try:
                return self._save(batch)
            except RecordConflictError:
                if len(batch) == 1:
                    raise
                log.info("%s: batch at seq %d conflicts; one message per transaction", self.durable, batch[0].stream_seq)
                return [rejection for delivered in batch for rejection in self._save([delivered])]

    def _save(self, batch: list[Delivered]) -> list[Rejected]:
        aggregates: list[MutableOrImmutableAggregate[Any]] = []
        rejections: list[Rejected] = []
        for delivered in batch:
            try:
                cloudevent = parse_cloudevent(delivered.data, self.max_bytes)
                aggregates.extend(self.handle(self.app, cloudevent, delivered) or ())
            except Reject as exc:
                reason = exc.reason
            except ValidationError as exc:
                reason = f"invalid data: {summarize_validation_error(exc)}"
            else:
                continue
            aggregates.append(self._rejected_message(delivered, reason))
            rejections.append(Rejected(delivered=delivered, reason=reason))
        self.app.save_tracked(*aggregates, tracking=Tracking(self.durable, batch[-1].stream_seq))
        return rejections

    def reject(self, delivered: Delivered, reason: str) -> None:
        with self.lock:
            self.app.save_tracked(self._rejected_message(delivered, reason), tracking=Tracking(self.durable, delivered.stream_seq))

    def _rejected_message(self, delivered: Delivered, reason: str) -> RejectedMessage:
        return RejectedMessage(
            consumer=self.durable,
            stream=self.stream,
            stream_seq=delivered.stream_seq,
            nats_subject=delivered.subject,
            reason=reason,
            raw_excerpt=delivered.data[:RAW_EXCERPT_BYTES].decode("utf-8", errors="replace"),
        )
