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
