"""The ledger's composition root: warehouse + tracked consumer on every event + RPCs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from nats.aio.client import Client

from plugyard_core import settings
from plugyard_core.service import Service, run_main
from plugyard_ledger.handlers import SERVICE, audit_executor, build_router, subscriptions
from plugyard_ledger.warehouse import Warehouse
from plugyard_readonly_sql import SqlConfigError, SqlLimits

log = logging.getLogger("plugyard.ledger")

SEGMENT_CHECK_S = 1.0


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    """Raises SqlConfigError when a PLUGYARD_AUDIT_* variable does not hold a usable limit."""
    audit = SqlLimits.from_env()
    warehouse = Warehouse(settings.service_dir(SERVICE, data_dir), audit=audit)
    log.info("audit sql: %d MiB of memory and %g s per query, %d DuckDB threads", audit.memory_mb, audit.timeout_s, audit.threads)
    audit_threads = audit_executor()

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
        return {"events": warehouse.count(), "last_stream_seq": warehouse.last_stream_seq()}

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(warehouse, audit_threads)],
        subscriptions=subscriptions(warehouse),
        loops=[export_segments],
        health=health,
        on_stop=[lambda: audit_threads.shutdown(wait=False, cancel_futures=True), warehouse.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    run_main(SERVICE, lambda: build_service(data_dir, nats_url), (SqlConfigError,))
