"""The attacks of the trust issue, tried on a running stack (`plugyard up`) with a plain nats-py client holding the
stack's `client` seed, or no credentials at all: every forgery refused by the server or ignored by the service,
the quarantined version still quarantined, another publisher's plugin untouched, the stream intact."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timezone
from uuid import NAMESPACE_URL, uuid5

import nats
import nats.errors
import pytest
from nats.js.api import ConsumerConfig

from plugyard_core.streams import EVENTS_STREAM
from tests.stack.support import start_stack
from tests.stack.test_scanner_cli import STAGER, new_key, wait_for_status

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("trust-stack"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def published(stack, tmp_path_factory):
    """A cleared plugin and a quarantined one, both by alice."""
    folder = tmp_path_factory.mktemp("trust-plugins")
    key = str(folder / "alice.key")
    new_key(key)
    stack.cli_json("init", str(folder / "good"), "--name", "trust-good")
    stack.cli_json("init", str(folder / "bad"), "--name", "trust-bad")
    (folder / "bad" / "trust_bad" / "boot.py").write_text(STAGER)
    for name in ("good", "bad"):
        stack.cli_json("publish", str(folder / name), "--key", key)
    wait_for_status(stack, "trust-good", "cleared")
    wait_for_status(stack, "trust-bad", "quarantined")
    return {"key": key, "folder": folder}


async def quiet(_error: Exception) -> None:
    pass


async def as_client(stack) -> nats.NATS:
    return await nats.connect(stack.url, nkeys_seed=str(stack.data_dir / "creds" / "client.nk"), error_cb=quiet, allow_reconnect=False)


def cloudevent(source: str, type_: str, data: dict) -> bytes:
    return json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": type_,
        "time": datetime.now(timezone.utc).isoformat(), "datacontenttype": "application/json", "data": data,
    }).encode()


def statuses(stack) -> dict[str, str]:
    return {name: stack.cli_json("info", name)["versions"][0]["status"] for name in ("trust-good", "trust-bad")}


def run(coro):
    return asyncio.run(coro)


def test_no_credentials_no_connection(stack):
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        run(nats.connect(stack.url, error_cb=quiet, allow_reconnect=False, connect_timeout=2))


def test_a_forged_cleared_scan_is_refused_and_the_version_stays_quarantined(stack, published):
    forged = cloudevent("plugyard/scanner", "dev.plugyard.scanner.ScanCompleted", {
        "name": "trust-bad", "version": "0.1.0", "cid": "x", "verdict": "cleared", "reason": "forged", "findings": [],
        "findings_total": 0, "capabilities": [], "scanner_version": "1", "rules_version": "1", "policy_sha256": "0",
        "duration_ms": 1, "trigger": "publish", "scan_no": 9,
    })

    async def attack() -> None:
        nc = await as_client(stack)
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream().publish("plugyard.evt.scanner.ScanCompleted", forged, timeout=1)
            assert "permissions violation" in str(nc.last_error).lower()
        finally:
            await nc.close()

    run(attack())
    time.sleep(1)
    assert statuses(stack) == {"trust-good": "cleared", "trust-bad": "quarantined"}
    assert stack.cli("resolve", "trust-bad").returncode == 1


@pytest.mark.parametrize("subject", ["plugyard.rpc.registry.resolve", "plugyard.rpc.registry.>", "plugyard.rpc.plugin.>"])
def test_nobody_but_the_service_answers_its_rpcs(stack, subject):
    async def attack() -> str:
        nc = await as_client(stack)
        try:
            await nc.subscribe(subject, cb=quiet)
            await nc.flush()
            await asyncio.sleep(0.3)
            return str(nc.last_error)
        finally:
            await nc.close()

    assert "permissions violation for subscription" in run(attack()).lower()
    assert [p["name"] for p in stack.cli_json("resolve", "trust-good")["install_order"]] == ["trust-good"]


def test_another_publishers_plugin_cannot_be_quarantined_from_outside(stack, published):
    body = json.dumps({"name": "trust-good", "version": "0.1.0", "reason": "forged", "host": "evil"}).encode()
    quarantined = cloudevent("plugyard/registry", "dev.plugyard.registry.VersionQuarantined", {"name": "trust-good", "version": "0.1.0"})

    async def attack() -> list[str]:
        nc = await as_client(stack)
        errors = []
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await nc.request("plugyard.rpc.registry.runtime-quarantine", body, timeout=1)
            errors.append(str(nc.last_error))
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream().publish("plugyard.evt.registry.VersionQuarantined", quarantined, timeout=1)
            errors.append(str(nc.last_error))
            # A push consumer delivers with the server's rights: the attacker's own event, delivered into the
            # private RPC's subject, must not be taken for a request.
            await nc.jetstream().publish("plugyard.evt.attacker.Payload", body)
            await nc.jetstream().add_consumer(EVENTS_STREAM, ConsumerConfig(
                filter_subject="plugyard.evt.attacker.Payload", deliver_subject="plugyard.rpc.registry.runtime-quarantine",
            ))
            await asyncio.sleep(2)
        finally:
            await nc.close()
        return errors

    errors = run(attack())
    assert all("permissions violation" in e.lower() for e in errors), errors
    assert statuses(stack)["trust-good"] == "cleared"


@pytest.mark.parametrize("verb", ["DELETE", "PURGE"])
def test_the_events_stream_cannot_be_deleted_or_purged(stack, published, verb):
    before = stack.cli_json("status")["streams"][0]["messages"]

    async def attack() -> None:
        nc = await as_client(stack)
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await nc.request(f"$JS.API.STREAM.{verb}.{EVENTS_STREAM}", b"{}", timeout=1)
        finally:
            await nc.close()

    run(attack())
    assert stack.cli_json("status")["streams"][0]["messages"] >= before > 0


def test_an_outsider_cannot_shadow_a_release_through_the_duplicate_window(stack, published):
    """Junk published first under every id the registry's next events would have had, were ids predictable."""
    plugin_id = uuid5(uuid5(NAMESPACE_URL, "https://plugyard.dev/plugins"), "trust-next")

    async def attack() -> None:
        nc = await as_client(stack)
        try:
            for version in range(1, 20):
                await nc.jetstream().publish("plugyard.evt.attacker.Junk", b"{}", headers={"Nats-Msg-Id": f"{plugin_id}:{version}"})
        finally:
            await nc.close()

    run(attack())
    folder = published["folder"]
    stack.cli_json("init", str(folder / "next"), "--name", "trust-next")
    stack.cli_json("publish", str(folder / "next"), "--key", published["key"])
    wait_for_status(stack, "trust-next", "cleared")  # the scanner saw the registry's VersionPublished
    stack.wait_for("SELECT count(*) FROM events WHERE type = 'dev.plugyard.registry.VersionPublished' AND subject = 'trust-next==0.1.0'", 1)
