"""`plugyard up`: an embedded nats-server and every service as a child process, restarted with backoff when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from plugyard_core.bus_identities import ADMIN, CREDS_ENV, CredentialsError, seed_path
from plugyard_core.connection import BusAccess, NatsUnreachable, bus_access, connect
from plugyard_core.embedded_nats import EmbeddedNats, port_is_free
from plugyard_core.services import GATEWAY, GATEWAY_URL_FILE, service_module
from plugyard_core.settings import METRICS_URL_FILE, NATS_URL_FILE
from plugyard_core.streams import ensure_streams_until_stopped
from plugyard_cli.chain_node import CHAIN_URL_FILE
from plugyard_cli.health import service_state

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0  # a child that ran this long starts its backoff afresh
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
CHAIN_READY_S = 15.0


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START_S
    next_start: float = 0.0

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started_at = time.monotonic()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()


@dataclass
class Supervisor:
    data_dir: Path
    nats_url: str
    services: tuple[str, ...]
    embedded: EmbeddedNats | None = None
    say: callable = print
    children: list[Child] = field(default_factory=list)
    chain_argv: list[str] | None = None  # the local development chain to run (anvil), when the stack runs one
    chain_port: int = 0
    gateway_port: int | None = None  # the HTTP gateway's port, when the stack runs one (plugyard_gateway)
    services_file: Path | None = None  # where `plugyard status` learns what runs: the gateway is added once it starts

    def admin_access(self) -> BusAccess:
        """The stack's own admin seed, whatever credentials the shell that ran `plugyard up` names."""
        return bus_access(ADMIN, self.nats_url, self.data_dir, from_env=False)

    def child_env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PLUGYARD_NATS_URL"] = self.nats_url
        env["PLUGYARD_DATA_DIR"] = str(self.data_dir.resolve())
        # Each service speaks only as itself, whatever credentials the shell that ran `plugyard up` names.
        env[CREDS_ENV] = str(seed_path(name, self.data_dir).resolve())
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def start_chain(self) -> bool:
        """Start the local chain and wait for its port; write its URL where the marketplace reads it."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        child = Child("chain", self.chain_argv, dict(os.environ), logs / "chain.log")
        child.start()
        self.children.append(child)
        deadline = time.monotonic() + CHAIN_READY_S
        while time.monotonic() < deadline and child.exited() is None:
            if not port_is_free(self.chain_port):
                url = f"http://127.0.0.1:{self.chain_port}"
                (self.data_dir / CHAIN_URL_FILE).write_text(url + "\n")
                self.say(f"anvil (local development chain 31337) on {url}, state in {self.data_dir / 'chain'}")
                return True
            time.sleep(0.1)
        self.say(f"error: the local chain did not start (see {child.log_path}); the marketplace will not run")
        return False

    def start_children(self) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in self.services:
            child = Child(name, [sys.executable, "-m", service_module(name)], self.child_env(name), logs / f"{name}.log")
            child.start()
            self.children.append(child)
        if self.gateway_port is not None:
            env = {**self.child_env(GATEWAY), "PLUGYARD_GATEWAY_PORT": str(self.gateway_port)}
            child = Child(GATEWAY, [sys.executable, "-m", service_module(GATEWAY)], env, logs / f"{GATEWAY}.log")
            child.start()
            self.children.append(child)
            if self.services_file is not None:
                with open(self.services_file, "a") as listed:
                    listed.write(GATEWAY + "\n")

    async def gateway_admitted(self) -> bool:
        """Whether NATS lets the gateway's identity in (a NATS configured elsewhere may not know it): when it does not,
        the stack runs without its HTTP gateway and says why, rather than restarting a gateway that can never connect."""
        try:
            access = bus_access(GATEWAY, self.nats_url, self.data_dir, from_env=False)
            probe = await connect("plugyard-up-gateway-check", self.nats_url, reconnect=False, access=access)
        except (NatsUnreachable, CredentialsError) as exc:
            self.say(f"the HTTP gateway will not run: {exc}")
            return False
        await probe.close()
        return True

    async def wait_ready(self, stop: asyncio.Event) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = set(self.services) | ({GATEWAY} if self.gateway_port is not None else set())
        nc = await connect("plugyard-up", self.nats_url, access=self.admin_access())
        try:
            while pending and not stop.is_set() and time.monotonic() < deadline:
                for name in sorted(pending):
                    if (await service_state(nc, name)).healthy:
                        self.say(f"  {name}: ready")
                        pending.discard(name)
                self.restart_dead()
                if pending:
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()
        return not pending

    def restart_dead(self) -> None:
        now = time.monotonic()
        if self.embedded and self.embedded.process and self.embedded.process.poll() is not None:
            self.say(f"nats-server exited ({self.embedded.process.returncode}); restarting it")
            self.embedded.start()
        for child in self.children:
            code = child.exited()
            if code is None:
                if now - child.started_at > STABLE_AFTER_S:
                    child.backoff = BACKOFF_START_S
                continue
            if child.next_start == 0.0:
                child.next_start = now + child.backoff
                self.say(f"{child.name} exited with code {code}; restarting in {child.backoff:.1f} s (log: {child.log_path})")
                child.backoff = min(child.backoff * 2, BACKOFF_MAX_S)
            elif now >= child.next_start:
                child.next_start = 0.0
                child.restarts += 1
                child.start()

    def stop_all(self) -> None:
        for child in self.children:
            if child.exited() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        if self.embedded:
            self.embedded.stop()
        (self.data_dir / NATS_URL_FILE).unlink(missing_ok=True)
        if self.chain_argv:
            (self.data_dir / CHAIN_URL_FILE).unlink(missing_ok=True)
        (self.data_dir / METRICS_URL_FILE).unlink(missing_ok=True)
        (self.data_dir / GATEWAY_URL_FILE).unlink(missing_ok=True)

    async def run(self) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            if self.embedded:
                self.embedded.start()
                self.say(f"nats-server (JetStream, sync always) on {self.nats_url}, store in {self.embedded.data_dir}")
            (self.data_dir / NATS_URL_FILE).write_text(self.nats_url + "\n")
            try:
                admin = await connect("plugyard-up", self.nats_url, reconnect=False, access=self.admin_access())
            except (NatsUnreachable, CredentialsError) as exc:
                self.say(f"error: {exc}")
                return 69
            try:  # only the admin identity may create or change streams
                if not await ensure_streams_until_stopped(admin, stop):
                    return 0
            finally:
                await admin.close()
            (self.data_dir / METRICS_URL_FILE).unlink(missing_ok=True)  # the telemetry service writes its own
            (self.data_dir / GATEWAY_URL_FILE).unlink(missing_ok=True)  # and the gateway its own
            if self.chain_argv and not self.start_chain():
                self.services = tuple(s for s in self.services if s != "marketplace")
            if self.gateway_port is not None and not await self.gateway_admitted():
                self.gateway_port = None
            self.start_children()
            if await self.wait_ready(stop):
                self.say(f"plugyard is up: {len(self.services)} service(s) ready; NATS at {self.nats_url}; Ctrl-C stops")
                metrics = self.data_dir / METRICS_URL_FILE
                if metrics.exists():
                    self.say(f"Prometheus metrics at {metrics.read_text().strip()} (also in {metrics})")
                gateway = self.data_dir / GATEWAY_URL_FILE
                if self.gateway_port is not None and gateway.exists():
                    self.say(f"IPFS trustless gateway at {gateway.read_text().strip()}/ipfs/<cid> (also in {gateway})")
            elif not stop.is_set():
                self.say("warning: not every service became ready; see the logs in " + str(self.data_dir / "logs"))
            while not stop.is_set():
                self.restart_dead()
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
            self.say("stopping…")
            return 0
        finally:
            self.stop_all()
            self.say("stopped")
