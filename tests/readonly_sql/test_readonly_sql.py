"""plugyard_readonly_sql on its own, over a temporary DuckDB file: only reading, nothing outside the database, and
each query within its limits of time, memory and concurrency."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import duckdb
import pytest

from plugyard_readonly_sql import (
    QUERIES_AT_ONCE,
    SAFE_CONNECTION_CONFIG,
    QueryBusy,
    QueryFailed,
    QueryOverLimit,
    QueryRefused,
    QueryResult,
    ReadOnlySql,
    SqlConfigError,
    SqlLimits,
    connect,
    json_ready,
)
from plugyard_readonly_sql.limits import (
    DEFAULT_MEMORY_MB,
    DEFAULT_THREADS,
    DEFAULT_TIMEOUT_S,
    MEMORY_ENV,
    THREADS_ENV,
    TIMEOUT_ENV,
)

# count(DISTINCT) over 30M values builds a hash table of ~500 MiB, far past a 32 MiB limit.
HUNGRY = "SELECT count(DISTINCT x) FROM range(30000000) t(x)"
# Counts to 10^12: CPU for minutes, no memory to speak of.
SLOW = "SELECT count(*) FROM range(1000000000000)"


def open_database(path: Path, limits: SqlLimits) -> duckdb.DuckDBPyConnection:
    """The file at `path` opened with `connect`, holding a table `samples` of 20 rows (the owner writes it)."""
    db = connect(path, limits=limits)
    db.execute("CREATE TABLE samples (n INTEGER, name VARCHAR, doc JSON, seen TIMESTAMPTZ)")
    db.execute(
        "INSERT INTO samples SELECT i, 'sample-' || i, json_object('n', i), TIMESTAMPTZ '2026-01-02 03:04:05+00' "
        "FROM range(1, 21) t(i)"
    )
    return db


@pytest.fixture
def database(tmp_path):
    db = open_database(tmp_path / "samples.duckdb", SqlLimits())
    yield db
    db.close()


@pytest.fixture
def sql(database):
    return ReadOnlySql(database, SqlLimits())


def count(db: duckdb.DuckDBPyConnection) -> int:
    return db.execute("SELECT count(*) FROM samples").fetchall()[0][0]


def test_select_answers_json_ready_rows_capped_at_max_rows(sql):
    result = sql.query("SELECT n, name, doc, seen, 1.50::DECIMAL(5,2) AS price, '\\x01'::BLOB AS raw FROM samples ORDER BY n", max_rows=5)
    assert isinstance(result, QueryResult)
    assert result.columns == ["n", "name", "doc", "seen", "price", "raw"]
    assert len(result.rows) == 5 and result.truncated
    assert result.rows[0] == [1, "sample-1", {"n": 1}, "2026-01-02T03:04:05+00:00", "1.50", "AQ=="]
    json.dumps(result.rows)
    everything = sql.query("SELECT 1 AS a; SELECT count(*) AS total FROM samples")
    assert (everything.columns, everything.rows, everything.truncated) == (["total"], [[20]], False)
    assert sql.query("EXPLAIN SELECT count(*) FROM samples").rows
    with pytest.raises(ValueError, match="max_rows"):
        sql.query("SELECT 1", max_rows=0)


@pytest.mark.parametrize(
    ("statement", "refused"),
    [
        ("INSERT INTO samples VALUES (99, 'x', '{}', now())", "INSERT"),
        ("UPDATE samples SET name = 'x'", "UPDATE"),
        ("DELETE FROM samples", "DELETE"),
        ("DROP TABLE samples", "DROP"),
        ("CREATE TABLE mine (x INTEGER)", "CREATE"),
        ("COPY samples TO '/tmp/stolen.csv'", "COPY"),
        ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("SET enable_external_access = true", "SET"),
        ("SELECT 1; DROP TABLE samples", "DROP"),
        ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN"),
        ("EXPLAIN ANALYZE DELETE FROM samples", "EXPLAIN"),
        ("EXPLAIN DELETE FROM samples", "EXPLAIN"),
        ("CALL checkpoint()", "CALL"),
        ("BEGIN; DELETE FROM samples; COMMIT", "TRANSACTION"),
    ],
)
def test_anything_but_select_is_refused_naming_the_statement_type(database, sql, statement, refused):
    with pytest.raises(QueryRefused) as refusal:
        sql.query(statement)
    assert str(refusal.value).startswith(f"audit sql is read-only: {refused}")
    assert count(database) == 20
    assert database.execute("SELECT count(*) FROM duckdb_tables()").fetchall() == [(1,)]


def test_the_refusals_name_the_service_s_own_command(database):
    telemetry = ReadOnlySql(database, SqlLimits(), label="telemetry sql", what="the telemetry service")
    with pytest.raises(QueryRefused, match=r"^telemetry sql is read-only: INSERT statements are refused$"):
        telemetry.query("INSERT INTO samples VALUES (99, 'x', '{}', now())")
    with pytest.raises(QueryRefused, match=r"^telemetry sql is read-only: EXPLAIN is allowed only of a SELECT, without ANALYZE$"):
        telemetry.query("EXPLAIN ANALYZE SELECT 1")
    with pytest.raises(QueryFailed, match="^telemetry sql cannot read or write files on the host"):
        telemetry.query("SELECT * FROM read_csv('/etc/passwd')")
    assert telemetry.busy_message == "the telemetry service is busy: 3 telemetry queries are running; try again shortly"


def test_sql_duckdb_cannot_run_fails_with_duckdbs_words(sql):
    with pytest.raises(QueryFailed, match="no_such_column"):
        sql.query("SELECT no_such_column FROM samples")
    with pytest.raises(QueryFailed, match="syntax error"):
        sql.query("SELEC 1")
    with pytest.raises(QueryFailed, match="no SQL statement given"):
        sql.query("  ;  ")


def test_host_files_cannot_be_read(sql, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    for statement in (
        f"SELECT * FROM read_csv('{secret}')",
        f"SELECT * FROM '{secret}'",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
    ):
        with pytest.raises(QueryFailed) as failure:
            sql.query(statement)
        assert "hunter2" not in str(failure.value)
        assert "cannot read or write files on the host" in str(failure.value) or "/etc/*" in str(failure.value), str(failure.value)


def test_a_python_variable_is_not_scanned(sql):
    pa = pytest.importorskip("pyarrow")
    hidden = pa.table({"secret": ["hunter2"]})  # noqa: F841 - what a replacement scan would find
    with pytest.raises(QueryFailed, match="hidden"):
        sql.query("SELECT * FROM hidden")


def test_a_query_over_the_time_limit_is_stopped_naming_the_variable(database):
    sql = ReadOnlySql(database, SqlLimits(timeout_s=0.3))
    started = time.monotonic()
    with pytest.raises(QueryOverLimit) as cancelled:
        sql.query(SLOW)
    assert 0.2 < time.monotonic() - started < 10
    assert str(cancelled.value) == f"query cancelled after 0.3 s ({TIMEOUT_ENV})"
    assert TIMEOUT_ENV == "PLUGYARD_AUDIT_TIMEOUT_S"
    assert sql.query("SELECT count(*) FROM samples").rows == [[20]]


def test_a_query_over_the_memory_limit_is_stopped_naming_the_variable(database):
    sql = ReadOnlySql(database, SqlLimits(memory_mb=32))
    with pytest.raises(QueryOverLimit) as stopped:
        sql.query(HUNGRY)
    assert str(stopped.value) == f"query exceeded the 32 MiB memory limit ({MEMORY_ENV})"
    assert sql.query("SELECT count(DISTINCT x) FROM range(10000) t(x)").rows == [[10000]]


def test_a_quick_query_answers_beside_a_slow_one(database):
    sql = ReadOnlySql(database, SqlLimits(timeout_s=8))
    outcome: list = []

    def slow() -> None:
        try:
            sql.query(SLOW)
        except QueryOverLimit as exc:
            outcome.append(exc)

    thread = threading.Thread(target=slow, daemon=True)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert sql.query("SELECT count(*) FROM samples").rows == [[20]]
    assert time.monotonic() - started < 5
    assert thread.is_alive(), "the slow query should still be running"
    thread.join(30)
    assert "cancelled after 8 s" in str(outcome[0])


def test_more_queries_than_the_slots_wait_then_hear_it_is_busy(database):
    sql = ReadOnlySql(database, SqlLimits(timeout_s=0.3))
    for _ in range(QUERIES_AT_ONCE):  # as if that many slow queries were running
        sql.slots.acquire()
    started = time.monotonic()
    with pytest.raises(QueryBusy) as busy:
        sql.query("SELECT 1")
    assert time.monotonic() - started >= 0.25  # it waited the time limit for a slot
    assert str(busy.value) == f"the ledger is busy: {QUERIES_AT_ONCE} audit queries are running; try again shortly"
    assert isinstance(busy.value, QueryFailed)
    sql.slots.release()
    assert sql.query("SELECT 1").rows == [[1]]


def test_queries_at_once_and_the_busy_message_are_the_caller_s(database):
    sql = ReadOnlySql(database, SqlLimits(timeout_s=0.1), queries_at_once=1, busy_message="come back later")
    sql.slots.acquire()
    with pytest.raises(QueryBusy, match="^come back later$"):
        sql.query("SELECT 1")
    sql.slots.release()
    assert sql.query("SELECT 1").rows == [[1]]


def test_the_limits_come_from_the_environment_with_defaults():
    assert SqlLimits.from_env({}) == SqlLimits(DEFAULT_MEMORY_MB, DEFAULT_THREADS, DEFAULT_TIMEOUT_S) == SqlLimits()
    assert (DEFAULT_MEMORY_MB, DEFAULT_THREADS, DEFAULT_TIMEOUT_S) == (512, 2, 10.0)
    assert (MEMORY_ENV, THREADS_ENV, TIMEOUT_ENV) == ("PLUGYARD_AUDIT_MEMORY_MB", "PLUGYARD_AUDIT_THREADS", "PLUGYARD_AUDIT_TIMEOUT_S")
    env = {MEMORY_ENV: " 256 ", THREADS_ENV: "1", TIMEOUT_ENV: "2.5"}
    assert SqlLimits.from_env(env) == SqlLimits(memory_mb=256, threads=1, timeout_s=2.5)


@pytest.mark.parametrize(
    ("name", "bad"),
    [(MEMORY_ENV, "lots"), (MEMORY_ENV, "1.5"), (MEMORY_ENV, "8"), (THREADS_ENV, "0"), (THREADS_ENV, "two"),
     (TIMEOUT_ENV, "-1"), (TIMEOUT_ENV, "nan"), (TIMEOUT_ENV, "inf"), (TIMEOUT_ENV, "0.01")],
)
def test_a_bad_limit_names_its_variable_and_value(name, bad):
    with pytest.raises(SqlConfigError) as refused:
        SqlLimits.from_env({name: bad})
    assert name in str(refused.value) and repr(bad) in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_from_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "3")
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert SqlLimits.from_env() == SqlLimits(timeout_s=3.0)


def test_connect_opens_the_database_safely_with_the_thread_limit(tmp_path):
    db = connect(tmp_path / "x.duckdb", limits=SqlLimits(threads=1), extra_config={"checkpoint_threshold": "64MiB"})
    try:
        for name, wanted in SAFE_CONNECTION_CONFIG.items():
            assert db.execute("SELECT current_setting(?)", [name]).fetchall() == [(wanted,)], name
        assert db.execute("SELECT current_setting('threads')").fetchall() == [(1,)]
        assert db.execute("SELECT current_setting('checkpoint_threshold')").fetchall() == [("64.0 MiB",)]
        with pytest.raises(duckdb.Error):  # the configuration is locked
            db.execute("SET enable_external_access = true")
        assert ReadOnlySql(db, SqlLimits(threads=1)).query("SELECT current_setting('threads')").rows == [[1]]
    finally:
        db.close()
    for clashing in ({"enable_external_access": True}, {"threads": 8}, {"lock_configuration": False}):
        with pytest.raises(ValueError, match=next(iter(clashing))):
            connect(tmp_path / "y.duckdb", limits=SqlLimits(), extra_config=clashing)


def test_a_database_not_opened_safely_is_refused(tmp_path):
    db = duckdb.connect(str(tmp_path / "open.duckdb"))
    try:
        with pytest.raises(ValueError, match="enable_external_access"):
            ReadOnlySql(db, SqlLimits())
    finally:
        db.close()


def test_json_ready_values():
    from datetime import date, timedelta
    from decimal import Decimal
    from uuid import UUID

    assert json_ready(float("nan")) == "nan" and json_ready(1.5) == 1.5
    assert json_ready(Decimal("1.50")) == "1.50"
    assert json_ready(date(2026, 1, 2)) == "2026-01-02"
    assert json_ready(timedelta(minutes=1)) == 60.0
    assert json_ready(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert json_ready({1: (b"\x01",)}) == {"1": ["AQ=="]}
    assert json_ready('{"a": [1]}', parse_json=True) == {"a": [1]}
    assert json_ready("not json", parse_json=True) == "not json"
    assert json_ready('{"a": 1}') == '{"a": 1}'
