"""The registry service against a real nats-server: signed publishes, claims, immutability, yank, owners, info,
search and resolve, events on the bus, bad requests on every RPC, and a restart that keeps everything."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from eth_account import Account

from plugyard_artifacts.signing import OwnerAddStatement, ReleaseStatement, YankStatement, sign
from plugyard_core.connection import connect
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_registry.main import build_service
from plugyard_schemas.registry import (
    InfoReply,
    InfoRequest,
    OwnerAddReply,
    OwnerAddRequest,
    PublishRequest,
    ResolveReply,
    ResolveRequest,
    SearchReply,
    SearchRequest,
    YankReply,
    YankRequest,
)
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.in_process import start_in_process
from tests.registry.support import make_plugin, publish, release_of

VERBS = ["publish", "yank", "deprecate", "owners-add", "info", "search", "resolve", "health"]


async def start_registry(nats_server, data_dir):
    return await start_in_process(build_service(data_dir, nats_server.url))


@pytest.fixture
async def registry(nats_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGYARD_DEV_ALLOW_PENDING", "1")
    running = await start_registry(nats_server, tmp_path / "data")
    yield tmp_path / "data"
    await running.close()


@pytest.fixture
def alice():
    return Account.create()


@pytest.fixture
def mallory():
    return Account.create()


def rpc(verb: str) -> str:
    return rpc_subject("registry", verb)


async def info(nc, name: str) -> InfoReply:
    return await call(nc, rpc("info"), InfoRequest(name=name), InfoReply)


async def test_publish_claims_the_name_and_is_idempotent(registry, nc, tmp_path, alice, mallory):
    release = release_of(make_plugin(tmp_path, "text-kit"), tmp_path)
    first = await publish(nc, release, alice)
    assert (first.name, first.version, first.status, first.created) == ("text-kit", "1.0.0", "pending", True)
    assert first.owners == [alice.address]
    again = await publish(nc, release, alice)
    assert again.created is False
    with pytest.raises(RpcError) as foreign:
        await publish(nc, release, mallory)
    assert foreign.value.code == "refused" and alice.address in foreign.value.message
    described = await info(nc, "Text_Kit")
    assert [v.version for v in described.versions] == ["1.0.0"] and described.versions[0].cid == release.cid
    assert described.versions[0].status == "pending" and described.versions[0].status_reason


async def test_same_version_with_other_content_is_refused(registry, nc, tmp_path, alice):
    directory = make_plugin(tmp_path, "immutable")
    await publish(nc, release_of(directory, tmp_path), alice)
    (directory / "plugin.toml").write_text((directory / "plugin.toml").read_text() + "# changed\n")
    (tmp_path / "second").mkdir()
    with pytest.raises(RpcError) as conflict:
        await publish(nc, release_of(directory, tmp_path / "second"), alice)
    assert conflict.value.code == "conflict" and "immutable" in conflict.value.message


async def test_tampered_or_unsigned_uploads_are_refused(registry, nc, tmp_path, alice):
    release = release_of(make_plugin(tmp_path, "tamper-me"), tmp_path)
    other = ReleaseStatement(name=release.name, version=release.version, cid="bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", manifest_sha256=release.manifest_sha256)
    with pytest.raises(RpcError) as tampered:
        await publish(nc, release, alice, signature=sign(other, alice))
    assert tampered.value.code == "refused" and "tampered" in tampered.value.message
    with pytest.raises(RpcError) as unsigned:
        await publish(nc, release, alice, signature="0x")
    assert unsigned.value.code in {"refused", "invalid_request"}
    with pytest.raises(RpcError) as missing:
        await call(nc, rpc("publish"), PublishRequest(cid="bafkreibbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", publisher=alice.address, signature="0x00"), InfoReply)
    assert missing.value.code == "invalid_request" and "object store" in missing.value.message
    with pytest.raises(RpcError):
        await info(nc, "tamper-me")


async def test_resolve_orders_dependencies_and_respects_yanks(registry, nc, tmp_path, alice):
    await publish(nc, release_of(make_plugin(tmp_path, "base-lib", "1.0.0"), tmp_path), alice)
    await publish(nc, release_of(make_plugin(tmp_path, "app", "1.0.0", requires=("base-lib>=1",)), tmp_path), alice)
    resolved = await call(nc, rpc("resolve"), ResolveRequest(requirements=["app"]), ResolveReply)
    assert [(p.name, p.version) for p in resolved.install_order] == [("base-lib", "1.0.0"), ("app", "1.0.0")]
    statement = YankStatement(name="base-lib", version="1.0.0", reason="broken", issued_at=datetime.now(UTC).replace(microsecond=0))
    yanked = await call(nc, rpc("yank"), YankRequest(name="base-lib", version="1.0.0", reason="broken", issued_at=statement.issued_at,
                                                     signature=sign(statement, alice)), YankReply)
    assert yanked.changed
    with pytest.raises(RpcError) as refused:
        await call(nc, rpc("resolve"), ResolveRequest(requirements=["app"]), ResolveReply)
    assert "base-lib" in refused.value.message
    pinned = await call(nc, rpc("resolve"), ResolveRequest(requirements=["app", "base-lib==1.0.0"]), ResolveReply)
    assert [p.name for p in pinned.install_order] == ["base-lib", "app"] and pinned.install_order[0].yanked


async def test_added_owner_may_publish(registry, nc, tmp_path, alice, mallory):
    await publish(nc, release_of(make_plugin(tmp_path, "shared", "1.0.0"), tmp_path), alice)
    statement = OwnerAddStatement(name="shared", address=mallory.address, issued_at=datetime.now(UTC).replace(microsecond=0))
    reply = await call(nc, rpc("owners-add"), OwnerAddRequest(name="shared", address=mallory.address, issued_at=statement.issued_at,
                                                              signature=sign(statement, alice)), OwnerAddReply)
    assert reply.owners == [alice.address, mallory.address]
    second = await publish(nc, release_of(make_plugin(tmp_path, "shared", "1.1.0"), tmp_path), mallory)
    assert second.created


async def test_search_finds_with_a_typo(registry, nc, tmp_path, alice):
    await publish(nc, release_of(make_plugin(tmp_path, "doc-summarizer", summary="Summarizes long documents into short notes"), tmp_path), alice)
    await publish(nc, release_of(make_plugin(tmp_path, "weather", summary="Weather forecasts"), tmp_path), alice)
    found = await call(nc, rpc("search"), SearchRequest(text="sumarizer"), SearchReply)
    assert found.hits and found.hits[0].name == "doc-summarizer"
    everything = await call(nc, rpc("search"), SearchRequest(), SearchReply)
    assert everything.total == 2 and "category" in everything.facets


async def test_events_reach_the_bus_as_cloudevents(registry, nc, tmp_path, alice):
    await publish(nc, release_of(make_plugin(tmp_path, "evented"), tmp_path), alice)
    sub = await nc.jetstream().subscribe("plugyard.evt.registry.>", ordered_consumer=True)
    seen = {}
    for _ in range(2):
        msg = await sub.next_msg(timeout=10)
        event = json.loads(msg.data)
        seen[event["type"]] = event
    assert set(seen) == {"dev.plugyard.registry.PluginRegistered", "dev.plugyard.registry.VersionPublished"}
    published = seen["dev.plugyard.registry.VersionPublished"]
    assert published["source"] == "plugyard/registry" and published["subject"] == "evented==1.0.0"
    assert published["data"]["cid"].startswith("bafk") and published["aggregateversion"] == 2


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("payload", [b"{not json", b"[]", b"\xff", b'{"name": 5, "cid": 7, "requirements": "x", "limit": -1}'])
async def test_every_rpc_answers_bad_requests_with_a_typed_error(registry, nc, verb, payload):
    reply = json.loads((await nc.request(rpc(verb), payload, timeout=5)).data)
    if verb == "health" or (verb == "search" and payload.startswith(b'{"name"')):
        if "error" not in reply:
            return  # health takes no fields; search rejects the negative limit below
    assert reply["error"]["code"] == "invalid_request", reply


async def test_a_restart_rebuilds_the_catalog_from_events(nats_server, tmp_path, alice, monkeypatch):
    monkeypatch.setenv("PLUGYARD_DEV_ALLOW_PENDING", "1")
    data_dir = tmp_path / "data"
    running = await start_registry(nats_server, data_dir)
    client = await connect("t", nats_server.url)
    try:
        await publish(client, release_of(make_plugin(tmp_path, "durable"), tmp_path), alice)
        await running.close()
        running = await start_registry(nats_server, data_dir)
        described = await info(client, "durable")
        assert described.owners == [alice.address] and described.latest == "1.0.0"
        found = await call(client, rpc("search"), SearchRequest(text="durable"), SearchReply)
        assert [h.name for h in found.hits] == ["durable"]
    finally:
        await client.close()
        await running.close()


def hostile_archive() -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, payload in (("plugin.toml", b"[plugin]\n"), ("../escape.py", b"print('out')")):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


@pytest.mark.parametrize("data", [hostile_archive(), b"not an archive at all"], ids=["traversal", "not-gzip"])
async def test_hostile_archives_are_refused_naming_the_rule(registry, nc, alice, data):
    from plugyard_artifacts.cid import cid_of
    from plugyard_core.artifact_store import put_artifact

    cid = cid_of(data)
    await put_artifact(nc.jetstream(), cid, data)
    with pytest.raises(RpcError) as refused:
        await call(nc, rpc("publish"), PublishRequest(cid=cid, publisher=alice.address, signature="0x" + "11" * 65), InfoReply)
    assert refused.value.code == "invalid_request"
    assert any(rule in refused.value.message for rule in ("path-traversal", "not-gzip", "traversal", "gzip")), refused.value.message
    health = await call(nc, rpc("health"), HealthRequest(), HealthReply)
    assert health.healthy


async def test_every_registry_event_matches_its_schema(registry, nc, tmp_path, alice, mallory):
    from plugyard_artifacts.signing import DeprecateStatement
    from plugyard_schemas.registry import DeprecateReply, DeprecateRequest
    from plugyard_schemas.registry_events import REGISTRY_EVENTS

    await publish(nc, release_of(make_plugin(tmp_path, "schematic"), tmp_path), alice)
    issued = datetime.now(UTC).replace(microsecond=0)
    yank = YankStatement(name="schematic", version="1.0.0", reason="r", issued_at=issued)
    await call(nc, rpc("yank"), YankRequest(name="schematic", version="1.0.0", reason="r", issued_at=issued, signature=sign(yank, alice)), YankReply)
    owner = OwnerAddStatement(name="schematic", address=mallory.address, issued_at=issued)
    await call(nc, rpc("owners-add"), OwnerAddRequest(name="schematic", address=mallory.address, issued_at=issued, signature=sign(owner, alice)), OwnerAddReply)
    deprecation = DeprecateStatement(name="schematic", successor=None, reason="old", issued_at=issued)
    await call(nc, rpc("deprecate"), DeprecateRequest(name="schematic", reason="old", issued_at=issued, signature=sign(deprecation, alice)), DeprecateReply)
    sub = await nc.jetstream().subscribe("plugyard.evt.registry.>", ordered_consumer=True)
    seen = set()
    # The verdict events are checked against their schemas in tests/registry/test_scan_verdicts.py.
    while seen != set(REGISTRY_EVENTS) - {"VersionCleared", "VersionWarned", "VersionQuarantined"}:
        event = json.loads((await sub.next_msg(timeout=10)).data)
        name = event["type"].removeprefix("dev.plugyard.registry.")
        REGISTRY_EVENTS[name].model_validate(event["data"])
        assert event["subject"].startswith("schematic")
        seen.add(name)
