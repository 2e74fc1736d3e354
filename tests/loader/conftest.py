"""A registry and a loader in this test's event loop, on the test's own nats-server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plugyard_core.rpc import call
from plugyard_loader.handlers import loader_subject
from plugyard_loader.main import build_service as build_loader
from plugyard_registry.main import build_service as build_registry
from tests.in_process import start_in_process

HOST = "testhost"


@dataclass
class Stack:
    nc: Any
    data_dir: Path
    events: list[dict] = field(default_factory=list)

    async def rpc(self, verb: str, request, reply_type, timeout: float = 60.0):
        return await call(self.nc, loader_subject(HOST, verb), request, reply_type, timeout=timeout)

    async def invoke(self, name: str, action: str, args: Any = None, *, timeout: float | None = None, raw: bytes | None = None) -> dict:
        headers = {"Plugyard-Timeout": str(timeout)} if timeout is not None else None
        body = raw if raw is not None else json.dumps(args or {}).encode()
        msg = await self.nc.request(f"plugyard.rpc.plugin.{name}.{action}", body, timeout=(timeout or 30) + 5, headers=headers)
        return json.loads(msg.data)

    def of_type(self, kind: str) -> list[dict]:
        return [e["data"] for e in self.events if e["type"].endswith("." + kind)]


@pytest.fixture
def loader_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGYARD_LOADER_HOST", HOST)
    monkeypatch.setenv("PLUGYARD_TELEMETRY_INTERVAL_S", "0.3")
    monkeypatch.setenv("PLUGYARD_LOADER_BACKOFF_S", "0.1")
    monkeypatch.setenv("PLUGYARD_PLUGIN_DISK_MB", "128")
    monkeypatch.delenv("PLUGYARD_SANDBOX_REQUIRE", raising=False)


@pytest.fixture
async def stack(nats_server, nc, tmp_path: Path, loader_env) -> AsyncIterator[Stack]:
    data = tmp_path / "data"
    registry = await start_in_process(build_registry(data_dir=data, nats_url=nats_server.url))
    loader = await start_in_process(build_loader(data_dir=data, nats_url=nats_server.url))
    result = Stack(nc=nc, data_dir=data)

    async def collect(msg) -> None:
        result.events.append(json.loads(msg.data))

    sub = await nc.subscribe("plugyard.evt.loader.>", cb=collect)
    try:
        yield result
    finally:
        await sub.unsubscribe()
        await loader.close()
        await registry.close()
