"""Two loader hosts on one bus: invocations spread over the hosts that have the plugin loaded (one queue group), and a
quarantine stops the version on every host."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from plugyard_cli.loader_hosts import discover_hosts
from plugyard_core.rpc import call
from plugyard_loader.handlers import loader_subject
from plugyard_loader.main import build_service as build_loader
from plugyard_registry.main import build_service as build_registry
from plugyard_schemas.loader import InstallReply, InstallRequest, LoadRequest, PluginReply, PsReply, PsRequest
from tests.in_process import start_in_process
from tests.loader.support import publish_verdict, until_status, write_plugin
from tests.registry.scans import cloudevent, scan_data, send_scan


async def test_calls_spread_over_hosts_and_quarantine_stops_every_host(nats_server, nc, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLUGYARD_TELEMETRY_INTERVAL_S", "5")
    registry = await start_in_process(build_registry(data_dir=tmp_path / "registry", nats_url=nats_server.url))
    loaders = []
    for host in ("host-a", "host-b"):
        monkeypatch.setenv("PLUGYARD_LOADER_HOST", host)
        loaders.append(await start_in_process(build_loader(data_dir=tmp_path / host, nats_url=nats_server.url)))
    try:
        for host in ("host-a", "host-b"):  # the health RPC is shared by all loaders: wait for each host's own subjects
            for _ in range(100):
                try:
                    await call(nc, loader_subject(host, "ps"), PsRequest(), PsReply, timeout=1)
                    break
                except Exception:
                    await asyncio.sleep(0.1)
        assert await discover_hosts(nc) == ["host-a", "host-b"]
        release = await publish_verdict(nc, tmp_path, write_plugin(tmp_path / "src", "shared"))
        pids = {}
        for host in ("host-a", "host-b"):
            await call(nc, loader_subject(host, "install"), InstallRequest(requirements=["shared"]), InstallReply, timeout=60)
            pids[host] = (await call(nc, loader_subject(host, "load"), LoadRequest(name="shared"), PluginReply, timeout=60)).plugin.pid
        answered = set()
        for _ in range(40):
            reply = json.loads((await nc.request("plugyard.rpc.plugin.shared.hello", b'{"name": "x"}', timeout=10)).data)
            answered.add(reply["result"]["pid"])
        assert answered == set(pids.values())  # both hosts took calls

        await send_scan(nc, cloudevent(scan_data("shared", "1.0.0", release.cid, "quarantined", "found later", scan_no=2)))
        await until_status(nc, "shared", "1.0.0", "quarantined")
        for host in ("host-a", "host-b"):
            for _ in range(100):
                ps = await call(nc, loader_subject(host, "ps"), PsRequest(), PsReply)
                if not ps.plugins:
                    break
                await asyncio.sleep(0.05)
            assert ps.plugins == [], host
    finally:
        for running in loaders:
            await running.close()
        await registry.close()
