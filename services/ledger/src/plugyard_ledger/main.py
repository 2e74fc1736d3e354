"""The ledger's composition root: warehouse + tracked consumer on every event + RPCs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from nats.aio.client import Client

from plugyard_core import settings
from plugyard_core.consumer import TrackedConsumer
from plugyard_core.service import Service, configure_logging
from plugyard_core.streams import EVENTS_STREAM, EVENTS_SUBJECTS
from plugyard_ledger.handlers import SERVICE, build_router
from plugyard_ledger.tracker import WarehouseTracker
from plugyard_ledger.warehouse import Warehouse

log = logging.getLogger("plugyard.ledger")

DURABLE = "ledger"
SEGMENT_CHECK_S = 1.0


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    warehouse = Warehouse(settings.service_dir(SERVICE, data_dir))
    consumer_ref: dict[str, TrackedConsumer] = {}

    async def consume(nc: Client, stop: asyncio.Event) -> None:
        consumer = TrackedConsumer(
            nc.jetstream(),
            stream=EVENTS_STREAM,
            durable=DURABLE,
            filter_subject=EVENTS_SUBJECTS,
            tracker=WarehouseTracker(warehouse),
        )
        consumer_ref["c"] = consumer
        await consumer.run(stop)

    async def export_segments(nc: Client, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(warehouse.export_segments)
            except Exception as exc:  # a failed export is retried; the warehouse itself is the record
                log.warning("segment export failed: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), SEGMENT_CHECK_S)
            except asyncio.TimeoutError:
                pass

    def health() -> dict:
        consumer = consumer_ref.get("c")
        return {
            "events": warehouse.count(),
            "last_stream_seq": warehouse.last_stream_seq(),
            "processed": consumer.processed if consumer else 0,
            "rejected": consumer.rejected if consumer else 0,
        }

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(warehouse)],
        loops=[consume, export_segments],
        health=health,
        on_stop=[warehouse.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    configure_logging()
    asyncio.run(build_service(data_dir, nats_url).run())
