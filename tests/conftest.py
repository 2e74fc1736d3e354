"""Shared fixtures: a real nats-server per test (free loopback port, store in a temp dir)."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from plugyard_core.connection import connect
from plugyard_core.embedded_nats import EmbeddedNats, free_port

# A test suite started in the background of a non-interactive shell (`make test &`, some CI runners) inherits
# SIGINT ignored, and every process it starts would inherit that too: the tests that press Ctrl-C on a command
# (`plugyard top`, `plugyard dev`) would then wait for an exit that never comes. Python's own handler again:
# processes started from here get SIGINT's default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(data_dir=tmp_path / "nats", port=free_port(), sync_always=False, log_file=tmp_path / "nats.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def nc(nats_server: EmbeddedNats) -> AsyncIterator:
    client = await connect("tests", nats_server.url)
    yield client
    await client.close()


@pytest.fixture
def postgres_env() -> Iterator[dict[str, str]]:
    """A fresh, temporary PostgreSQL database on 127.0.0.1:5432; skips with the reason where there is none."""
    psycopg = pytest.importorskip("psycopg")
    import uuid

    admin_dsn = os.environ.get("PLUGYARD_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3)
    except Exception as exc:
        pytest.skip(f"no PostgreSQL reachable at {admin_dsn!r}: {exc}")
    name = f"plugyard_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": name,
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": "5432",
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "",
        }
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
