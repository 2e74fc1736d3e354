"""Audit SQL within limits: memory, time, a few queries at once beside the writer, each limit set by environment.

Timings are asserted only with generous bounds (the machine is shared); what is checked is that a quick query
or an append is not queued behind a slow query, which would take the slow query's whole time limit."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_ledger.main import build_service
from plugyard_ledger.warehouse import Warehouse
from plugyard_readonly_sql import QUERIES_AT_ONCE as AUDIT_QUERIES_AT_ONCE
from plugyard_readonly_sql import QueryBusy, QueryOverLimit
from plugyard_readonly_sql import SqlConfigError as AuditConfigError
from plugyard_readonly_sql import SqlLimits as AuditLimits
from plugyard_readonly_sql.limits import DEFAULT_MEMORY_MB as DEFAULT_AUDIT_MEMORY_MB
from plugyard_readonly_sql.limits import DEFAULT_THREADS as DEFAULT_AUDIT_THREADS
from plugyard_readonly_sql.limits import DEFAULT_TIMEOUT_S as DEFAULT_AUDIT_TIMEOUT_S
from plugyard_readonly_sql.limits import MEMORY_ENV as AUDIT_MEMORY_ENV
from plugyard_readonly_sql.limits import THREADS_ENV as AUDIT_THREADS_ENV
from plugyard_readonly_sql.limits import TIMEOUT_ENV as AUDIT_TIMEOUT_ENV
from plugyard_schemas.ledger import SqlReply, SqlRequest
from tests.in_process import start_in_process
from tests.ledger.test_warehouse import events

# count(DISTINCT) over 30M values builds a hash table of ~500 MiB, far past the small limits used here.
HUNGRY = "SELECT count(DISTINCT x) FROM range(30000000) t(x)"
# Counts to 10^12: CPU for minutes, no memory to speak of.
SLOW = "SELECT count(*) FROM range(1000000000000)"
QUICK_S = 5.0  # a quick query beside a slow one answers within this (it would otherwise wait the slow one's limit)


def open_warehouse(tmp_path: Path, **limits) -> Warehouse:
    return Warehouse(tmp_path / "ledger", audit=AuditLimits(**limits))


def in_thread(work) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_query_past_the_memory_limit_is_stopped_and_the_next_one_answers(tmp_path):
    with open_warehouse(tmp_path, memory_mb=32) as warehouse:
        warehouse.append(events(1, 5), [], 5)
        started = time.monotonic()
        with pytest.raises(QueryOverLimit) as stopped:
            warehouse.query(HUNGRY)
        assert str(stopped.value) == f"query exceeded the 32 MiB memory limit ({AUDIT_MEMORY_ENV})"
        assert time.monotonic() - started < 20
        assert warehouse.query("SELECT count(*) FROM events").rows == [[5]]
        assert warehouse.query("SELECT count(DISTINCT x) FROM range(10000) t(x)").rows == [[10000]]  # small is fine


def test_a_slow_query_is_cancelled_at_the_time_limit(tmp_path):
    with open_warehouse(tmp_path, timeout_s=0.5) as warehouse:
        started = time.monotonic()
        with pytest.raises(QueryOverLimit) as cancelled:
            warehouse.query(SLOW)
        elapsed = time.monotonic() - started
        assert str(cancelled.value) == f"query cancelled after 0.5 s ({AUDIT_TIMEOUT_ENV})"
        assert 0.4 < elapsed < 10
        assert warehouse.query("SELECT 42").rows == [[42]]


def test_a_quick_query_and_the_writer_go_on_beside_a_slow_query(tmp_path):
    with open_warehouse(tmp_path, timeout_s=15) as warehouse:
        warehouse.append(events(1, 100), [], 100)
        slow, outcome = in_thread(lambda: warehouse.query(SLOW))
        time.sleep(0.3)  # let it start
        started = time.monotonic()
        assert warehouse.query("SELECT count(*) FROM events").rows == [[100]]
        assert time.monotonic() - started < QUICK_S
        started = time.monotonic()
        warehouse.append(events(101, 200), [], 200)
        assert time.monotonic() - started < QUICK_S
        assert warehouse.query("SELECT count(*) FROM events").rows == [[200]]
        assert slow.is_alive(), "the slow query should still be running"
        slow.join(30)
        assert isinstance(outcome[0], QueryOverLimit) and "cancelled after 15 s" in str(outcome[0])
        assert warehouse.verify().ok


def test_queries_beyond_the_slots_wait_then_hear_the_ledger_is_busy(tmp_path):
    with open_warehouse(tmp_path, timeout_s=0.3) as warehouse:
        for _ in range(AUDIT_QUERIES_AT_ONCE):  # as if that many slow queries were running
            warehouse._audit_slots.acquire()
        with pytest.raises(QueryBusy, match=f"busy: {AUDIT_QUERIES_AT_ONCE} audit queries are running"):
            warehouse.query("SELECT 1")
        warehouse._audit_slots.release()
        assert warehouse.query("SELECT 1").rows == [[1]]


def test_the_limits_come_from_the_environment_with_documented_defaults():
    assert AuditLimits.from_env({}) == AuditLimits(DEFAULT_AUDIT_MEMORY_MB, DEFAULT_AUDIT_THREADS, DEFAULT_AUDIT_TIMEOUT_S)
    assert (DEFAULT_AUDIT_MEMORY_MB, DEFAULT_AUDIT_THREADS, DEFAULT_AUDIT_TIMEOUT_S) == (512, 2, 10.0)
    env = {AUDIT_MEMORY_ENV: " 256 ", AUDIT_THREADS_ENV: "1", AUDIT_TIMEOUT_ENV: "2.5"}
    assert AuditLimits.from_env(env) == AuditLimits(memory_mb=256, threads=1, timeout_s=2.5)
    for name, bad in [(AUDIT_MEMORY_ENV, "lots"), (AUDIT_MEMORY_ENV, "1.5"), (AUDIT_MEMORY_ENV, "8"), (AUDIT_THREADS_ENV, "0"),
                      (AUDIT_TIMEOUT_ENV, "-1"), (AUDIT_TIMEOUT_ENV, "nan")]:
        with pytest.raises(AuditConfigError) as refused:
            AuditLimits.from_env({name: bad})
        assert name in str(refused.value) and repr(bad) in str(refused.value)


def test_the_thread_limit_reaches_duckdb(tmp_path):
    with open_warehouse(tmp_path, threads=1) as warehouse:
        assert warehouse.query("SELECT current_setting('threads')").rows == [[1]]


def test_a_bad_limit_stops_the_ledger_at_start(tmp_path):
    env = {"PATH": "", AUDIT_MEMORY_ENV: "a lot", "PLUGYARD_DATA_DIR": str(tmp_path), "PLUGYARD_NATS_URL": "nats://127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", "plugyard_ledger"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78, done.stderr
    assert AUDIT_MEMORY_ENV in done.stderr and "'a lot'" in done.stderr and "Traceback" not in done.stderr


# ---- the sql RPC against a real nats-server


async def sql(nc, statement: str, timeout: float = 30.0) -> list[list]:
    return (await call(nc, rpc_subject("ledger", "sql"), SqlRequest(sql=statement), SqlReply, timeout=timeout)).rows


async def test_the_sql_rpc_answers_quick_queries_beside_a_slow_one(nats_server, nc, tmp_path, monkeypatch):
    monkeypatch.setenv(AUDIT_TIMEOUT_ENV, "8")
    monkeypatch.setenv(AUDIT_MEMORY_ENV, "32")
    running = await start_in_process(build_service(tmp_path / "data", nats_server.url))
    try:
        with pytest.raises(RpcError) as hungry:
            await sql(nc, HUNGRY)
        assert (hungry.value.code, hungry.value.message) == ("refused", f"query exceeded the 32 MiB memory limit ({AUDIT_MEMORY_ENV})")
        assert await sql(nc, "SELECT 42") == [[42]]

        slow = asyncio.create_task(sql(nc, SLOW))
        await asyncio.sleep(0.5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await sql(nc, "SELECT 42", timeout=QUICK_S) == [[42]]
        assert loop.time() - started < QUICK_S and not slow.done()
        # The consumer stores an event meanwhile.
        event = {"specversion": "1.0", "id": "beside-1", "source": "acme/beside", "type": "com.example.Happened", "data": {}}
        await nc.jetstream().publish("plugyard.evt.acme.Happened", json.dumps(event).encode())
        while await sql(nc, "SELECT count(*) FROM events WHERE source = 'acme/beside'", timeout=QUICK_S) != [[1]]:
            assert loop.time() - started < 4 * QUICK_S, "the event was not stored beside the slow query"
            await asyncio.sleep(0.1)
        assert not slow.done(), "the event should be stored while the slow query still runs"
        with pytest.raises(RpcError) as cancelled:
            await slow
        assert (cancelled.value.code, cancelled.value.message) == ("refused", f"query cancelled after 8 s ({AUDIT_TIMEOUT_ENV})")
    finally:
        await running.close()
