"""A DuckDB database opened so that no query can reach outside it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from plugyard_readonly_sql.limits import SqlLimits

SAFE_CONNECTION_CONFIG: dict[str, Any] = {
    # Neither a query nor anything else can make DuckDB read or write host files, or fetch and load extensions.
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    # Without this, a query naming a Python variable (a pyarrow table, a DataFrame) would scan it.
    "python_enable_replacements": False,
    # No SET can undo any of the above.
    "lock_configuration": True,
}


def connect(
    path: str | Path, *, limits: SqlLimits, extra_config: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """The DuckDB database at `path`, opened with SAFE_CONNECTION_CONFIG and `limits.threads` worker threads.

    `extra_config` adds settings of the caller's own (say a checkpoint threshold); it may not change one of
    SAFE_CONNECTION_CONFIG's nor `threads` (ValueError)."""
    extra = dict(extra_config or {})
    clashing = sorted(set(extra) & {*SAFE_CONNECTION_CONFIG, "threads"})
    if clashing:
        raise ValueError(f"extra_config may not set {', '.join(clashing)}: connect sets it")
    config = {**SAFE_CONNECTION_CONFIG, **extra, "threads": limits.threads}
    return duckdb.connect(str(path), config=config)


def unsafe_settings(db: duckdb.DuckDBPyConnection) -> list[str]:
    """The settings of SAFE_CONNECTION_CONFIG that `db` does not have as that config sets them."""
    cursor = db.cursor()
    try:
        return [
            name for name, wanted in SAFE_CONNECTION_CONFIG.items()
            if cursor.execute("SELECT current_setting(?)", [name]).fetchall()[0][0] != wanted
        ]
    finally:
        cursor.close()
