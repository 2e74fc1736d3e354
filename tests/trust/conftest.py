"""A nats-server with the stack's authorization on: identities in a temporary data directory, free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from plugyard_core.bus_config import authorization_block
from plugyard_core.bus_identities import Identity, ensure_identities
from plugyard_core.bus_permissions import bus_identities
from plugyard_core.connection import BusAccess, bus_access
from plugyard_core.embedded_nats import EmbeddedNats, free_port
from plugyard_core.streams import ensure_streams


@dataclass
class SecuredBus:
    server: EmbeddedNats
    data_dir: Path
    identities: dict[str, Identity]

    @property
    def url(self) -> str:
        return self.server.url

    def access(self, identity: str) -> BusAccess:
        return bus_access(identity, self.url, self.data_dir)


@dataclass
class Watched:
    """A connection whose asynchronous server errors (permission violations) are kept for the test to read."""

    nc: Client
    errors: list[str] = field(default_factory=list)

    async def refused(self, subject_part: str, timeout: float = 2.0) -> bool:
        """Whether the server reported a permissions violation naming `subject_part` (case-insensitive)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if any("permissions violation" in e.lower() and subject_part.lower() in e.lower() for e in self.errors):
                return True
            await asyncio.sleep(0.02)
        return False


@pytest.fixture
def secured_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecuredBus]:
    monkeypatch.delenv("PLUGYARD_NATS_CREDS", raising=False)
    data_dir = tmp_path / "data"
    identities = ensure_identities(bus_identities(), data_dir)
    server = EmbeddedNats(
        tmp_path / "nats", free_port(), sync_always=False, log_file=tmp_path / "nats.log", extra_blocks=(authorization_block(identities),)
    )
    server.start()
    yield SecuredBus(server, data_dir, identities)
    server.stop()


@pytest.fixture
async def connect_as(secured_bus: SecuredBus) -> AsyncIterator:
    opened: list[Client] = []

    async def connect(identity: str | None) -> Watched:
        errors: list[str] = []

        async def on_error(error: Exception) -> None:
            errors.append(str(error))

        options = secured_bus.access(identity).nats_options() if identity else {}
        nc = await nats.connect(secured_bus.url, error_cb=on_error, allow_reconnect=False, connect_timeout=2, **options)
        opened.append(nc)
        return Watched(nc, errors)

    yield connect
    for nc in opened:
        if not nc.is_closed:
            await nc.close()


@pytest.fixture
async def streams(connect_as) -> None:
    admin = await connect_as("admin")
    await ensure_streams(admin.nc.jetstream())
