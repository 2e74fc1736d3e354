"""Scan verdicts in the registry: the rules of `Plugin.judge` (no NATS), then the scanner's `ScanCompleted` events and
admin overrides against a real nats-server: statuses with their reasons, quarantined versions refused by resolve,
poison messages rejected while the registry keeps serving, overrides that stick, and replays that record nothing.
Replayed signed statements across restarts: test_signed_replay.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account

from plugyard_artifacts.signing import VerdictStatement, sign
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_registry.admins import ADMINS_ENV, AdminConfigError, load_admins
from plugyard_registry.catalog import Catalog
from plugyard_registry.domain import MAX_FINDINGS, Plugin, RegistryRefusal
from plugyard_registry.main import build_service
from plugyard_schemas.registry import InfoReply, InfoRequest, ResolveReply, ResolveRequest, VerdictReply, VerdictRequest
from plugyard_schemas.registry_events import REGISTRY_EVENTS
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.in_process import start_in_process
from tests.registry.scans import cloudevent, finding, scan_counts, scan_data, send_scan, stored_kinds, until_scans
from tests.registry.support import make_plugin, publish, release_of

CID = "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
VERDICT_EVENTS = ("VersionCleared", "VersionWarned", "VersionQuarantined")


# ------------------------------------------------------------------------------------------- domain rules


def published_plugin(version: str = "1.0.0", cid: str = CID) -> Plugin:
    plugin = Plugin(name="judged", owner="0xowner")
    plugin.publish(version=version, cid=cid, publisher="0xowner", signature="0x", manifest={}, manifest_sha256="0" * 64, size=1, sha256="0" * 64,
                   published_at=datetime.now(UTC).isoformat())
    return plugin


def scanner(plugin: Plugin, verdict: str, reason: str = "why", *, findings: list | None = None, cid: str = CID, version: str = "1.0.0",
            scan_no: int = 1) -> bool:
    return plugin.judge(version=version, cid=cid, verdict=verdict, reason=reason, findings=findings or [], by="scanner", override=False,
                        scan_no=scan_no)


def admin(plugin: Plugin, verdict: str, reason: str = "reviewed", *, by: str = "0xadmin") -> bool:
    return plugin.judge(version="1.0.0", cid=CID, verdict=verdict, reason=reason, findings=[], by=by, override=True, scan_no=None)


def test_a_verdict_is_recorded_only_when_the_status_changes():
    plugin = published_plugin()
    assert scanner(plugin, "warned", "uses subprocess", findings=[finding(severity="medium")])
    record = plugin.versions["1.0.0"]
    assert record["status"] == "warned" and record["status_reason"] == "warned by the scanner: uses subprocess"
    assert record["findings"][0]["severity"] == "medium" and record["scan_no"] == 1 and not record["verdict_override"]
    assert not scanner(plugin, "warned", "uses subprocess again", scan_no=2)
    assert scanner(plugin, "quarantined", "runs decoded code", scan_no=3)
    assert [type(e).__name__ for e in plugin.collect_events()][-2:] == ["VersionWarned", "VersionQuarantined"]


def test_unknown_versions_other_content_and_unknown_verdicts_are_refused():
    plugin = published_plugin()
    with pytest.raises(RegistryRefusal) as unknown:
        scanner(plugin, "cleared", version="9.9.9")
    assert unknown.value.code == "not_found" and "9.9.9" in unknown.value.message
    with pytest.raises(RegistryRefusal) as other:
        scanner(plugin, "cleared", cid="bafkreibbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
    assert other.value.code == "conflict" and CID in other.value.message
    with pytest.raises(RegistryRefusal) as odd:
        scanner(plugin, "fine")
    assert odd.value.code == "invalid_request"
    assert plugin.versions["1.0.0"]["status"] == "pending"


def test_an_override_sticks_until_another_override():
    plugin = published_plugin()
    assert scanner(plugin, "quarantined", "looks like a stealer")
    assert admin(plugin, "cleared", "false positive: reviewed the code")
    record = plugin.versions["1.0.0"]
    assert record["status"] == "cleared" and record["verdict_override"] and record["scan_no"] is None
    assert record["status_reason"] == "cleared by registry admin 0xadmin: false positive: reviewed the code"
    assert not scanner(plugin, "quarantined", "still looks like a stealer", scan_no=2)
    assert not scanner(plugin, "warned", scan_no=3)
    assert plugin.versions["1.0.0"]["status"] == "cleared"
    assert not admin(plugin, "cleared", "said twice")
    assert admin(plugin, "quarantined", "changed my mind", by="0xother")
    assert plugin.versions["1.0.0"]["status_reason"] == "quarantined by registry admin 0xother: changed my mind"


def test_an_override_that_confirms_the_scanner_is_recorded_once_and_then_sticks():
    plugin = published_plugin()
    assert scanner(plugin, "quarantined")
    assert admin(plugin, "quarantined", "confirmed")
    assert not admin(plugin, "quarantined", "confirmed again")
    assert not scanner(plugin, "cleared", scan_no=2)
    assert plugin.versions["1.0.0"]["status"] == "quarantined"


def test_findings_are_capped_and_reasons_are_one_line():
    plugin = published_plugin()
    scanner(plugin, "quarantined", "first line\nsecond\tline " + "x" * 1000, findings=[finding(line=n) for n in range(1, 40)])
    record = plugin.versions["1.0.0"]
    assert len(record["findings"]) == MAX_FINDINGS and record["findings"][0]["line"] == 1
    assert "\n" not in record["status_reason"] and record["status_reason"].startswith("quarantined by the scanner: first line second line x")
    assert len(record["status_reason"]) < 600


def test_the_catalog_follows_the_aggregate():
    plugin = published_plugin()
    scanner(plugin, "quarantined", "bad", findings=[finding()])
    admin(plugin, "cleared", "good after all")
    catalog = Catalog()
    catalog.apply(plugin.collect_events())
    stored, seen = plugin.versions["1.0.0"], catalog.get("judged").versions["1.0.0"]
    for key in ("status", "status_reason", "findings", "verdict_override", "scan_no"):
        assert seen[key] == stored[key], key
    assert catalog.installable(seen) and catalog.versions("judged")[0].status_reason == stored["status_reason"]


def test_admin_addresses_are_validated():
    account = Account.create()
    assert load_admins({ADMINS_ENV: f" {account.address.lower()} ,, "}) == {account.address}
    assert load_admins({}) == frozenset()
    with pytest.raises(AdminConfigError) as bad:
        load_admins({ADMINS_ENV: f"{account.address},0x12345"})
    assert "0x12345" in str(bad.value) and "entry 2" in str(bad.value)


def test_an_invalid_admin_address_stops_the_registry_at_start(tmp_path):
    env = {"PATH": "", ADMINS_ENV: "0xnot-an-address", "PLUGYARD_DATA_DIR": str(tmp_path), "PLUGYARD_NATS_URL": "nats://127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", "plugyard_registry"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78
    assert ADMINS_ENV in done.stderr and "0xnot-an-address" in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------- against nats-server


@pytest.fixture
def boss():
    return Account.create()


@pytest.fixture
def alice():
    return Account.create()


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
async def registry(nats_server, data_dir, boss, monkeypatch):
    monkeypatch.delenv("PLUGYARD_DEV_ALLOW_PENDING", raising=False)
    monkeypatch.setenv(ADMINS_ENV, boss.address)
    running = await start_in_process(build_service(data_dir, nats_server.url))
    yield running
    await running.close()


def rpc(verb: str) -> str:
    return rpc_subject("registry", verb)


async def info(nc, name: str):
    return (await call(nc, rpc("info"), InfoRequest(name=name), InfoReply)).versions[0]


async def resolve(nc, *requirements: str) -> ResolveReply:
    return await call(nc, rpc("resolve"), ResolveRequest(requirements=list(requirements)), ResolveReply)


def verdict_of(name: str, version: str, verdict: str, reason: str, *, issued_at: datetime | None = None) -> VerdictStatement:
    return VerdictStatement(name=name, version=version, verdict=verdict, reason=reason, issued_at=issued_at or datetime.now(UTC).replace(microsecond=0))


async def send_verdict(nc, signer, statement: VerdictStatement) -> VerdictReply:
    request = VerdictRequest(name=statement.name, version=statement.version, verdict=statement.verdict, reason=statement.reason,
                             issued_at=statement.issued_at, signature=sign(statement, signer))
    return await call(nc, rpc("verdict"), request, VerdictReply)


async def set_verdict(nc, signer, name: str, version: str, verdict: str, reason: str, *, issued_at: datetime | None = None) -> VerdictReply:
    return await send_verdict(nc, signer, verdict_of(name, version, verdict, reason, issued_at=issued_at))


async def published(nc, tmp_path, account, name: str, version: str = "1.0.0"):
    return await publish(nc, release_of(make_plugin(tmp_path, name, version), tmp_path), account)


async def test_scanner_verdicts_set_the_status_and_resolve_names_the_quarantine(registry, nc, tmp_path, alice):
    reply = await published(nc, tmp_path, alice, "scanned")
    with pytest.raises(RpcError) as pending:
        await resolve(nc, "scanned")
    assert "pending its scan" in pending.value.message

    await send_scan(nc, cloudevent(scan_data("scanned", "1.0.0", reply.cid, "cleared", "no findings")))
    await until_scans(nc, 1)
    cleared = await info(nc, "scanned")
    assert (cleared.status, cleared.status_reason, cleared.findings) == ("cleared", "cleared by the scanner: no findings", [])
    assert [p.name for p in (await resolve(nc, "scanned")).install_order] == ["scanned"]

    findings = [finding(line=n, message=f"finding {n}") for n in range(1, 8)]
    await send_scan(nc, cloudevent(scan_data("scanned", "1.0.0", reply.cid, "quarantined", "runs base64-decoded code", findings=findings, scan_no=2)))
    assert await until_scans(nc, 2) == (2, 0)
    quarantined = await info(nc, "scanned")
    assert quarantined.status == "quarantined" and quarantined.status_reason == "quarantined by the scanner: runs base64-decoded code"
    assert [f["line"] for f in quarantined.findings] == list(range(1, 8)) and not quarantined.verdict_override
    for requirement in ("scanned", "scanned==1.0.0"):
        with pytest.raises(RpcError) as refused:
            await resolve(nc, requirement)
        assert "quarantined by the scanner: runs base64-decoded code" in refused.value.message


async def test_malformed_scan_messages_are_rejected_and_the_registry_keeps_serving(registry, nc, tmp_path, data_dir, alice):
    reply = await published(nc, tmp_path, alice, "target")
    good = scan_data("target", "1.0.0", reply.cid, "cleared", "clean")
    broken_finding = {**good, "findings": [{"rule": "X", "severity": "apocalyptic"}]}
    poison = [
        (b"{not json", "not JSON"),
        (json.dumps({"hello": "world"}).encode(), "not a CloudEvent"),
        (cloudevent(good, type_="dev.plugyard.scanner.Something"), "not a scan result"),
        (cloudevent({k: v for k, v in good.items() if k != "verdict"}), "verdict"),
        (cloudevent({**good, "verdict": "fine"}), "verdict"),
        (cloudevent(broken_finding), "findings.0"),
        (cloudevent("a string"), "invalid data"),
        (cloudevent({**good, "name": "no-such-plugin"}), "no plugin named no-such-plugin"),
        (cloudevent({**good, "version": "9.9.9"}), "has no version 9.9.9"),
        (cloudevent({**good, "cid": "bafkreibbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}), "other content"),
    ]
    for payload, _ in poison:
        await send_scan(nc, payload)
    assert await until_scans(nc, len(poison)) == (len(poison), len(poison))
    assert (await info(nc, "target")).status == "pending"
    rejected = stored_kinds(data_dir, "MessageRejected")
    assert len(rejected) == len(poison)
    for event, (_, expected) in zip(sorted(rejected, key=lambda e: e.stream_seq), poison, strict=True):
        assert expected in event.reason and event.consumer == "registry-scans", event.reason

    await send_scan(nc, cloudevent(good))  # the consumer went on past them
    assert await until_scans(nc, len(poison) + 1) == (len(poison) + 1, len(poison))
    assert (await info(nc, "target")).status == "cleared"
    assert not stored_kinds(data_dir, *VERDICT_EVENTS)[0].override


async def test_an_admin_override_sticks_against_later_scans(registry, nc, tmp_path, data_dir, alice, boss):
    reply = await published(nc, tmp_path, alice, "overridden")
    await send_scan(nc, cloudevent(scan_data("overridden", "1.0.0", reply.cid, "quarantined", "calls home")))
    await until_scans(nc, 1)

    cleared = await set_verdict(nc, boss, "Overridden", "1.0.0", "cleared", "reviewed: the host is our own")
    assert (cleared.name, cleared.status, cleared.changed, cleared.by) == ("overridden", "cleared", True, boss.address)
    described = await info(nc, "overridden")
    assert described.verdict_override and described.status_reason == f"cleared by registry admin {boss.address}: reviewed: the host is our own"
    assert described.findings == [] and [p.name for p in (await resolve(nc, "overridden")).install_order] == ["overridden"]

    await send_scan(nc, cloudevent(scan_data("overridden", "1.0.0", reply.cid, "quarantined", "still calls home", scan_no=2)))
    await until_scans(nc, 2)
    assert (await info(nc, "overridden")).status == "cleared"

    again = await set_verdict(nc, boss, "overridden", "1.0.0", "cleared", "still fine")
    assert not again.changed and again.status == "cleared"
    quarantined = await set_verdict(nc, boss, "overridden", "1.0.0", "quarantined", "the host changed hands")
    assert quarantined.changed and (await info(nc, "overridden")).status == "quarantined"
    recorded = stored_kinds(data_dir, *VERDICT_EVENTS)
    # The confirmation changed no status but is recorded with its statement, so that it cannot be replayed later.
    assert [(type(e).__name__, e.override, e.by) for e in recorded] == [
        ("VersionQuarantined", False, "scanner"), ("VersionCleared", True, boss.address), ("VersionCleared", True, boss.address),
        ("VersionQuarantined", True, boss.address),
    ]


async def test_verdicts_from_others_stale_or_replayed_are_refused(registry, nc, tmp_path, alice, boss):
    await published(nc, tmp_path, alice, "guarded")
    with pytest.raises(RpcError) as stranger:
        await set_verdict(nc, alice, "guarded", "1.0.0", "cleared", "trust me, I wrote it")
    assert stranger.value.code == "refused" and "not a registry admin" in stranger.value.message and alice.address in stranger.value.message
    with pytest.raises(RpcError) as stale:
        await set_verdict(nc, boss, "guarded", "1.0.0", "cleared", "old", issued_at=datetime.now(UTC) - timedelta(hours=1))
    assert stale.value.code == "refused" and "old" in stale.value.message
    with pytest.raises(RpcError) as unknown:
        await set_verdict(nc, boss, "guarded", "2.0.0", "cleared", "no such version")
    assert unknown.value.code == "not_found"

    first = verdict_of("guarded", "1.0.0", "cleared", "ok")
    assert (await send_verdict(nc, boss, first)).changed
    with pytest.raises(RpcError) as retried:  # a signed statement is taken once, even when it would change nothing
        await send_verdict(nc, boss, first)
    assert retried.value.code == "refused" and "already used at" in retried.value.message
    await set_verdict(nc, boss, "guarded", "1.0.0", "quarantined", "not ok after all")
    with pytest.raises(RpcError) as replayed:
        await send_verdict(nc, boss, first)
    assert replayed.value.code == "refused" and "already used at" in replayed.value.message
    assert (await info(nc, "guarded")).status == "quarantined"
    assert (await call(nc, rpc("health"), HealthRequest(), HealthReply)).healthy


async def test_no_admins_configured_refuses_every_verdict(nats_server, nc, tmp_path, boss, alice, monkeypatch):
    monkeypatch.delenv(ADMINS_ENV, raising=False)
    running = await start_in_process(build_service(tmp_path / "data", nats_server.url))
    try:
        await published(nc, tmp_path, alice, "unjudged")
        with pytest.raises(RpcError) as refused:
            await set_verdict(nc, boss, "unjudged", "1.0.0", "cleared", "fine")
        assert refused.value.code == "refused" and ADMINS_ENV in refused.value.message
    finally:
        await running.close()


@pytest.mark.parametrize("payload", [b"{not json", b"[]", b'{"name": "x", "version": "1", "verdict": "maybe", "reason": ""}'])
async def test_the_verdict_rpc_answers_bad_requests_with_a_typed_error(registry, nc, payload):
    reply = json.loads((await nc.request(rpc("verdict"), payload, timeout=5)).data)
    assert reply["error"]["code"] == "invalid_request", reply


async def test_replayed_scans_record_nothing_new(nats_server, nc, tmp_path, data_dir, alice, boss, monkeypatch):
    monkeypatch.setenv(ADMINS_ENV, boss.address)
    running = await start_in_process(build_service(data_dir, nats_server.url))
    try:
        reply = await published(nc, tmp_path, alice, "replayed")
        payload = cloudevent(scan_data("replayed", "1.0.0", reply.cid, "warned", "spawns a subprocess", findings=[finding(severity="medium")]))
        assert not (await send_scan(nc, payload, msg_id="scan-1")).duplicate
        await until_scans(nc, 1)
        assert (await send_scan(nc, payload, msg_id="scan-1")).duplicate  # inside the stream's duplicate window
        assert not (await send_scan(nc, payload, msg_id="scan-1-again")).duplicate  # as if outside it
        assert await until_scans(nc, 2) == (2, 0)
        assert len(stored_kinds(data_dir, *VERDICT_EVENTS)) == 1

        await running.close()
        running = await start_in_process(build_service(data_dir, nats_server.url))
        await asyncio.sleep(1.0)  # time for anything redelivered to be processed
        assert await scan_counts(nc) == (0, 0)
        described = await info(nc, "replayed")
        assert (described.status, described.findings[0]["severity"]) == ("warned", "medium")
        assert len(stored_kinds(data_dir, *VERDICT_EVENTS)) == 1

        await send_scan(nc, cloudevent(scan_data("replayed", "1.0.0", reply.cid, "cleared", "rules fixed", scan_no=2)))
        await until_scans(nc, 1)  # the restarted consumer takes what is new
        assert (await info(nc, "replayed")).status == "cleared"
    finally:
        await running.close()


async def test_verdict_events_reach_the_bus_matching_their_schemas(registry, nc, tmp_path, alice, boss):
    reply = await published(nc, tmp_path, alice, "schematic-verdicts")
    await send_scan(nc, cloudevent(scan_data("schematic-verdicts", "1.0.0", reply.cid, "warned", "w", findings=[finding()])))
    await until_scans(nc, 1)
    await send_scan(nc, cloudevent(scan_data("schematic-verdicts", "1.0.0", reply.cid, "quarantined", "q", scan_no=2)))
    await until_scans(nc, 2)
    await set_verdict(nc, boss, "schematic-verdicts", "1.0.0", "cleared", "c")
    sub = await nc.jetstream().subscribe("plugyard.evt.registry.>", ordered_consumer=True)
    seen = {}
    while set(seen) != set(VERDICT_EVENTS):
        event = json.loads((await sub.next_msg(timeout=10)).data)
        name = event["type"].removeprefix("dev.plugyard.registry.")
        if name in VERDICT_EVENTS:
            seen[name] = REGISTRY_EVENTS[name].model_validate(event["data"])
            assert event["subject"] == "schematic-verdicts==1.0.0"
    assert seen["VersionWarned"].findings[0]["rule"] == "PY-EXEC-DECODED" and seen["VersionCleared"].by == boss.address
