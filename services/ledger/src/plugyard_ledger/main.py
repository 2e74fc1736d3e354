"""The ledger's composition root: warehouse + tracked consumer on every event + RPCs."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from nats.aio.client import Client

from plugyard_core import settings
from plugyard_core.consumer import TrackedConsumer
from plugyard_core.service import Service, configure_logging
from plugyard_core.streams import EVENTS_STREAM, EVENTS_SUBJECTS
from plugyard_ledger.handlers import SERVICE, audit_executor, build_router
from plugyard_ledger.tracker import WarehouseTracker
from plugyard_ledger.warehouse import AuditConfigError, AuditLimits, Warehouse

log = logging.getLogger("plugyard.ledger")

DURABLE = "ledger"
SEGMENT_CHECK_S = 1.0
EXIT_CONFIG = 78  # sysexits EX_CONFIG


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    """Raises AuditConfigError when a PLUGYARD_AUDIT_* variable does not hold a usable limit."""
    audit = AuditLimits.from_env()
    warehouse = Warehouse(settings.service_dir(SERVICE, data_dir), audit=audit)
    log.info("audit sql: %d MiB of memory and %g s per query, %d DuckDB threads", audit.memory_mb, audit.timeout_s, audit.threads)
    audit_threads = audit_executor()
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
        routers=[build_router(warehouse, audit_threads)],
        loops=[consume, export_segments],
        health=health,
        on_stop=[lambda: audit_threads.shutdown(wait=False, cancel_futures=True), warehouse.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    configure_logging()
    try:
        service = build_service(data_dir, nats_url)
    except AuditConfigError as exc:
        print(f"ledger: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_CONFIG)
    asyncio.run(service.run())
