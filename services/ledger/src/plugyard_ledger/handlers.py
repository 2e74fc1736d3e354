"""The ledger's RPCs: audit SQL and chain verification. Thin: decode, call the warehouse, encode."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsRouter

from plugyard_core.rpc import RpcError
from plugyard_core.streams import rpc_subject
from plugyard_ledger.warehouse import QueryFailed, QueryRefused, Warehouse
from plugyard_schemas.ledger import SqlReply, SqlRequest, VerifyReply, VerifyRequest

SERVICE = "ledger"


def build_router(warehouse: Warehouse | None) -> NatsRouter:
    """`warehouse` may be None when the router is built only to document the bus (AsyncAPI)."""
    router = NatsRouter()

    @router.subscriber(rpc_subject(SERVICE, "sql"), title="ledger.sql")
    async def sql(request: SqlRequest) -> SqlReply:
        """Run read-only SQL over the audit warehouse."""
        try:
            result = await asyncio.to_thread(warehouse.query, request.sql, max_rows=request.max_rows + 1)
        except QueryRefused as exc:
            raise RpcError("refused", str(exc)) from None
        except QueryFailed as exc:
            raise RpcError("invalid_request", str(exc)) from None
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
