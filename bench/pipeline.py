"""End-to-end events/s (record in a service → outbox relay → JetStream → ledger warehouse) beside raw nats-py
JetStream publishing (async, pipelined) on the same server, in the same run, as a ratio.

usage: .venv/bin/python bench/pipeline.py [--events N] [--sync always|default|both] [--auth|--no-auth] [--json]
Each mode gets a fresh embedded nats-server (free loopback port, temporary store) and a fresh ledger process.

With --auth (the default) the server runs as `plugyard up` runs it: nkey identities, subject permissions per
identity. Each part connects as it would in a stack: the ledger as `ledger`, the recording application and its
relay as the service `loadgen` (the load generator's service name, with the permissions of any service: it
publishes only `plugyard.evt.loadgen.>`), the bench's own watching as `admin`, which alone creates the streams.
The raw baseline publishes as `loadgen` too, on the same subjects.
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

from plugyard_core.bus_config import authorization_block
from plugyard_core.bus_identities import ADMIN, CREDS_ENV, ensure_identities
from plugyard_core.bus_permissions import bus_identities
from plugyard_core.connection import connect
from plugyard_core.embedded_nats import EmbeddedNats, free_port
from plugyard_core.loadgen import SERVICE as PRODUCER
from plugyard_core.loadgen import LoadGenerator
from plugyard_core.message_ids import message_ids_for
from plugyard_core.outbox import OutboxRelay
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import EVENTS_STREAM, ensure_streams, event_subject, rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest

AGGREGATES = 1_000
PER_SAVE = 1_000
RAW_STREAM = "BENCH_RAW"


def sample_payload(n: int) -> bytes:
    """A CloudEvent about the size of the relay's (≈ 450 bytes)."""
    return json.dumps({
        "specversion": "1.0", "id": f"{uuid.uuid4()}:{n}", "source": "plugyard/loadgen",
        "type": "dev.plugyard.loadgen.Moved", "time": "2026-11-25T12:00:00.000000+00:00", "subject": str(uuid.uuid4()),
        "datacontenttype": "application/json", "data": {"location": "Rotterdam", "leg": n},
        "aggregateid": str(uuid.uuid4()), "aggregateversion": n,
    }).encode()


async def raw_publish_rate(url: str, data_dir: Path, events: int) -> float:
    """nats-py's own pipelined JetStream publishing, as the producer, on the producer's subjects: publish_async,
    then wait for every ack. Its stream (the admin's) exists only while it runs: PLUGYARD_EVENTS, made later,
    holds every `plugyard.evt.>` subject."""
    admin = await connect("bench-raw-admin", url, identity=ADMIN, data_directory=data_dir)
    nc = await connect("bench-raw", url, identity=PRODUCER, data_directory=data_dir)
    try:
        await admin.jetstream().add_stream(StreamConfig(
            name=RAW_STREAM, subjects=[event_subject(PRODUCER, ">")], storage=StorageType.FILE, duplicate_window=300,
        ))
        js = nc.jetstream(publish_async_max_pending=4000)
        subject = event_subject(PRODUCER, "Moved")
        payloads = [sample_payload(n) for n in range(events)]
        started = time.perf_counter()
        for n, payload in enumerate(payloads):
            await js.publish_async(subject, payload, headers={"Nats-Msg-Id": f"raw-{n}"})
        await js.publish_async_completed()
        elapsed = time.perf_counter() - started
        await admin.jetstream().delete_stream(RAW_STREAM)
    finally:
        await nc.close()
        await admin.close()
    return events / elapsed


async def ledger_count(nc) -> int:
    try:
        reply = await call(nc, rpc_subject("ledger", "health"), HealthRequest(), HealthReply, timeout=2)
    except RpcError:
        return -1
    return int(reply.details.get("events", 0))


async def acknowledged(js) -> int:
    """How far every durable on the events stream (here only the ledger's) has acknowledged: the ledger acks a
    batch once its warehouse has committed it. Asked of the server, so watching costs the ledger nothing; its
    health RPC counts the warehouse's rows (~3 ms of the ledger's CPU a call: a tenth of a core at 20 ms)."""
    consumers = await js.consumers_info(EVENTS_STREAM)
    return min((c.ack_floor.stream_seq if c.ack_floor else 0 for c in consumers), default=0)


async def end_to_end_rate(url: str, data_dir: Path, events: int) -> float:
    # The operator's connection: creates the streams as `plugyard up` does (only the admin may), then watches.
    admin = await connect("bench-admin", url, identity=ADMIN, data_directory=data_dir)
    await ensure_streams(admin.jetstream())
    env = {**os.environ, "PLUGYARD_NATS_URL": url, "PLUGYARD_DATA_DIR": str(data_dir)}
    ledger = subprocess.Popen([sys.executable, "-m", "plugyard_ledger"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nc = await connect("bench-e2e", url, identity=PRODUCER, data_directory=data_dir)
    app = LoadGenerator(data_dir=data_dir)
    try:
        while await ledger_count(admin) < 0:
            await asyncio.sleep(0.1)
        relay = OutboxRelay(app, nc.jetstream(), service=app.service, msg_ids=message_ids_for(app.service, data_dir))
        stop = asyncio.Event()
        started = time.perf_counter()
        relaying = asyncio.create_task(relay.run(stop))
        recording = asyncio.create_task(asyncio.to_thread(app.record, events, AGGREGATES, PER_SAVE))
        while await acknowledged(admin.jetstream()) < events:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        await recording
        stop.set()
        await relaying
        stored = await ledger_count(admin)
        if stored != events:
            raise RuntimeError(f"the ledger acknowledged {events} events but its warehouse holds {stored}")
        return events / elapsed
    finally:
        app.close()
        await nc.close()
        await admin.close()
        ledger.terminate()
        ledger.wait(30)


async def measure(sync_always: bool, events: int, auth: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="plugyard-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        # Without --auth no seed is written, so every connection goes without credentials.
        identities = ensure_identities((*bus_identities(), PRODUCER), data_dir) if auth else {}
        blocks = (authorization_block(identities, extra_services=(PRODUCER,)),) if auth else ()
        server = EmbeddedNats(Path(tmp) / "nats", free_port(), sync_always=sync_always, extra_blocks=blocks)
        server.start()
        try:
            raw = await raw_publish_rate(server.url, data_dir, events)
            e2e = await end_to_end_rate(server.url, data_dir, events)
        finally:
            server.stop()
    return {"sync": "always" if sync_always else "default", "auth": auth, "events": events,
            "raw_publish_per_s": round(raw), "end_to_end_per_s": round(e2e), "ratio": round(e2e / raw, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--sync", choices=["always", "default", "both"], default="both")
    parser.add_argument("--auth", action=argparse.BooleanOptionalAction, default=True,
                        help="run NATS with the stack's identities and permissions (default: on)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # Each part must connect with its own seed in the bench's data directory, not one named by the caller's environment.
    os.environ.pop(CREDS_ENV, None)
    modes = {"always": [True], "default": [False], "both": [True, False]}[args.sync]
    results = [asyncio.run(measure(mode, args.events, args.auth)) for mode in modes]
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    if args.json:
        print(json.dumps({"machine": machine, "results": results}))
        return
    auth = "on (nkey identities, subject permissions)" if args.auth else "off"
    print(f"pipeline benchmark: {args.events} events, {machine['cores']} cores, Python {machine['python']}, authentication {auth}")
    print(f"{'sync_interval':<14}{'raw nats-py publish/s':>24}{'end-to-end events/s':>22}{'ratio':>8}")
    for r in results:
        print(f"{r['sync']:<14}{r['raw_publish_per_s']:>24,}{r['end_to_end_per_s']:>22,}{r['ratio']:>8.1%}")


if __name__ == "__main__":
    main()
