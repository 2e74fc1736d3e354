"""A small real event-sourced application that records load: for the crash test and the relay benchmark."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from plugyard_core import settings
from plugyard_core.connection import NatsUnreachable, connect
from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.outbox import OutboxRelay, UsageParser
from plugyard_core.streams import ensure_streams

SERVICE = "loadgen"
CONNECT_WAIT_S = 10.0
PORTS = ("Rotterdam", "Hamburg", "Antwerp", "Felixstowe", "Valencia", "Piraeus", "Gdansk", "Genoa")


def check_load(n_events: int, n_aggregates: int, per_save: int) -> None:
    if n_events < 0 or n_aggregates < 1 or per_save < 1:
        raise ValueError("need events >= 0, aggregates >= 1 and per-save >= 1")


class Shipment(Aggregate):
    @event("Created")
    def __init__(self, reference: str, origin: str) -> None:
        self.reference = reference
        self.location = origin
        self.legs = 0

    @event("Moved")
    def move(self, location: str, leg: int) -> None:
        self.location = location
        self.legs = leg


class LoadGenerator(PlugyardApplication):
    service = SERVICE

    def record(self, n_events: int, n_aggregates: int, per_save: int) -> int:
        """Record `n_events` across `n_aggregates` shipments (round robin), `per_save` events per transaction."""
        check_load(n_events, n_aggregates, per_save)
        shipments: list[Shipment] = []
        unsaved: dict[UUID, Shipment] = {}
        unsaved_events = 0
        for i in range(n_events):
            if i < n_aggregates:
                shipment = Shipment(reference=f"S{i:09d}", origin=PORTS[i % len(PORTS)])
                shipments.append(shipment)
            else:
                shipment = shipments[i % n_aggregates]
                shipment.move(location=PORTS[i % len(PORTS)], leg=shipment.legs + 1)
            unsaved[shipment.id] = shipment
            unsaved_events += 1
            if unsaved_events >= per_save:
                self.save(*unsaved.values())
                unsaved.clear()
                unsaved_events = 0
        if unsaved:
            self.save(*unsaved.values())
        return n_events


async def record_and_relay(app: LoadGenerator, args: argparse.Namespace) -> dict[str, float | int]:
    """Record in a worker thread while an in-process relay publishes; return when everything is in the stream."""
    url = args.nats_url or settings.nats_url(args.data_dir)
    try:
        nc = await asyncio.wait_for(connect(f"plugyard-{app.service}-loadgen", url), CONNECT_WAIT_S)
    except (NatsUnreachable, asyncio.TimeoutError):
        print(f"error: cannot reach NATS at {url}", file=sys.stderr)
        raise SystemExit(69) from None
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        relay = OutboxRelay(app, js, service=app.service)
        stop = asyncio.Event()
        started = time.perf_counter()
        relaying = asyncio.create_task(relay.run(stop))
        try:
            await asyncio.to_thread(app.record, args.events, args.aggregates, args.per_save)
            recorded_s = time.perf_counter() - started
            target = app.recorder.max_notification_id() or 0
            while relay.position() < target:
                await asyncio.sleep(0.01)
            relayed_s = time.perf_counter() - started
        finally:
            stop.set()
            await relaying
        return {
            "record_s": round(recorded_s, 3),
            "published": relay.published,
            "relay_s": round(relayed_s, 3),
            "relay_rate": round(relay.published / relayed_s) if relayed_s else 0,
        }
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="python -m plugyard_core.loadgen", description="Record synthetic events.")
    parser.add_argument("--service", default=SERVICE)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--aggregates", type=int, default=100)
    parser.add_argument("--per-save", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--nats-url", default=None)
    parser.add_argument("--relay", action="store_true", help="also publish everything recorded, in-process")
    args = parser.parse_args(argv)
    try:
        check_load(args.events, args.aggregates, args.per_save)
        app = LoadGenerator(service=args.service, data_dir=args.data_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 64
    try:
        if args.relay:
            report: dict[str, float | int] = asyncio.run(record_and_relay(app, args))
        else:
            started = time.perf_counter()
            app.record(args.events, args.aggregates, args.per_save)
            report = {"record_s": round(time.perf_counter() - started, 3)}
    finally:
        app.close()
    record_s = float(report["record_s"])
    summary = {"service": args.service, "events": args.events, "record_rate": round(args.events / record_s) if record_s else 0}
    print(json.dumps({**summary, **report}), flush=True)
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so that event topics name plugyard_core.loadgen, not __main__.
    from plugyard_core.loadgen import main as imported_main

    sys.exit(imported_main())
