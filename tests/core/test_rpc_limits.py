"""JSON limits on RPCs against a real nats-server: a request body nested 100,000 deep gets an `invalid_request`
naming the depth from the broker every service uses (it used to kill the process with SIGSEGV), and `call`
turns a forged reply into an RpcError, never a crash or a traceback."""

from __future__ import annotations

import json

import pytest

from plugyard_core.json_limits import MAX_DEPTH, REPLY_MAX_DEPTH
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_registry.main import build_service as build_registry
from plugyard_schemas.ledger import SqlReply, SqlRequest
from plugyard_schemas.registry import InfoReply, InfoRequest
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.in_process import start_in_process

DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB
DEEP_OBJECT = b'{"name":' * 50_000 + b'"x"' + b"}" * 50_000


@pytest.fixture
async def registry(nats_server, tmp_path):
    running = await start_in_process(build_registry(tmp_path / "data", nats_server.url))
    yield running
    await running.close()


@pytest.mark.parametrize("verb", ["search", "info", "publish", "health"])
async def test_a_deep_request_body_is_refused_by_name_and_the_service_lives_on(registry, nc, verb):
    for body, depth in ((DEEP, 100_000), (DEEP_OBJECT, 50_000)):
        reply = await nc.request(rpc_subject("registry", verb), body, timeout=10)
        error = json.loads(reply.data)["error"]
        assert error["code"] == "invalid_request"
        assert f"JSON nested {depth} levels deep, deeper than the {MAX_DEPTH}-level limit" in error["message"]
    health = await call(nc, rpc_subject("registry", "health"), HealthRequest(), HealthReply)
    assert health.healthy and not registry.task.done()


async def test_requests_at_the_depth_limit_are_decoded_as_usual(registry, nc):
    # Nested exactly MAX_DEPTH deep: the broker lets it through and the model says what is wrong with it.
    body = b'{"name":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    reply = json.loads((await nc.request(rpc_subject("registry", "info"), body, timeout=10)).data)
    assert reply["error"]["code"] == "invalid_request" and "name" in reply["error"]["message"]
    assert "nested" not in reply["error"]["message"]


@pytest.mark.parametrize(
    "forged, wanted",
    [
        (b"[" * 100_000 + b"]" * 100_000, f"JSON nested 100000 levels deep, deeper than the {REPLY_MAX_DEPTH}-level limit"),
        (b'{"error": {"code": "no such code", "message": 5}}', "the error reply on plugyard.rpc.forged.info is malformed"),
        (b'{"error": 42}', "is malformed"),
        (b'{"name": 42}', "is not a valid InfoReply"),
        (b"\xff\xfe not json", "is not JSON"),
    ],
)
async def test_call_turns_a_forged_reply_into_an_rpc_error(nc, forged, wanted):
    async def forge(msg):
        await msg.respond(forged)

    subscription = await nc.subscribe(rpc_subject("forged", "info"), cb=forge)
    try:
        with pytest.raises(RpcError) as refused:
            await call(nc, rpc_subject("forged", "info"), InfoRequest(name="x"), InfoReply)
        assert refused.value.code == "internal" and wanted in refused.value.message
    finally:
        await subscription.unsubscribe()


async def test_a_reply_may_nest_deeper_than_a_request(nc):
    # A reply can carry a stored document (a ledger row holding an event's data) under its own levels.
    rows = [[json.loads(b"[" * (MAX_DEPTH + 10) + b"]" * (MAX_DEPTH + 10))]]

    async def answer(msg):
        await msg.respond(json.dumps({"columns": ["data"], "rows": rows}).encode())

    subscription = await nc.subscribe(rpc_subject("forged", "sql"), cb=answer)
    try:
        reply = await call(nc, rpc_subject("forged", "sql"), SqlRequest(sql="SELECT 1"), SqlReply)
        assert reply.rows == rows
    finally:
        await subscription.unsubscribe()
