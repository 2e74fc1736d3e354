"""Hostile messages on the subject the scanner consumes: each is rejected, recorded as MessageRejected and
published by the scanner's relay like any of its events, and the next version published is still scanned
(a foreign type used to wedge the relay on the MessageRejected it could not name, leaving every later version
pending, also after restarts)."""

from __future__ import annotations

import asyncio
import json
import uuid

from eth_account import Account

from plugyard_core.json_limits import MAX_DEPTH
from plugyard_core.rpc import call
from plugyard_core.streams import event_subject, rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.registry.support import make_plugin, publish, release_of
from tests.scanner.test_scanner_service import wait_for_status

PUBLISHED = event_subject("registry", "VersionPublished")


def foreign(event_type: str, data: object) -> dict:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "attacker/x", "type": event_type,
            "time": "2026-11-25T12:00:00+00:00", "data": data}


async def scanner_rejected(nc) -> int:
    reply = await call(nc, rpc_subject("scanner", "health"), HealthRequest(), HealthReply)
    return reply.consumers["scanner"].rejected


async def rejections_on_the_bus(js, expected: int, timeout: float = 20.0) -> list[dict]:
    subscription = await js.subscribe(event_subject("scanner", "MessageRejected"), deliver_policy="all", ordered_consumer=True)
    found: list[dict] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < expected:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{len(found)} MessageRejected on the bus, expected {expected}: {found}")
            try:
                found.append(json.loads((await subscription.next_msg(timeout=remaining)).data))
            except asyncio.TimeoutError:
                continue
    finally:
        await subscription.unsubscribe()
    return found


async def test_foreign_and_deep_events_are_rejected_published_and_scanning_goes_on(stack, nc, tmp_path):
    js = nc.jetstream()
    await js.publish(PUBLISHED, json.dumps(foreign("dev.plugyard.scanner.ScanCompleted", {"name": "x", "version": "1"})).encode())
    await js.publish(PUBLISHED, json.dumps(foreign("com.example.Anything", None)).encode())
    deep = json.dumps(foreign("dev.plugyard.registry.VersionPublished", None)).encode().replace(b"null", b"[" * 3000 + b"]" * 3000)
    await js.publish(PUBLISHED, deep)

    refusals = await rejections_on_the_bus(js, 3)
    reasons = [r["data"]["reason"] for r in refusals]
    assert "not dev.plugyard.scanner.ScanCompleted" in reasons[0]
    assert "not com.example.Anything" in reasons[1]
    assert reasons[2] == f"JSON nested 3001 levels deep, deeper than the {MAX_DEPTH}-level limit"
    for refusal in refusals:
        assert refusal["type"] == "dev.plugyard.scanner.MessageRejected"
        assert refusal["subject"] == refusal["aggregateid"]
        assert refusal["data"]["nats_subject"] == PUBLISHED and refusal["data"]["consumer"] == "scanner"
    assert await scanner_rejected(nc) == 3

    # The relay went past the rejections: a version published now is scanned and its verdict reaches the registry.
    await publish(nc, release_of(make_plugin(tmp_path, "after-poison"), tmp_path), Account.create())
    await wait_for_status(nc, "after-poison", "cleared")
