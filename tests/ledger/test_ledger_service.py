"""The ledger service against a real nats-server: every event kept once, poison absorbed, RPCs answer bad requests."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_ledger.main import build_service
from plugyard_schemas.ledger import SqlReply, SqlRequest, VerifyReply, VerifyRequest
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.in_process import start_in_process


def cloudevent(source: str, n: int, **override) -> dict:
    event = {"specversion": "1.0", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source}/{n}")), "source": source,
             "type": "com.example.Happened", "time": "2026-11-25T12:00:00+00:00", "subject": f"thing-{n}", "data": {"n": n}}
    event.update(override)
    return event


@pytest.fixture
async def ledger(nats_server, tmp_path):
    running = await start_in_process(build_service(tmp_path / "data", nats_server.url))
    yield running.service
    await running.close()


async def sql(nc, statement: str) -> list[list]:
    return (await call(nc, rpc_subject("ledger", "sql"), SqlRequest(sql=statement), SqlReply)).rows


async def wait_count(nc, where: str, expected: int, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    count = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            count = (await sql(nc, f"SELECT count(*) FROM events WHERE {where}"))[0][0]
        except RpcError:
            count = None
        if count == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"count where {where} is {count}, expected {expected}")


async def test_events_kept_once_and_poison_recorded_as_rejections(ledger, nc):
    js = nc.jetstream()
    await wait_count(nc, "true", 0)
    good = [cloudevent("acme/x", n) for n in range(50)]
    poison = [b"{not json", b"[]", json.dumps({"specversion": "1.0"}).encode(), b"\xff\xfe",
              json.dumps(cloudevent("acme/x", 999, id=5)).encode(), json.dumps(cloudevent("acme/x", 998, specversion="0.3")).encode()]
    for i, event in enumerate(good):
        await js.publish(f"plugyard.evt.acme.E{i % 3}", json.dumps(event).encode(), headers={"Nats-Msg-Id": event["id"]})
        if i < len(poison):
            await js.publish("plugyard.evt.acme.Bad", poison[i])
    for event in good[:10]:  # redelivered by a producer with a new Nats-Msg-Id: still kept once
        await js.publish("plugyard.evt.acme.E0", json.dumps(event).encode(), headers={"Nats-Msg-Id": uuid.uuid4().hex})
    await wait_count(nc, "source = 'acme/x'", 50)
    await wait_count(nc, "type = 'dev.plugyard.ledger.MessageRejected'", len(poison))
    reasons = [r[0] for r in await sql(nc, "SELECT data->>'reason' FROM events WHERE type = 'dev.plugyard.ledger.MessageRejected' ORDER BY row_no")]
    assert reasons[0].startswith("not JSON")
    assert "not an object" in reasons[1]
    assert any("id" in r for r in reasons[4:5]), reasons
    subjects = {r[0] for r in await sql(nc, "SELECT subject FROM events WHERE type = 'dev.plugyard.ledger.MessageRejected'")}
    assert subjects == {"plugyard.evt.acme.Bad"}
    # poison is terminated, not redelivered: the consumer has nothing pending after it caught up
    await asyncio.sleep(0.5)
    info = await js.consumer_info("PLUGYARD_EVENTS", "ledger")
    assert info.num_ack_pending == 0 and info.num_pending == 0
    # and it keeps going
    later = cloudevent("acme/x", 1000)
    await js.publish("plugyard.evt.acme.E0", json.dumps(later).encode())
    await wait_count(nc, "source = 'acme/x'", 51)
    verified = await call(nc, rpc_subject("ledger", "verify"), VerifyRequest(), VerifyReply)
    assert verified.ok and verified.rows_checked == 51 + len(poison)


async def test_oversized_message_is_refused_by_the_stream_and_the_ledger_lives_on(ledger, nc):
    js = nc.jetstream()
    before = (await js.stream_info("PLUGYARD_EVENTS")).state.messages
    with pytest.raises(Exception):  # the stream's max_msg_size refuses it; the server answers no ack
        await js.publish("plugyard.evt.acme.Big", b"x" * (2 * 1024 * 1024), timeout=2)
    assert (await js.stream_info("PLUGYARD_EVENTS")).state.messages == before
    health = await call(nc, rpc_subject("ledger", "health"), HealthRequest(), HealthReply)
    assert health.healthy


@pytest.mark.parametrize("verb", ["sql", "verify", "health"])
@pytest.mark.parametrize("payload", [b"{not json", b"[1,2]", b"\xff\xfe", b'"text"', b"", b'{"sql": 5, "max_rows": "many"}'])
async def test_every_rpc_answers_bad_requests_with_a_typed_error(ledger, nc, verb, payload):
    reply = await nc.request(rpc_subject("ledger", verb), payload, timeout=5)
    body = json.loads(reply.data)
    if verb != "sql" and payload in (b'{"sql": 5, "max_rows": "many"}',):
        assert "error" not in body  # extra fields are ignored by verify/health
        return
    assert body["error"]["code"] == "invalid_request", body
    assert body["error"]["message"]


async def test_sql_errors_are_typed(ledger, nc):
    with pytest.raises(RpcError) as refused:
        await sql(nc, "DELETE FROM events")
    assert refused.value.code == "refused"
    with pytest.raises(RpcError) as broken:
        await sql(nc, "SELECT no_such_column FROM events")
    assert broken.value.code == "invalid_request" and "no_such_column" in broken.value.message
    reply = await nc.request(rpc_subject("ledger", "sql"), json.dumps({"sql": "x" * 200_001}).encode(), timeout=5)
    assert json.loads(reply.data)["error"]["code"] == "invalid_request"


async def test_nan_and_infinity_in_data_are_rejected_not_retried(ledger, nc):
    js = nc.jetstream()
    await js.publish("plugyard.evt.acme.Nan", b'{"specversion":"1.0","id":"n1","source":"acme/nan","type":"t","data":{"x":NaN}}')
    await js.publish("plugyard.evt.acme.Nan", json.dumps(cloudevent("acme/nan", 2)).encode())
    await wait_count(nc, "source = 'acme/nan'", 1)
    await wait_count(nc, "type = 'dev.plugyard.ledger.MessageRejected' AND subject = 'plugyard.evt.acme.Nan'", 1)
