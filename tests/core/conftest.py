"""Fixtures for the event-store, outbox and tracked-consumer tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from plugyard_core.streams import ensure_streams


@pytest.fixture(params=["sqlite", "postgres"])
def persistence(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test against the SQLite default and against PostgreSQL (skipped where there is none)."""
    for name in ("PERSISTENCE_MODULE", "POSTGRES_DBNAME"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgres":
        env = request.getfixturevalue("postgres_env")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    yield request.param


@pytest.fixture
def sqlite_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PERSISTENCE_MODULE", "POSTGRES_DBNAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def js(nc) -> AsyncIterator[JetStreamContext]:
    context = nc.jetstream()
    await ensure_streams(context)
    yield context


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
