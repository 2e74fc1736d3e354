"""An outsider cannot make JetStream drop a service's event by publishing first with the id it will use."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate, event

from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.message_ids import MessageIds, message_ids_for
from plugyard_core.outbox import OutboxRelay
from plugyard_core.streams import EVENTS_STREAM, event_subject

pytestmark = pytest.mark.usefixtures("streams")


class Plugin(Aggregate):
    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"trust-test:{name}")

    @event("Claimed")
    def __init__(self, name: str) -> None:
        self.name = name


class Registry(PlugyardApplication):
    service = "registry"


async def relay_after_an_outsider_took_the_predictable_id(connect_as, tmp_path, msg_ids: MessageIds) -> tuple[int, Any]:
    app = Registry(data_dir=tmp_path / "registry")
    plugin = Plugin(name="victim")
    app.save(plugin)
    client = await connect_as("client")
    shadow = await client.nc.jetstream().publish("plugyard.evt.acme.Junk", b"{}", headers={"Nats-Msg-Id": f"{plugin.id}:1"})
    assert shadow.duplicate is None
    registry = await connect_as("registry")
    js = registry.nc.jetstream()
    assert await OutboxRelay(app, js, service="registry", msg_ids=msg_ids).run_once() == 1
    info = await js.stream_info(EVENTS_STREAM, subjects_filter=event_subject("registry", ">"))
    return sum((info.state.subjects or {}).values()), plugin


async def test_the_attack_works_on_predictable_ids(connect_as, tmp_path):
    kept, _ = await relay_after_an_outsider_took_the_predictable_id(connect_as, tmp_path, MessageIds(None))
    assert kept == 0  # JetStream took the registry's event for a duplicate of the junk


async def test_a_service_keyed_id_is_not_shadowed(connect_as, secured_bus, tmp_path):
    ids = message_ids_for("registry", secured_bus.data_dir)
    kept, plugin = await relay_after_an_outsider_took_the_predictable_id(connect_as, tmp_path, ids)
    assert kept == 1
    assert ids.for_event(f"{plugin.id}:1") == ids.for_event(f"{plugin.id}:1")  # a republish after a crash still deduplicates
    assert ids.for_event(f"{plugin.id}:1") != message_ids_for("scanner", secured_bus.data_dir).for_event(f"{plugin.id}:1")
