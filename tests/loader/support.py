"""Cleared plugins on a real bus for loader tests: write one with the SDK, publish it signed, clear it as the scanner would."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

from eth_account import Account

from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.registry import InfoReply, InfoRequest
from tests.registry.scans import cloudevent, scan_data, send_scan
from tests.registry.support import publish, release_of

GREETER = '''
import os
from plugyard_sdk import PluginError, action, get_logger

log = get_logger(__name__)


class Plugin:
    @action
    def hello(self, name: str) -> dict:
        log.info("greeting %s", name)
        return {"greeting": f"Hello, {name}", "version": VERSION, "pid": os.getpid()}

    @action
    def fail(self) -> dict:
        raise PluginError("it failed on purpose", code="on_purpose", details={"why": "test"})

    @action
    def sleep(self, seconds: float) -> dict:
        import time
        time.sleep(seconds)
        return {"slept": seconds, "pid": os.getpid()}

    @action
    def crash(self) -> dict:
        os._exit(3)
'''


def write_plugin(root: Path, name: str, version: str = "1.0.0", *, source: str = GREETER, permissions: str = "", requires: tuple[str, ...] = ()) -> Path:
    directory = root / f"{name}-{version}"
    module = name.replace("-", "_")
    (directory / module).mkdir(parents=True)
    (directory / module / "__init__.py").write_text(f"VERSION = {version!r}\n" + textwrap.dedent(source))
    requires_toml = ", ".join(json.dumps(r) for r in requires)
    (directory / "plugin.toml").write_text(textwrap.dedent(f"""\
        [plugin]
        name = "{name}"
        version = "{version}"
        summary = "The {name} plugin"
        description = "A plugin used by the loader tests."
        authors = ["Test Author <test@example.org>"]
        license = "MIT"
        entry = "{module}:Plugin"
        host = ">=1.0,<2"
        requires = [{requires_toml}]

        [permissions]
        """) + textwrap.dedent(permissions))
    return directory


async def until_status(nc, name: str, version: str, status: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        reply = await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name, version=version), InfoReply, timeout=5)
        if any(v.version == version and v.status == status for v in reply.versions):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{name} {version} never became {status}: {[(v.version, v.status) for v in reply.versions]}")
        await asyncio.sleep(0.1)


async def publish_verdict(nc, tmp: Path, directory: Path, verdict: str = "cleared", account=None):
    """Publish the folder signed by `account` and give it the scanner's verdict; wait until the registry holds it."""
    account = account or Account.create()
    release = release_of(directory, tmp)
    await publish(nc, release, account)
    await send_scan(nc, cloudevent(scan_data(release.name, release.version, release.cid, verdict, f"{verdict} in a test")))
    await until_status(nc, release.name, release.version, verdict)
    return release
