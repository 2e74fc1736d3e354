"""Read-only SQL over a DuckDB database, within limits.

    limits = SqlLimits.from_env()
    db = connect(path, limits=limits)
    sql = ReadOnlySql(db, limits, label="telemetry sql", what="the telemetry service")
    result = sql.query("SELECT ...")  # QueryResult; raises QueryRefused, QueryFailed (QueryOverLimit, QueryBusy)
"""

from plugyard_readonly_sql.connection import SAFE_CONNECTION_CONFIG, connect
from plugyard_readonly_sql.cursors import rollback_quietly
from plugyard_readonly_sql.errors import QueryBusy, QueryError, QueryFailed, QueryOverLimit, QueryRefused, rpc_error_code
from plugyard_readonly_sql.limits import SqlConfigError, SqlLimits
from plugyard_readonly_sql.results import QueryResult, json_ready
from plugyard_readonly_sql.runner import QUERIES_AT_ONCE, ReadOnlySql

__all__ = [
    "QUERIES_AT_ONCE",
    "SAFE_CONNECTION_CONFIG",
    "QueryBusy",
    "QueryError",
    "QueryFailed",
    "QueryOverLimit",
    "QueryRefused",
    "QueryResult",
    "ReadOnlySql",
    "SqlConfigError",
    "SqlLimits",
    "connect",
    "json_ready",
    "rollback_quietly",
    "rpc_error_code",
]
