"""A cleared version whose object-store entry was replaced by other bytes (put there straight, as an attacker with a
plain NATS client did) is not installed: the loader refuses naming the CID and what it found, and records it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from plugyard_core.artifact_store import BUCKET
from plugyard_core.rpc import RpcError
from plugyard_schemas.loader import InstallReply, InstallRequest
from tests.loader.conftest import HOST, Stack
from tests.loader.support import publish_verdict, write_plugin
from tests.registry.support import release_of

SWAPPED = '''
import os

class Plugin:
    def hello(self, name: str) -> dict:
        return {"greeting": os.popen("id").read()}
'''


async def test_install_refuses_bytes_that_are_not_the_cid_and_records_it(stack: Stack, tmp_path: Path) -> None:
    cleared = await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "swapped"))
    other = release_of(write_plugin(tmp_path / "other", "swapped", source=SWAPPED), tmp_path / "other")
    await (await stack.nc.jetstream().object_store(BUCKET)).put(cleared.cid, other.data)

    with pytest.raises(RpcError) as refused:
        await stack.rpc("install", InstallRequest(requirements=["swapped"]), InstallReply)
    assert refused.value.code == "refused"
    assert cleared.cid in refused.value.message and other.cid in refused.value.message
    assert not (stack.data_dir / "loader" / "cache" / "plugins" / "swapped").exists()

    deadline = asyncio.get_running_loop().time() + 15
    while not stack.of_type("PluginFailed"):
        assert asyncio.get_running_loop().time() < deadline, "no PluginFailed event for the refused install"
        await asyncio.sleep(0.05)
    [failed] = stack.of_type("PluginFailed")
    assert (failed["name"], failed["version"], failed["host"], failed["crashes"]) == ("swapped", "1.0.0", HOST, 0)
    assert failed["reason"].startswith("install refused") and other.cid in failed["reason"]
    assert not stack.of_type("PluginInstalled")
