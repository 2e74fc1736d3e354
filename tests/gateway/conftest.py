"""A nats-server with the stack's authorization on (every identity `plugyard up` creates, the gateway's too), its
streams and buckets made by the admin identity, and gateway processes (`python -m plugyard_gateway`) pointed at it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from plugyard_core.artifact_store import BUCKET
from plugyard_core.bus_config import authorization_block
from plugyard_core.bus_identities import Identity, ensure_identities
from plugyard_core.bus_permissions import stack_identities
from plugyard_core.connection import bus_access
from plugyard_core.embedded_nats import EmbeddedNats, free_port
from plugyard_core.services import GATEWAY_URL_FILE
from plugyard_core.streams import ensure_streams


@dataclass
class Bus:
    server: EmbeddedNats
    data_dir: Path
    identities: dict[str, Identity]

    @property
    def url(self) -> str:
        return self.server.url

    async def connect(self, identity: str, errors: list[str] | None = None) -> Client:
        async def on_error(error: Exception) -> None:
            if errors is not None:
                errors.append(str(error))

        options = bus_access(identity, self.url, self.data_dir, from_env=False).nats_options()
        return await nats.connect(self.url, error_cb=on_error, allow_reconnect=False, connect_timeout=2, **options)

    async def put(self, key: str, data: bytes) -> None:
        """Write an entry of the artifacts bucket as its only writer would (the admin may too): no check at all, so a
        test can put there what the registry never would."""
        nc = await self.connect("admin")
        try:
            await (await nc.jetstream().object_store(BUCKET)).put(key, data)
        finally:
            await nc.close()


def start_bus(root: Path) -> Bus:
    data_dir = root / "data"
    identities = ensure_identities(stack_identities(), data_dir)
    server = EmbeddedNats(root / "nats", free_port(), sync_always=False, log_file=root / "nats.log",
                          extra_blocks=(authorization_block(identities),))
    server.start()
    bus = Bus(server, data_dir, identities)

    async def declare() -> None:
        nc = await bus.connect("admin")
        try:
            await ensure_streams(nc.jetstream())
        finally:
            await nc.close()

    asyncio.run(declare())
    return bus


@pytest.fixture(scope="module")
def bus(tmp_path_factory) -> Bus:
    running = start_bus(tmp_path_factory.mktemp("bus"))
    yield running
    running.server.stop()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Gateway:
    process: subprocess.Popen
    url: str
    log: Path
    data_dir: Path
    replies: list[Reply] = field(default_factory=list)

    def request(self, path: str, *, method: str = "GET", accept: str | None = None, **headers: str) -> Reply:
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if accept is not None:
            sent["Accept"] = accept
        request = urllib.request.Request(self.url + path, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                reply = Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
        return reply

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_gateway(bus: Bus, root: Path, **env: str) -> Gateway:
    root.mkdir(parents=True, exist_ok=True)
    data_dir = root / "gateway-data"
    log = root / "gateway.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")}
    environ.update(PLUGYARD_NATS_URL=bus.url, PLUGYARD_DATA_DIR=str(data_dir), PLUGYARD_GATEWAY_PORT="0",
                   PLUGYARD_NATS_CREDS=str(bus.identities["gateway"].seed_file), PYTHONUNBUFFERED="1", **env)
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "plugyard_gateway"], env=environ, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    url_file = data_dir / GATEWAY_URL_FILE
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the gateway exited {process.returncode}:\n{log.read_text()}")
        if url_file.exists():
            gateway = Gateway(process, url_file.read_text().strip(), log, data_dir)
            try:
                if gateway.request("/healthz").status == 200:
                    return gateway
            except OSError:
                pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the gateway did not serve within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def gateway(bus, tmp_path_factory) -> Gateway:
    running = start_gateway(bus, tmp_path_factory.mktemp("gateway"))
    yield running
    running.stop()
