"""The telemetry warehouse's tables.

Raw rows (`samples`, `action_samples`, `error_samples`, `slow_calls`) come in as Arrow batches, each batch in
one transaction with the consumer's position. The roll-up folds raw rows into per-minute, per-hour and per-day tables
by stream sequence (so a late sample is folded in wherever its time falls), and retention then drops raw rows
and minutes that are old and folded already. Hours and days are kept.
"""

from __future__ import annotations

import pyarrow as pa

from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT

BUCKET_COLUMNS = tuple(f"b{i:02d}" for i in range(LATENCY_BUCKET_COUNT))
_BUCKETS_DDL = ", ".join(f"{column} BIGINT NOT NULL" for column in BUCKET_COLUMNS)
_BUCKETS_SUM = ", ".join(f"sum({column})" for column in BUCKET_COLUMNS)
# For reads: DuckDB sums BIGINTs into HUGEINTs, which Python takes far longer to fetch than BIGINTs.
BUCKET_SUMS = ", ".join(f"CAST(sum({column}) AS BIGINT) AS {column}" for column in BUCKET_COLUMNS)
_BUCKETS_ADD = ", ".join(f"{column} = {{table}}.{column} + excluded.{column}" for column in BUCKET_COLUMNS)

TABLES = f"""
CREATE TABLE IF NOT EXISTS samples (
    stream_seq BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, host VARCHAR NOT NULL, name VARCHAR NOT NULL,
    version VARCHAR NOT NULL, pid INTEGER NOT NULL, cpu_percent DOUBLE NOT NULL, rss_bytes BIGINT NOT NULL,
    open_files INTEGER NOT NULL, threads INTEGER NOT NULL, calls BIGINT NOT NULL, errors BIGINT NOT NULL,
    net_bytes BIGINT NOT NULL, startup_ms DOUBLE, reset BOOLEAN NOT NULL, memory_limit_bytes BIGINT
);
CREATE TABLE IF NOT EXISTS action_samples (
    stream_seq BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, host VARCHAR NOT NULL, name VARCHAR NOT NULL,
    version VARCHAR NOT NULL, action VARCHAR NOT NULL, calls BIGINT NOT NULL, errors BIGINT NOT NULL,
    cpu_ms DOUBLE NOT NULL, {_BUCKETS_DDL}
);
CREATE TABLE IF NOT EXISTS error_samples (
    stream_seq BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, host VARCHAR NOT NULL, name VARCHAR NOT NULL,
    version VARCHAR NOT NULL, action VARCHAR NOT NULL, code VARCHAR NOT NULL, errors BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS slow_calls (
    stream_seq BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, host VARCHAR NOT NULL, name VARCHAR NOT NULL,
    version VARCHAR NOT NULL, action VARCHAR NOT NULL, elapsed_ms DOUBLE NOT NULL, budget_ms DOUBLE NOT NULL,
    stack VARCHAR[] NOT NULL
);
CREATE TABLE IF NOT EXISTS loader_events (
    stream_seq BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, type VARCHAR NOT NULL, host VARCHAR NOT NULL,
    name VARCHAR NOT NULL, version VARCHAR, data JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    consumer VARCHAR NOT NULL, stream_seq BIGINT NOT NULL, subject VARCHAR NOT NULL, reason VARCHAR NOT NULL,
    raw_excerpt VARCHAR NOT NULL, recorded_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (consumer VARCHAR PRIMARY KEY, stream_seq BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS workers (
    host VARCHAR NOT NULL, name VARCHAR NOT NULL, pid INTEGER NOT NULL, version VARCHAR NOT NULL,
    last_at TIMESTAMPTZ NOT NULL, counters JSON NOT NULL, PRIMARY KEY (host, name, pid)
);
"""

ROLLUP_LEVELS = ("minute", "hour", "day")
# Each level is rolled up twice: per host (and action), and per plugin version with hosts and actions summed,
# which `show` reads when it needs neither: a thirtieth of the rows at 10 hosts and 3 actions.
SCOPES = {
    "": {"actions": ("host", "name", "version", "action"), "workers": ("host", "name", "version"),
         "errors": ("host", "name", "version", "action", "code")},
    "plugin_": {"actions": ("name", "version"), "workers": ("name", "version"), "errors": ("name", "version", "code")},
}
KINDS = ("actions", "workers", "errors")


def rollup_table(level: str, scope: str, kind: str) -> str:
    return f"{level}_{scope}{kind}"


def rollup_tables(level: str) -> str:
    statements = []
    for scope, keys in SCOPES.items():
        columns = {key: f"{key} VARCHAR NOT NULL" for key in ("host", "name", "version", "action", "code")}
        values = {
            "actions": f"calls BIGINT NOT NULL, errors BIGINT NOT NULL, cpu_ms DOUBLE NOT NULL, {_BUCKETS_DDL}",
            "workers": "samples BIGINT NOT NULL, cpu_sum DOUBLE NOT NULL, rss_sum DOUBLE NOT NULL, rss_max BIGINT NOT NULL, "
            "net_bytes BIGINT NOT NULL, startups BIGINT NOT NULL, startup_ms_sum DOUBLE NOT NULL",
            "errors": "errors BIGINT NOT NULL",
        }
        for kind in KINDS:
            key_ddl = ", ".join(columns[key] for key in keys[kind] if key != "code")
            code_ddl = ", code VARCHAR NOT NULL" if "code" in keys[kind] else ""
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {rollup_table(level, scope, kind)} (t TIMESTAMPTZ NOT NULL, {key_ddl}{code_ddl}, "
                f"{values[kind]}, PRIMARY KEY (t, {', '.join(keys[kind])}));"
            )
    return "\n".join(statements)


def rollup_statements(level: str) -> list[str]:
    """Fold raw rows with stream_seq in ($low, $high] into `level`'s tables, adding to what is there."""
    t = f"date_trunc('{level}', ts)"
    window = "stream_seq > $low AND stream_seq <= $high"
    statements = []
    for scope, keys in SCOPES.items():
        actions, workers, errors = (rollup_table(level, scope, kind) for kind in KINDS)
        a_keys, w_keys, e_keys = (", ".join(keys[kind]) for kind in KINDS)
        statements += [
            f"""INSERT INTO {actions} SELECT {t}, {a_keys}, sum(calls), sum(errors), sum(cpu_ms), {_BUCKETS_SUM}
                FROM action_samples WHERE {window} GROUP BY ALL
                ON CONFLICT DO UPDATE SET calls = {actions}.calls + excluded.calls, errors = {actions}.errors + excluded.errors,
                cpu_ms = {actions}.cpu_ms + excluded.cpu_ms, {_BUCKETS_ADD.format(table=actions)}""",
            f"""INSERT INTO {workers} SELECT {t}, {w_keys}, count(*), sum(cpu_percent), sum(rss_bytes), max(rss_bytes),
                sum(net_bytes), count(startup_ms), coalesce(sum(startup_ms), 0) FROM samples WHERE {window} GROUP BY ALL
                ON CONFLICT DO UPDATE SET samples = {workers}.samples + excluded.samples, cpu_sum = {workers}.cpu_sum + excluded.cpu_sum,
                rss_sum = {workers}.rss_sum + excluded.rss_sum, rss_max = greatest({workers}.rss_max, excluded.rss_max),
                net_bytes = {workers}.net_bytes + excluded.net_bytes, startups = {workers}.startups + excluded.startups,
                startup_ms_sum = {workers}.startup_ms_sum + excluded.startup_ms_sum""",
            f"""INSERT INTO {errors} SELECT {t}, {e_keys}, sum(errors) FROM error_samples WHERE {window} GROUP BY ALL
                ON CONFLICT DO UPDATE SET errors = {errors}.errors + excluded.errors""",
        ]
    return statements


SAMPLES_ARROW = pa.schema([
    ("stream_seq", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")), ("host", pa.string()), ("name", pa.string()),
    ("version", pa.string()), ("pid", pa.int32()), ("cpu_percent", pa.float64()), ("rss_bytes", pa.int64()),
    ("open_files", pa.int32()), ("threads", pa.int32()), ("calls", pa.int64()), ("errors", pa.int64()),
    ("net_bytes", pa.int64()), ("startup_ms", pa.float64()), ("reset", pa.bool_()), ("memory_limit_bytes", pa.int64()),
])
ACTIONS_ARROW = pa.schema([
    ("stream_seq", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")), ("host", pa.string()), ("name", pa.string()),
    ("version", pa.string()), ("action", pa.string()), ("calls", pa.int64()), ("errors", pa.int64()), ("cpu_ms", pa.float64()),
    *[(column, pa.int64()) for column in BUCKET_COLUMNS],
])
ERRORS_ARROW = pa.schema([
    ("stream_seq", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")), ("host", pa.string()), ("name", pa.string()),
    ("version", pa.string()), ("action", pa.string()), ("code", pa.string()), ("errors", pa.int64()),
])
SLOW_CALLS_ARROW = pa.schema([
    ("stream_seq", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")), ("host", pa.string()), ("name", pa.string()),
    ("version", pa.string()), ("action", pa.string()), ("elapsed_ms", pa.float64()), ("budget_ms", pa.float64()),
    ("stack", pa.list_(pa.string())),
])
WORKERS_ARROW = pa.schema([
    ("host", pa.string()), ("name", pa.string()), ("pid", pa.int32()), ("version", pa.string()),
    ("last_at", pa.timestamp("us", tz="UTC")), ("counters", pa.string()),
])
