"""The delivery guarantees under fire: 20,000 events through the outbox while the relay, the ledger or nats-server
are killed with SIGKILL at random moments; the ledger ends with every event exactly once, in per-aggregate order."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugyard_core.connection import connect
from plugyard_core.embedded_nats import EmbeddedNats, free_port
from plugyard_core.loadgen import LoadGenerator, Shipment
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.ledger import SqlReply, SqlRequest, VerifyReply, VerifyRequest

EVENTS = 20_000
SHIPMENTS = 50
PER_SAVE = 25
SOURCE = "plugyard/loadgen"
OUT_OF_ORDER = f"""
SELECT count(*) FROM (
  SELECT CAST(extensions->>'aggregateversion' AS BIGINT) AS version,
         row_number() OVER (PARTITION BY extensions->>'aggregateid' ORDER BY row_no) AS position
  FROM events WHERE source = '{SOURCE}'
) WHERE version != position
"""


class Process:
    """A child we can SIGKILL and start again, its output appended to one log."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.popen: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def produce(data_dir: Path, pause_s: float) -> int:
    """Record EVENTS events across SHIPMENTS aggregates, PER_SAVE per transaction, with pauses so kills land mid-way."""
    app = LoadGenerator(data_dir=data_dir)
    try:
        shipments = [Shipment(reference=f"S{i}", origin="Rotterdam") for i in range(SHIPMENTS)]
        recorded, pending = 0, []
        for shipment in shipments:
            pending.append(shipment)
        recorded = SHIPMENTS
        while recorded < EVENTS:
            batch = []
            for _ in range(min(PER_SAVE, EVENTS - recorded)):
                shipment = shipments[recorded % SHIPMENTS]
                shipment.move(location="Hamburg", leg=shipment.legs + 1)
                recorded += 1
                batch.append(shipment)
            app.save(*pending, *batch)
            pending = []
            time.sleep(pause_s)
        return recorded
    finally:
        app.close()


async def ledger_count(nc) -> int | None:
    try:
        reply = await call(nc, rpc_subject("ledger", "sql"), SqlRequest(sql=f"SELECT count(*) FROM events WHERE source = '{SOURCE}'"), SqlReply, timeout=5)
    except RpcError:
        return None
    return reply.rows[0][0]


async def wait_for_all(nc, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    count = None
    while time.monotonic() < deadline:
        count = await ledger_count(nc)
        if count == EVENTS:
            return count
        await asyncio.sleep(0.5)
    return count


@pytest.fixture
def seeded() -> random.Random:
    seed = int(os.environ.get("PLUGYARD_CRASH_SEED", time.time_ns() % 1_000_000))
    print(f"crash test seed {seed} (set PLUGYARD_CRASH_SEED to replay)")
    return random.Random(seed)


def children(nats_url: str, data_dir: Path, log: Path) -> tuple[Process, Process]:
    env = {**os.environ, "PLUGYARD_NATS_URL": nats_url, "PLUGYARD_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    ledger = Process("ledger", [sys.executable, "-m", "plugyard_ledger"], env, log)
    relay = Process(
        "relay",
        [sys.executable, "-m", "plugyard_core.outbox", "--app", "plugyard_core.loadgen:LoadGenerator", "--service", "loadgen",
         "--data-dir", str(data_dir), "--nats-url", nats_url],
        env,
        log,
    )
    return ledger, relay


async def check_ledger(nats_url: str, log: Path) -> None:
    nc = await connect("crash-check", nats_url)
    try:
        count = await wait_for_all(nc, timeout=180)
        assert count == EVENTS, f"ledger holds {count} of {EVENTS} events; log:\n{log.read_text()[-3000:]}"
        distinct = await call(nc, rpc_subject("ledger", "sql"), SqlRequest(sql=f"SELECT count(DISTINCT id) FROM events WHERE source = '{SOURCE}'"), SqlReply)
        assert distinct.rows == [[EVENTS]]
        disorder = await call(nc, rpc_subject("ledger", "sql"), SqlRequest(sql=OUT_OF_ORDER), SqlReply)
        assert disorder.rows == [[0]], "events of one aggregate are out of version order in the ledger"
        verified = await call(nc, rpc_subject("ledger", "verify"), VerifyRequest(), VerifyReply, timeout=60)
        assert verified.ok, verified
    finally:
        await nc.close()


async def test_relay_and_ledger_killed_at_random(nats_server, tmp_path, seeded):
    data_dir, log = tmp_path / "data", tmp_path / "children.log"
    ledger, relay = children(nats_server.url, data_dir, log)
    ledger.start()
    relay.start()
    try:
        producing = asyncio.create_task(asyncio.to_thread(produce, data_dir, 0.004))
        while not producing.done() or ledger.kills + relay.kills < 8:
            await asyncio.sleep(seeded.uniform(0.3, 1.2))
            victim = seeded.choice([ledger, relay])
            victim.kill()
            await asyncio.sleep(seeded.uniform(0.0, 0.3))
            victim.start()
        assert await producing == EVENTS
        assert ledger.kills >= 3 and relay.kills >= 3 or ledger.kills + relay.kills >= 8
        await check_ledger(nats_server.url, log)
    finally:
        relay.stop()
        ledger.stop()


@pytest.fixture
def synced_nats_server(tmp_path):
    """As `plugyard up` runs it: every write fsynced, so a SIGKILL loses nothing the server acknowledged."""
    server = EmbeddedNats(data_dir=tmp_path / "synced-nats", port=free_port(), sync_always=True, log_file=tmp_path / "nats.log")
    server.start()
    yield server
    server.stop()


async def test_nats_server_killed_at_random(synced_nats_server, tmp_path, seeded):
    nats_server = synced_nats_server
    data_dir, log = tmp_path / "data", tmp_path / "children.log"
    ledger, relay = children(nats_server.url, data_dir, log)
    ledger.start()
    relay.start()
    restarts = 0
    try:
        producing = asyncio.create_task(asyncio.to_thread(produce, data_dir, 0.004))
        while not producing.done() or restarts < 3:
            await asyncio.sleep(seeded.uniform(0.5, 1.5))
            nats_server.kill()
            await asyncio.sleep(seeded.uniform(0.1, 0.5))
            await asyncio.to_thread(nats_server.start)
            restarts += 1
        assert await producing == EVENTS
        await check_ledger(nats_server.url, log)
    finally:
        relay.stop()
        ledger.stop()
