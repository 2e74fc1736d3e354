"""A loader's runtime quarantine, against a real nats-server: it quarantines, names the loader, sticks against later
clean scans, and refuses what does not exist or is malformed."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_registry.main import build_service
from plugyard_schemas.registry import InfoReply, InfoRequest, RuntimeQuarantineReply, RuntimeQuarantineRequest
from tests.in_process import start_in_process
from tests.registry.scans import cloudevent, scan_data, send_scan, until_scans
from tests.registry.support import make_plugin, publish, release_of


async def status_of(nc, name: str) -> tuple[str, str]:
    info = await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name), InfoReply)
    return info.versions[0].status, info.versions[0].status_reason or ""


async def test_runtime_quarantine_sticks_and_names_the_loader(nats_server, nc, tmp_path) -> None:
    running = await start_in_process(build_service(data_dir=tmp_path / "data", nats_url=nats_server.url))
    try:
        release = release_of(make_plugin(tmp_path, "misbehaves"), tmp_path)
        published = await publish(nc, release, Account.create())
        await send_scan(nc, cloudevent(scan_data("misbehaves", "1.0.0", release.cid, "cleared", "clean")))
        await until_scans(nc, 1)
        info = await call(nc, rpc_subject("registry", "info"), InfoRequest(name="misbehaves"), InfoReply)
        assert info.versions[0].signature.startswith("0x") and published.status == "pending"

        request = RuntimeQuarantineRequest(name="misbehaves", version="1.0.0", host="host-a", reason="2 permission violations")
        reply = await call(nc, rpc_subject("registry", "runtime-quarantine"), request, RuntimeQuarantineReply)
        assert (reply.status, reply.changed) == ("quarantined", True)
        assert await status_of(nc, "misbehaves") == ("quarantined", "quarantined by the loader on host-a: 2 permission violations")
        again = await call(nc, rpc_subject("registry", "runtime-quarantine"), request, RuntimeQuarantineReply)
        assert not again.changed

        await send_scan(nc, cloudevent(scan_data("misbehaves", "1.0.0", release.cid, "cleared", "clean again", scan_no=2)))
        await until_scans(nc, 2)
        assert (await status_of(nc, "misbehaves"))[0] == "quarantined"

        with pytest.raises(RpcError, match="no version 9.9"):
            await call(nc, rpc_subject("registry", "runtime-quarantine"),
                       RuntimeQuarantineRequest(name="misbehaves", version="9.9", host="h", reason="r"), RuntimeQuarantineReply)
        bad = await nc.request(rpc_subject("registry", "runtime-quarantine"), json.dumps({"name": "misbehaves", "version": "1.0.0", "host": "a.b", "reason": "r"}).encode(), timeout=5)
        assert json.loads(bad.data)["error"]["code"] == "invalid_request"
    finally:
        await running.close()
