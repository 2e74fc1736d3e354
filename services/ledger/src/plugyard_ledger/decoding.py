"""Turns a message from `plugyard.evt.>` into a warehouse row, or into the reason it is poison. No I/O."""

from __future__ import annotations

import json

from pydantic import ValidationError

from plugyard_core.consumer import Delivered
from plugyard_core.rpc import describe_validation_error
from plugyard_ledger.warehouse import IncomingEvent, IncomingRejection
from plugyard_schemas.cloudevent import CloudEvent

MAX_EVENT_BYTES = 1024 * 1024


def decode(delivered: Delivered) -> IncomingEvent | IncomingRejection:
    def reject(reason: str) -> IncomingRejection:
        return IncomingRejection(
            stream_seq=delivered.stream_seq, nats_subject=delivered.subject, reason=reason, raw=delivered.data
        )

    if len(delivered.data) > MAX_EVENT_BYTES:
        return reject(f"message of {len(delivered.data)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit")
    try:
        body = json.loads(delivered.data)
    except (ValueError, UnicodeDecodeError) as exc:
        return reject(f"not JSON: {exc}")
    if not isinstance(body, dict):
        return reject(f"not a CloudEvent: a JSON {type(body).__name__}, not an object")
    try:
        event = CloudEvent.model_validate(body)
    except ValidationError as exc:
        return reject(f"not a CloudEvent: {describe_validation_error(exc)}")
    try:
        extensions_json = json.dumps(event.extensions(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        data_json = json.dumps(event.data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return reject(f"not a CloudEvent: {exc}")
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
