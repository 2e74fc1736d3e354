"""End-to-end events/s (record in a service → outbox relay → JetStream → ledger warehouse) beside raw nats-py
JetStream publishing (async, pipelined) on the same server, in the same run, as a ratio.

usage: .venv/bin/python bench/pipeline.py [--events N] [--sync always|default|both] [--json]
Each mode gets a fresh embedded nats-server (free loopback port, temporary store) and a fresh ledger process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from nats.js.api import StorageType, StreamConfig

from plugyard_core.connection import connect
from plugyard_core.embedded_nats import EmbeddedNats, free_port
from plugyard_core.loadgen import LoadGenerator
from plugyard_core.outbox import OutboxRelay
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import ensure_streams, rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest

AGGREGATES = 1_000
PER_SAVE = 1_000


def sample_payload(n: int) -> bytes:
    """A CloudEvent about the size of the relay's (≈ 450 bytes)."""
    return json.dumps({
        "specversion": "1.0", "id": f"{uuid.uuid4()}:{n}", "source": "plugyard/loadgen",
        "type": "dev.plugyard.loadgen.Moved", "time": "2026-11-25T12:00:00.000000+00:00", "subject": str(uuid.uuid4()),
        "datacontenttype": "application/json", "data": {"location": "Rotterdam", "leg": n},
        "aggregateid": str(uuid.uuid4()), "aggregateversion": n,
    }).encode()


async def raw_publish_rate(url: str, events: int) -> float:
    """nats-py's own pipelined JetStream publishing: publish_async, then wait for every ack."""
    nc = await connect("bench-raw", url)
    js = nc.jetstream(publish_async_max_pending=4000)
    await js.add_stream(StreamConfig(name="BENCH_RAW", subjects=["bench.raw.>"], storage=StorageType.FILE, duplicate_window=300))
    payloads = [sample_payload(n) for n in range(events)]
    started = time.perf_counter()
    for n, payload in enumerate(payloads):
        await js.publish_async("bench.raw.Moved", payload, headers={"Nats-Msg-Id": f"raw-{n}"})
    await js.publish_async_completed()
    elapsed = time.perf_counter() - started
    await js.delete_stream("BENCH_RAW")
    await nc.close()
    return events / elapsed


async def ledger_count(nc) -> int:
    try:
        reply = await call(nc, rpc_subject("ledger", "health"), HealthRequest(), HealthReply, timeout=2)
    except RpcError:
        return -1
    return int(reply.details.get("events", 0))


async def end_to_end_rate(url: str, data_dir: Path, events: int) -> float:
    env = {**os.environ, "PLUGYARD_NATS_URL": url, "PLUGYARD_DATA_DIR": str(data_dir)}
    ledger = subprocess.Popen([sys.executable, "-m", "plugyard_ledger"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nc = await connect("bench-e2e", url)
    app = LoadGenerator(data_dir=data_dir)
    try:
        while await ledger_count(nc) < 0:
            await asyncio.sleep(0.1)
        js = nc.jetstream()
        await ensure_streams(js)
        relay = OutboxRelay(app, js, service=app.service)
        stop = asyncio.Event()
        started = time.perf_counter()
        relaying = asyncio.create_task(relay.run(stop))
        recording = asyncio.create_task(asyncio.to_thread(app.record, events, AGGREGATES, PER_SAVE))
        while await ledger_count(nc) < events:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        await recording
        stop.set()
        await relaying
        return events / elapsed
    finally:
        app.close()
        await nc.close()
        ledger.terminate()
        ledger.wait(30)


async def measure(sync_always: bool, events: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="plugyard-bench-") as tmp:
        server = EmbeddedNats(Path(tmp) / "nats", free_port(), sync_always=sync_always)
        server.start()
        try:
            raw = await raw_publish_rate(server.url, events)
            e2e = await end_to_end_rate(server.url, Path(tmp) / "data", events)
        finally:
            server.stop()
    return {"sync": "always" if sync_always else "default", "events": events, "raw_publish_per_s": round(raw),
            "end_to_end_per_s": round(e2e), "ratio": round(e2e / raw, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--sync", choices=["always", "default", "both"], default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    modes = {"always": [True], "default": [False], "both": [True, False]}[args.sync]
    results = [asyncio.run(measure(mode, args.events)) for mode in modes]
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    if args.json:
        print(json.dumps({"machine": machine, "results": results}))
        return
    print(f"pipeline benchmark: {args.events} events, {machine['cores']} cores, Python {machine['python']}")
    print(f"{'sync_interval':<14}{'raw nats-py publish/s':>24}{'end-to-end events/s':>22}{'ratio':>8}")
    for r in results:
        print(f"{r['sync']:<14}{r['raw_publish_per_s']:>24,}{r['end_to_end_per_s']:>22,}{r['ratio']:>8.1%}")


if __name__ == "__main__":
    main()
