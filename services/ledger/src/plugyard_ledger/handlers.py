"""The ledger's RPCs: audit SQL and chain verification. Thin: decode, call the warehouse, encode."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import Executor, ThreadPoolExecutor

from faststream.nats import NatsRouter

from plugyard_core.rpc import RpcError
from plugyard_core.streams import EVENTS_SUBJECTS, rpc_subject
from plugyard_core.subscriptions import ANY_PRODUCER, Subscription
from plugyard_ledger.decoding import decode
from plugyard_ledger.tracker import WarehouseTracker
from plugyard_ledger.warehouse import CONSUMER, Warehouse
from plugyard_readonly_sql import QueryFailed, QueryRefused, rpc_error_code
from plugyard_schemas.ledger import SqlReply, SqlRequest, VerifyReply, VerifyRequest

SERVICE = "ledger"
# sql requests answered at once, so that a quick query is not queued behind a slow one. The warehouse runs
# AUDIT_QUERIES_AT_ONCE of them; the rest wait there for a slot (at most the query time limit), not in NATS.
SQL_WORKERS = 8


def audit_executor() -> ThreadPoolExecutor:
    """Threads of their own for audit SQL: asyncio's default pool also runs the consumer's appends, which slow
    queries must not hold up."""
    return ThreadPoolExecutor(max_workers=SQL_WORKERS, thread_name_prefix="audit-sql")


def subscriptions(warehouse: Warehouse | None = None) -> list[Subscription]:
    """Every event on the bus, whoever produced it, kept once in the warehouse with the position in one transaction."""
    return [
        Subscription(
            subject=EVENTS_SUBJECTS, durable=CONSUMER, producer=ANY_PRODUCER, model=None, handler=decode,
            tracker=lambda _sub: WarehouseTracker(warehouse),
            description="Every CloudEvent on the bus; a message that is not one is kept as a MessageRejected row.",
        ),
    ]


def build_router(warehouse: Warehouse | None, executor: Executor | None = None) -> NatsRouter:
    """`warehouse` may be None when the router is built only to document the bus (AsyncAPI)."""
    router = NatsRouter()
    audit_threads = executor or audit_executor()

    @router.subscriber(rpc_subject(SERVICE, "sql"), title="ledger.sql", max_workers=SQL_WORKERS)
    async def sql(request: SqlRequest) -> SqlReply:
        """Run read-only SQL over the audit warehouse."""
        query = functools.partial(warehouse.query, request.sql, max_rows=request.max_rows + 1)
        try:
            result = await asyncio.get_running_loop().run_in_executor(audit_threads, query)
        except (QueryRefused, QueryFailed) as exc:
            raise RpcError(rpc_error_code(exc), str(exc)) from None
        truncated = len(result.rows) > request.max_rows
        return SqlReply(columns=result.columns, rows=result.rows[: request.max_rows], truncated=truncated)

    @router.subscriber(rpc_subject(SERVICE, "verify"), title="ledger.verify")
    async def verify(request: VerifyRequest) -> VerifyReply:
        """Recompute the warehouse's SHA-256 hash chain; name the first broken row."""
        result = await asyncio.to_thread(warehouse.verify)
        return VerifyReply(
            ok=result.ok,
            rows_checked=result.rows_checked,
            first_broken_row=result.first_broken_row,
            broken_id=result.broken_id,
            broken_source=result.broken_source,
            reason=result.reason,
        )

    return router
