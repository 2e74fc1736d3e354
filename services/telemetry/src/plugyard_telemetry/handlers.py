"""The telemetry service's consumers and RPCs. Thin: decode, call the warehouse or the application, encode."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING

from faststream.nats import NatsRouter

from plugyard_core.rpc import RpcError
from plugyard_core.streams import TELEMETRY_STREAM, TELEMETRY_SUBJECTS, rpc_subject
from plugyard_core.subscriptions import Subscription
from plugyard_readonly_sql import QueryFailed, QueryRefused, rpc_error_code
from plugyard_schemas.ledger import SqlReply, SqlRequest
from plugyard_schemas.loader import TelemetrySample
from plugyard_schemas.telemetry import (
    AlertsReply, AlertsRequest, RecommendationsReply, RecommendationsRequest, ShowReply, ShowRequest, TopReply, TopRequest,
)
from plugyard_telemetry import views
from plugyard_telemetry.application import SERVICE
from plugyard_telemetry.trackers import (
    LOADER_EVENTS_CONSUMER, SAMPLES_CONSUMER, KnownPlugins, LoaderEventTracker, SampleTracker, loader_event_row,
)

if TYPE_CHECKING:
    from plugyard_telemetry.application import TelemetryApplication
    from plugyard_telemetry.warehouse import TelemetryWarehouse

LOADER_EVENTS_SUBJECT = "plugyard.evt.loader.>"
SQL_WORKERS = 8
READ_WORKERS = 4


def subscriptions(warehouse: TelemetryWarehouse | None = None, known: KnownPlugins | None = None) -> list[Subscription]:
    return [
        Subscription(
            subject=TELEMETRY_SUBJECTS, durable=SAMPLES_CONSUMER, producer="loader", model=TelemetrySample,
            handler=lambda delivered: None, stream=TELEMETRY_STREAM,
            tracker=lambda _sub: SampleTracker(warehouse, known),
            description="The loader's samples of every worker, kept raw, per minute and per hour; an implausible one is "
            "kept as a rejection, one of a version the loader never reported starting is retried, then rejected.",
        ),
        Subscription(
            subject=LOADER_EVENTS_SUBJECT, durable=LOADER_EVENTS_CONSUMER, producer="loader", model=None,
            handler=loader_event_row, tracker=lambda _sub: LoaderEventTracker(warehouse, known),
            description="Loads, reloads, crashes, failures and violations: version switches to compare, crash loops and "
            "violations to alert on.",
        ),
    ]


def read_executor() -> ThreadPoolExecutor:
    """Threads of their own for queries, so that a slow one never holds up the consumers' appends."""
    return ThreadPoolExecutor(max_workers=SQL_WORKERS, thread_name_prefix="telemetry-read")


def build_router(
    warehouse: TelemetryWarehouse | None,
    app: TelemetryApplication | None = None,
    recommend: Callable[[str | None], RecommendationsReply] | None = None,
    executor: Executor | None = None,
) -> NatsRouter:
    """`warehouse` may be None when the router is built only to document the bus (AsyncAPI)."""
    router = NatsRouter()
    threads = executor or read_executor()

    async def in_thread(function, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(threads, functools.partial(function, *args, **kwargs))

    @router.subscriber(rpc_subject(SERVICE, "top"), title="telemetry.top", max_workers=READ_WORKERS)
    async def top(request: TopRequest) -> TopReply:
        """Every running plugin across hosts: calls/s, error rate, p50/p99, cpu, rss, restarts."""
        return await in_thread(views.top, warehouse, request)

    @router.subscriber(rpc_subject(SERVICE, "show"), title="telemetry.show", max_workers=READ_WORKERS)
    async def show(request: ShowRequest) -> ShowReply:
        """One plugin's figures over a span, grouped by action, host or version, with trend series."""
        return await in_thread(views.show, warehouse, request)

    @router.subscriber(rpc_subject(SERVICE, "sql"), title="telemetry.sql", max_workers=SQL_WORKERS)
    async def sql(request: SqlRequest) -> SqlReply:
        """Read-only SQL over the telemetry warehouse, within the same limits as audit sql."""
        try:
            result = await in_thread(warehouse.query, request.sql, max_rows=request.max_rows)
        except (QueryRefused, QueryFailed) as exc:
            raise RpcError(rpc_error_code(exc), str(exc)) from None
        return SqlReply(columns=result.columns, rows=result.rows, truncated=result.truncated)

    @router.subscriber(rpc_subject(SERVICE, "alerts"), title="telemetry.alerts")
    async def alerts(request: AlertsRequest) -> AlertsReply:
        """Alerts, newest first; `open_only` for those not resolved."""
        views = sorted(app.alerts.values(), key=lambda a: a.raised_at, reverse=True)
        if request.open_only:
            views = [v for v in views if v.state == "open"]
        return AlertsReply(alerts=views[: request.limit])

    @router.subscriber(rpc_subject(SERVICE, "recommendations"), title="telemetry.recommendations", max_workers=READ_WORKERS)
    async def recommendations(request: RecommendationsRequest) -> RecommendationsReply:
        """Advice drawn from evidence only: each names its metric, figures, threshold and window."""
        return await in_thread(recommend, request.name)

    return router
