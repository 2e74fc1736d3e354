"""A second nats-server, for a second registry (two registries on one NATS would answer the same RPC subjects)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from plugyard_artifacts.keys import save_key
from plugyard_core.embedded_nats import EmbeddedNats, free_port


@pytest.fixture
def other_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(data_dir=tmp_path / "nats-other", port=free_port(), sync_always=False, log_file=tmp_path / "nats-other.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dev_key(tmp_path: Path):
    """A plain (unencrypted) publisher key file in the data dir, as a developer's directory source uses."""
    account = Account.create()
    path = tmp_path / "data" / "dev.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_key(account, path, passphrase=None, plain=True)
    return account
