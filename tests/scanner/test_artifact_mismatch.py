"""The attack the scanner used to fall for: benign bytes put straight into the object store under a quarantined
version's CID, then a rescan. Bytes that are not the version's content are never scanned: the scan is recorded
(`ScanCompleted`) as a quarantine naming the CID and what was found, whatever the policy says of SCAN-ARCHIVE."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from eth_account import Account

from plugyard_analysis.policy import default_policy_text
from plugyard_core.artifact_store import BUCKET
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import event_subject, rpc_subject
from plugyard_registry.main import build_service as build_registry
from plugyard_scanner.main import build_service as build_scanner
from plugyard_schemas.scanner import RescanReply, RescanRequest, ScanStatusReply, ScanStatusRequest
from tests.in_process import start_in_process
from tests.registry.support import make_plugin, publish, release_of
from tests.scanner.test_scanner_service import MALICIOUS, wait_for_status


@pytest.fixture
async def stack(nats_server, tmp_path, monkeypatch):
    """Registry and scanner, under a policy that would let an unreadable archive through (SCAN-ARCHIVE ignored)."""
    monkeypatch.delenv("PLUGYARD_DEV_ALLOW_PENDING", raising=False)
    policy = tmp_path / "lenient.toml"
    policy.write_text(default_policy_text() + '"SCAN-ARCHIVE" = "ignore"\n')
    monkeypatch.setenv("PLUGYARD_SCAN_POLICY", str(policy))
    data = tmp_path / "data"
    registry = await start_in_process(build_registry(data, nats_server.url))
    scanner = await start_in_process(build_scanner(data, nats_server.url))
    yield
    await scanner.close()
    await registry.close()


@pytest.fixture
def alice():
    return Account.create()


async def plant(js, cid: str, data: bytes) -> None:
    await (await js.object_store(BUCKET)).put(cid, data)


async def scan_events(nc, name: str) -> list[dict]:
    sub = await nc.jetstream().subscribe(event_subject("scanner", "ScanCompleted"), ordered_consumer=True)
    found = []
    try:
        while True:
            event = json.loads((await sub.next_msg(timeout=2)).data)
            if event["data"]["name"] == name:
                found.append(event["data"])
    except asyncio.TimeoutError:
        return found
    finally:
        await sub.unsubscribe()


async def test_benign_bytes_under_a_quarantined_cid_are_not_scanned_and_stay_quarantined(stack, nc, tmp_path, alice):
    malicious = release_of(make_plugin(tmp_path, "sneaky-kit", extra=MALICIOUS), tmp_path)
    benign = release_of(make_plugin(tmp_path / "benign", "sneaky-kit"), tmp_path)
    await publish(nc, malicious, alice)
    await wait_for_status(nc, "sneaky-kit", "quarantined")

    await plant(nc.jetstream(), malicious.cid, benign.data)
    reply = await call(nc, rpc_subject("scanner", "rescan"), RescanRequest(name="sneaky-kit", version="1.0.0"), RescanReply, timeout=120)
    assert reply.verdict == "quarantined" and reply.previous == "quarantined"
    status = await call(nc, rpc_subject("scanner", "status"), ScanStatusRequest(name="sneaky-kit", version="1.0.0"), ScanStatusReply)
    finding = status.findings[0]
    assert finding["rule"] == "SCAN-ARCHIVE" and finding["action"] == "quarantine"
    assert "not scanned" in finding["message"] and malicious.cid in finding["message"] and benign.cid in finding["message"]
    assert status.scans == 2

    events = await scan_events(nc, "sneaky-kit")
    assert [(e["trigger"], e["verdict"]) for e in events] == [("published", "quarantined"), ("rescan", "quarantined")]
    assert benign.cid in events[1]["findings"][0]["message"]
    info = await wait_for_status(nc, "sneaky-kit", "quarantined")
    assert info.cid == malicious.cid


async def test_a_published_version_whose_entry_is_other_bytes_is_recorded_as_a_mismatch(stack, nc, tmp_path, alice):
    """The consumer's path: no silent retry, no clearance; the scan is on record and the consumer goes on."""
    claimed = release_of(make_plugin(tmp_path, "claimed-kit"), tmp_path)
    other = release_of(make_plugin(tmp_path / "other", "claimed-kit", summary="Other bytes"), tmp_path)
    assert other.cid != claimed.cid
    js = nc.jetstream()
    await plant(js, claimed.cid, other.data)
    data = {
        "name": "claimed-kit", "version": "1.0.0", "cid": claimed.cid, "publisher": alice.address, "signature": "0x00", "manifest": {},
        "manifest_sha256": "0" * 64, "size": claimed.size, "sha256": claimed.sha256, "published_at": datetime.now(UTC).isoformat(),
    }
    event = {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "plugyard/registry", "type": "dev.plugyard.registry.VersionPublished",
        "subject": "claimed-kit==1.0.0", "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json", "data": data,
    }
    await js.publish(event_subject("registry", "VersionPublished"), json.dumps(event).encode())
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            status = await call(nc, rpc_subject("scanner", "status"), ScanStatusRequest(name="claimed-kit", version="1.0.0"), ScanStatusReply)
            if status.verdict:
                break
        except RpcError:
            pass
        assert asyncio.get_running_loop().time() < deadline, "the version was never recorded"
        await asyncio.sleep(0.2)
    assert status.verdict == "quarantined" and status.scans == 1
    assert status.findings[0]["rule"] == "SCAN-ARCHIVE" and other.cid in status.findings[0]["message"]
