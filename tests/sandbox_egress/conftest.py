"""Real upstreams on 127.0.0.1 and proxies on a Unix socket, torn down after each test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from plugyard_sandbox.egress_proxy import EgressProxy

from .helpers import Upstream


@pytest.fixture
async def echo() -> AsyncIterator[Upstream]:
    server = Upstream("echo")
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def web() -> AsyncIterator[Upstream]:
    server = Upstream("http")
    await server.start()
    yield server
    await server.close()


class ProxyRecorder:
    def __init__(self) -> None:
        self.denied: list[tuple[str, str]] = []
        self.allowed: list[str] = []


@pytest.fixture
async def make_proxy(tmp_path: Path) -> AsyncIterator[Callable[..., EgressProxy]]:
    proxies: list[EgressProxy] = []

    async def make(allowed, **kwargs) -> EgressProxy:
        record = ProxyRecorder()
        proxy = EgressProxy(
            str(tmp_path / f"egress{len(proxies)}.sock"),
            allowed,
            on_denied=lambda target, reason: record.denied.append((target, reason)),
            on_allowed=record.allowed.append,
            **kwargs,
        )
        proxy.record = record
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        with contextlib.suppress(Exception):
            await proxy.close()
