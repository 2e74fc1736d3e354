"""The gateway's bus identity: `plugyard up` gives it a seed like every service's, and the server lets it read the
archives and answer its own health RPC, nothing else. Tried against a real nats-server with the stack's
authorization."""

from __future__ import annotations

import asyncio
import subprocess

import nats.errors
import pytest

from plugyard_core.artifact_store import BUCKET, UPLOADS_BUCKET, get_verified_artifact
from plugyard_core.bus_config import authorization_block
from plugyard_core.bus_identities import ensure_identities
from plugyard_core.bus_permissions import bus_identities, permissions_for, stack_identities
from plugyard_core.embedded_nats import server_binary, write_config
from plugyard_core.services import GATEWAY, RESERVED_SERVICES, SERVICES
from plugyard_core.streams import EVENTS_STREAM
from plugyard_artifacts.cid import cid_of


async def refused(errors: list[str], subject_part: str, timeout: float = 2.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if any("permissions violation" in e.lower() and subject_part.lower() in e.lower() for e in errors):
            return True
        await asyncio.sleep(0.02)
    return False


def test_the_gateway_is_an_identity_of_the_stack_not_a_service_of_the_deployments():
    assert GATEWAY in stack_identities() and GATEWAY not in bus_identities() and GATEWAY not in SERVICES
    assert GATEWAY in RESERVED_SERVICES  # no client publishes events under its name
    gateway = permissions_for(GATEWAY, "UKEY")
    assert not any(s.startswith(("plugyard.", "$O.")) for s in gateway.publish_allow)
    assert "plugyard.>" in gateway.publish_deny and f"$O.{BUCKET}.>" in gateway.publish_deny
    assert [s for s in gateway.subscribe_allow if s.startswith("plugyard.")] == [f"plugyard.rpc.{GATEWAY}.>"]
    assert not any("UPLOADS" in s for s in gateway.publish_allow)


def test_nats_server_accepts_the_configuration_with_the_gateway(tmp_path):
    identities = ensure_identities(stack_identities(), tmp_path / "data")
    config = tmp_path / "nats.conf"
    write_config(config, port=4222, store_dir=tmp_path / "js", sync_always=False, extra_blocks=(authorization_block(identities),))
    check = subprocess.run([str(server_binary()), "-t", "-c", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert identities[GATEWAY].public_key in config.read_text()


async def test_the_gateway_reads_archives(bus):
    data = b"an archive the gateway may read"
    await bus.put(cid_of(data), data)
    nc = await bus.connect(GATEWAY)
    try:
        assert await get_verified_artifact(nc.jetstream(), cid_of(data)) == data
    finally:
        await nc.close()


@pytest.mark.parametrize("subject", [f"$O.{BUCKET}.C.forged", f"$O.{BUCKET}.M.forged", "plugyard.evt.gateway.Forged",
                                     "plugyard.evt.registry.VersionPublished", "plugyard.rpc.registry.info", "plugyard.tel.h.p",
                                     f"$JS.API.STREAM.PURGE.OBJ_{BUCKET}", f"$JS.API.STREAM.DELETE.{EVENTS_STREAM}",
                                     f"$JS.API.CONSUMER.CREATE.OBJ_{UPLOADS_BUCKET}", f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}"])
async def test_the_gateway_writes_nothing_and_calls_nothing(bus, subject):
    errors: list[str] = []
    nc = await bus.connect(GATEWAY, errors)
    try:
        await nc.publish(subject, b"{}")
        await nc.flush()
        assert await refused(errors, subject)
    finally:
        await nc.close()


@pytest.mark.parametrize("subject", ["plugyard.evt.>", "plugyard.rpc.registry.>", "plugyard.rpc.>", "_INBOX.>", ">"])
async def test_the_gateway_overhears_nothing(bus, subject):
    errors: list[str] = []
    nc = await bus.connect(GATEWAY, errors)
    try:
        await nc.subscribe(subject)
        assert await refused(errors, subject)
    finally:
        await nc.close()


async def request_until_answered(client, subject: str, attempts: int = 10):
    """A request, repeated while the server has no responder yet: seen once under a fully loaded machine, the
    responder's subscription not yet there although its connection had flushed it."""
    for _ in range(attempts - 1):
        try:
            return await client.request(subject, b"{}", timeout=2)
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.2)
    return await client.request(subject, b"{}", timeout=2)


async def test_the_gateway_answers_its_own_rpc_subject_only(bus):
    errors: list[str] = []
    client_errors: list[str] = []
    gateway = await bus.connect(GATEWAY, errors)
    client = await bus.connect("client", client_errors)
    try:
        async def answer(message) -> None:
            await message.respond(b"pong")

        await gateway.subscribe("plugyard.rpc.gateway.health", cb=answer)
        await gateway.flush()
        assert not errors  # the subscription was allowed
        assert (await request_until_answered(client, "plugyard.rpc.gateway.health")).data == b"pong"
        await client.subscribe("plugyard.rpc.gateway.>")  # and no client can answer in its place
        assert await refused(client_errors, "plugyard.rpc.gateway.>")
    finally:
        await client.close()
        await gateway.close()
