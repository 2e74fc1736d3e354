"""Why a read-only query gave no result."""

from __future__ import annotations


class QueryRefused(ValueError):
    """A query that is not read-only."""


class QueryFailed(ValueError):
    """A query DuckDB could not run (syntax, unknown column, file access, time or memory limit...)."""


class QueryOverLimit(QueryFailed):
    """A query stopped at its time or memory limit."""


class QueryBusy(QueryFailed):
    """Every query slot stayed taken for as long as a query may run."""


QueryError = QueryRefused | QueryFailed


def rpc_error_code(error: QueryError) -> str:
    """The RPC error code a service answers with: refused (not read-only, or over a limit), unavailable (busy: try
    again), invalid_request (DuckDB could not run it)."""
    if isinstance(error, (QueryRefused, QueryOverLimit)):
        return "refused"
    if isinstance(error, QueryBusy):
        return "unavailable"
    return "invalid_request"
