"""Turns a message from `plugyard.evt.>` into a warehouse row, or into the reason it is poison. No I/O."""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError

from plugyard_core.consumer import Delivered
from plugyard_core.json_limits import JsonLimitExceeded, loads_within_limits
from plugyard_core.rpc import describe_validation_error
from plugyard_ledger.warehouse import IncomingEvent, IncomingRejection
from plugyard_schemas.cloudevent import CloudEvent

log = logging.getLogger("plugyard.ledger")

MAX_EVENT_BYTES = 1024 * 1024


def decode(delivered: Delivered) -> IncomingEvent | IncomingRejection:
    """The message's row, or its rejection; never raises for what a message holds.

    Decoding is pure, so a failure would recur on every retry and stop the ledger at this message for good: any
    failure left unforeseen below is the message's rejection too (a MemoryError is the machine's, and retried).
    """
    try:
        return _decode(delivered)
    except MemoryError:
        raise
    except Exception as exc:
        log.exception("stream seq %d on %s could not be decoded", delivered.stream_seq, delivered.subject)
        return _rejection(delivered, f"cannot be decoded: {type(exc).__name__}: {exc}")


def _rejection(delivered: Delivered, reason: str) -> IncomingRejection:
    return IncomingRejection(stream_seq=delivered.stream_seq, nats_subject=delivered.subject, reason=reason, raw=delivered.data)


def _decode(delivered: Delivered) -> IncomingEvent | IncomingRejection:
    try:
        body = loads_within_limits(delivered.data, max_bytes=MAX_EVENT_BYTES)
    except JsonLimitExceeded as exc:
        return _rejection(delivered, str(exc))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        return _rejection(delivered, f"not JSON: {exc}")
    if not isinstance(body, dict):
        return _rejection(delivered, f"not a CloudEvent: a JSON {type(body).__name__}, not an object")
    try:
        event = CloudEvent.model_validate(body)
    except ValidationError as exc:
        return _rejection(delivered, f"not a CloudEvent: {describe_validation_error(exc)}")
    try:
        extensions_json = json.dumps(event.extensions(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        data_json = json.dumps(event.data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return _rejection(delivered, f"not a CloudEvent: {exc}")
    return IncomingEvent(
        stream_seq=delivered.stream_seq,
        nats_subject=delivered.subject,
        id=event.id,
        source=event.source,
        type=event.type,
        subject=event.subject,
        time=event.time,
        data_json=data_json,
        extensions_json=extensions_json,
    )
