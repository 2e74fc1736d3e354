"""A registry and a scanner in this test's event loop, on the test's own nats-server and data directory."""

from __future__ import annotations

import pytest

from plugyard_registry.main import build_service as build_registry
from plugyard_scanner.main import build_service as build_scanner
from tests.in_process import start_in_process


@pytest.fixture
async def stack(nats_server, tmp_path, monkeypatch):
    monkeypatch.delenv("PLUGYARD_DEV_ALLOW_PENDING", raising=False)
    monkeypatch.delenv("PLUGYARD_SCAN_POLICY", raising=False)
    data = tmp_path / "data"
    registry = await start_in_process(build_registry(data, nats_server.url))
    scanner = await start_in_process(build_scanner(data, nats_server.url))
    yield {"data": data, "scanner": scanner, "registry": registry}
    await scanner.close()
    await registry.close()
