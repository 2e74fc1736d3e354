"""The server's subject permissions, tried as an attacker with the `client` identity or no credentials would."""

from __future__ import annotations

import json

import nats
import nats.errors
import pytest
from nats.js.api import DeliverPolicy

from plugyard_core.bus_permissions import ARTIFACTS_BUCKET, PRIVATE_RPCS, UPLOADS_BUCKET
from plugyard_core.connection import NatsRefused, connect
from plugyard_core.services import RESERVED_SERVICES, SERVICES
from plugyard_core.streams import EVENTS_STREAM, TELEMETRY_STREAM

pytestmark = pytest.mark.usefixtures("streams")


async def _quiet(error: Exception) -> None:
    pass


async def test_a_connection_without_credentials_is_refused(secured_bus):
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(secured_bus.url, allow_reconnect=False, connect_timeout=2, error_cb=_quiet)
    with pytest.raises(NatsRefused, match="refused the connection with no credentials"):
        await connect("anonymous", secured_bus.url, identity="nobody", reconnect=False, data_directory=secured_bus.data_dir)


async def test_a_forged_seed_is_refused(secured_bus, tmp_path, monkeypatch):
    from plugyard_core.bus_identities import new_seed

    forged = tmp_path / "forged.nk"
    forged.write_bytes(new_seed())
    monkeypatch.setenv("PLUGYARD_NATS_CREDS", str(forged))
    with pytest.raises(NatsRefused, match="forged.nk"):
        await connect("forger", secured_bus.url, reconnect=False)


@pytest.mark.parametrize("owner", [*SERVICES, *RESERVED_SERVICES])
async def test_client_cannot_publish_a_service_event(connect_as, owner):
    client = await connect_as("client")
    js = client.nc.jetstream()
    with pytest.raises(nats.errors.TimeoutError):
        await js.publish(f"plugyard.evt.{owner}.Forged", b"{}", timeout=0.5)
    assert await client.refused(f"plugyard.evt.{owner}.forged")
    await client.nc.publish(f"plugyard.evt.{owner}", b"{}")  # the bare service token is owned too
    assert await client.refused(f'"plugyard.evt.{owner}"')
    admin = await connect_as("admin")
    assert (await admin.nc.jetstream().stream_info(EVENTS_STREAM)).state.messages == 0


async def test_client_publishes_events_under_its_own_source(connect_as):
    client = await connect_as("client")
    ack = await client.nc.jetstream().publish("plugyard.evt.billing.InvoicePaid", b"{}", headers={"Nats-Msg-Id": "a1"})
    assert ack.stream == EVENTS_STREAM and ack.seq == 1


@pytest.mark.parametrize(
    "subject",
    ["plugyard.rpc.registry.>", "plugyard.rpc.registry.resolve", "plugyard.rpc.loader.*.install", "plugyard.rpc.plugin.>",
     "plugyard.evt.>", "plugyard.tel.>", ">"],
)
async def test_client_cannot_answer_or_overhear(connect_as, subject):
    client = await connect_as("client")
    await client.nc.subscribe(subject)
    assert await client.refused(subject)


async def test_replies_to_one_identity_are_not_readable_by_another(connect_as, secured_bus):
    client = await connect_as("client")
    for service in SERVICES:
        inbox = secured_bus.identities[service].inbox_prefix
        await client.nc.subscribe(inbox + ".>")
        assert await client.refused(inbox)


@pytest.mark.parametrize("subject", sorted(PRIVATE_RPCS))
async def test_private_rpcs_are_requestable_only_by_their_callers(connect_as, subject):
    allowed = PRIVATE_RPCS[subject]
    for identity in ["client", *[s for s in SERVICES if s not in allowed]]:
        caller = await connect_as(identity)
        await caller.nc.publish(subject, b"{}")
        assert await caller.refused(subject), identity
    for identity in allowed:
        caller = await connect_as(identity)
        await caller.nc.publish(subject, b"{}")
        await caller.nc.flush()
        assert not await caller.refused(subject, timeout=0.3)


@pytest.mark.parametrize("verb", ["DELETE", "PURGE", "UPDATE", "CREATE"])
@pytest.mark.parametrize("identity", ["client", *SERVICES])
async def test_only_admin_manages_streams(connect_as, verb, identity):
    caller = await connect_as(identity)
    subject = f"$JS.API.STREAM.{verb}.{EVENTS_STREAM}"
    with pytest.raises(nats.errors.TimeoutError):
        await caller.nc.request(subject, b"{}", timeout=0.5)
    assert await caller.refused(subject)
    admin = await connect_as("admin")
    assert (await admin.nc.jetstream().stream_info(EVENTS_STREAM)).config.subjects == ["plugyard.evt.>"]


@pytest.mark.parametrize("identity", ["client", "scanner", "loader", "ledger"])
async def test_only_the_registry_writes_artifacts(connect_as, identity):
    caller = await connect_as(identity)
    subject = f"$O.{ARTIFACTS_BUCKET}.C.forged"
    await caller.nc.publish(subject, b"junk")
    assert await caller.refused(subject)


async def test_client_stages_uploads(connect_as):
    client = await connect_as("client")
    await client.nc.publish(f"$O.{UPLOADS_BUCKET}.C.x", b"bytes")
    await client.nc.flush()
    assert not await client.refused(UPLOADS_BUCKET, timeout=0.3)


@pytest.mark.parametrize("api", ["CONSUMER.MSG.NEXT.{stream}.ledger", "CONSUMER.DELETE.{stream}.ledger", "CONSUMER.DURABLE.CREATE.{stream}.ledger"])
async def test_client_cannot_steal_or_drop_a_service_durable(connect_as, api):
    client = await connect_as("client")
    subject = "$JS.API." + api.format(stream=EVENTS_STREAM)
    await client.nc.publish(subject, b"{}")
    assert await client.refused(subject)


async def test_only_a_service_may_publish_its_own_events(connect_as):
    registry = await connect_as("registry")
    with pytest.raises(nats.errors.TimeoutError):
        await registry.nc.jetstream().publish("plugyard.evt.scanner.ScanCompleted", b"{}", timeout=0.5)
    assert await registry.refused("plugyard.evt.scanner.scancompleted")
    scanner = await connect_as("scanner")
    ack = await scanner.nc.jetstream().publish("plugyard.evt.scanner.ScanCompleted", b"{}")
    assert ack.seq == 1


async def test_only_the_loader_publishes_telemetry(connect_as):
    client = await connect_as("client")
    await client.nc.publish("plugyard.tel.host.plugin", b"{}")
    assert await client.refused("plugyard.tel.host.plugin")
    loader = await connect_as("loader")
    assert (await loader.nc.jetstream().publish("plugyard.tel.host.plugin", b"{}")).stream == TELEMETRY_STREAM


async def test_client_reads_the_events_stream_through_an_ephemeral_consumer(connect_as):
    registry = await connect_as("registry")
    await registry.nc.jetstream().publish("plugyard.evt.registry.VersionPublished", b'{"n": 1}')
    client = await connect_as("client")
    sub = await client.nc.jetstream().subscribe("plugyard.evt.>", stream=EVENTS_STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    msg = await sub.next_msg(timeout=5)
    assert json.loads(msg.data) == {"n": 1}
