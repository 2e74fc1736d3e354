"""A CloudEvent nested thousands deep is a rejection in the ledger, not a RecursionError retried forever; a
decoding failure nobody foresaw is one too; the events after it are recorded."""

from __future__ import annotations

import json

import pytest

from plugyard_core.consumer import Delivered
from plugyard_core.json_limits import MAX_DEPTH
from plugyard_ledger import decoding
from plugyard_ledger.main import build_service
from plugyard_ledger.warehouse import IncomingEvent, IncomingRejection
from tests.in_process import start_in_process
from tests.ledger.test_ledger_service import cloudevent, sql, wait_count


@pytest.fixture
async def ledger(nats_server, tmp_path):
    running = await start_in_process(build_service(tmp_path / "data", nats_server.url))
    yield running.service
    await running.close()


def deep_cloudevent(depth: int) -> bytes:
    """About 2 bytes per level: 3,000 levels in 6 KB."""
    head = json.dumps(cloudevent("attacker/deep", 1, data=None)).encode().rsplit(b"null", 1)
    return head[0] + b"[" * depth + b"]" * depth + head[1]


async def test_a_deeply_nested_event_is_rejected_and_the_next_one_recorded(ledger, nc):
    js = nc.jetstream()
    deep = deep_cloudevent(3_000)
    assert len(deep) < 7_000
    await js.publish("plugyard.evt.attacker.Deep", deep)
    good = cloudevent("acme/after", 1)
    await js.publish("plugyard.evt.acme.After", json.dumps(good).encode())

    await wait_count(nc, "source = 'acme/after'", 1)
    await wait_count(nc, "type = 'dev.plugyard.ledger.MessageRejected'", 1)
    [[reason, subject]] = await sql(nc, "SELECT data->>'reason', data->>'nats_subject' FROM events WHERE type = 'dev.plugyard.ledger.MessageRejected'")
    assert reason == f"JSON nested 3001 levels deep, deeper than the {MAX_DEPTH}-level limit", reason
    assert subject == "plugyard.evt.attacker.Deep"
    info = await js.consumer_info("PLUGYARD_EVENTS", "ledger")
    assert info.num_ack_pending == 0 and info.num_pending == 0


def delivered(data: bytes) -> Delivered:
    return Delivered(stream_seq=9, subject="plugyard.evt.acme.X", data=data, headers=None)


def test_decode_refuses_depth_before_decoding():
    assert isinstance(decoding.decode(delivered(deep_cloudevent(MAX_DEPTH - 1))), IncomingEvent)  # the envelope is 1
    refused = decoding.decode(delivered(deep_cloudevent(MAX_DEPTH)))
    assert isinstance(refused, IncomingRejection) and f"nested {MAX_DEPTH + 1} levels deep" in refused.reason
    huge = decoding.decode(delivered(b" " * (decoding.MAX_EVENT_BYTES + 1)))
    assert isinstance(huge, IncomingRejection) and "exceeds the 1048576-byte limit" in huge.reason


def test_an_unforeseen_decoding_failure_is_a_rejection_not_a_retry(monkeypatch: pytest.MonkeyPatch):
    def explode(*_args, **_kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(decoding.CloudEvent, "model_validate", explode)
    refused = decoding.decode(delivered(json.dumps(cloudevent("acme/x", 1)).encode()))
    assert isinstance(refused, IncomingRejection)
    assert refused.reason == "cannot be decoded: RecursionError: maximum recursion depth exceeded"
    assert refused.stream_seq == 9 and refused.raw.startswith(b"{")


def test_a_machine_failure_is_not_taken_for_the_message(monkeypatch: pytest.MonkeyPatch):
    def exhausted(*_args, **_kwargs):
        raise MemoryError

    monkeypatch.setattr(decoding.CloudEvent, "model_validate", exhausted)
    with pytest.raises(MemoryError):
        decoding.decode(delivered(json.dumps(cloudevent("acme/x", 1)).encode()))
