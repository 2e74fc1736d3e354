"""The ledger's audit warehouse on real DuckDB files: once-only storage, positions, the hash chain, read-only SQL,
Parquet segments."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from plugyard_ledger.warehouse import DATABASE_FILE, IncomingEvent, IncomingRejection, InvalidEvent, Warehouse
from plugyard_readonly_sql import QueryFailed, QueryRefused
from plugyard_readonly_sql import SqlLimits as AuditLimits

WHEN = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


def event(seq: int, n: int | None = None, *, source: str = "plugyard/registry", **override) -> IncomingEvent:
    n = seq if n is None else n
    fields = dict(
        stream_seq=seq,
        nats_subject="plugyard.evt.registry.VersionPublished",
        id=f"plugin-{n}:1",
        source=source,
        type="dev.plugyard.registry.VersionPublished",
        subject=f"plugin/acme-{n}",
        time=WHEN,
        data_json=json.dumps({"name": f"acme-{n}", "version": "1.0.0", "note": "é ✓"}, ensure_ascii=False),
        extensions_json=json.dumps({"aggregateid": f"agg-{n}", "aggregateversion": 1}),
    )
    fields.update(override)
    return IncomingEvent(**fields)


def events(first: int, last: int) -> list[IncomingEvent]:
    return [event(seq) for seq in range(first, last + 1)]


@pytest.fixture
def warehouse(tmp_path: Path):
    opened = Warehouse(tmp_path / "ledger")
    yield opened
    opened.close()


def rows(warehouse: Warehouse, sql: str) -> list[list]:
    return warehouse.query(sql).rows


def tamper(directory: Path, statement: str) -> None:
    """What someone with the file could do while the service is down."""
    connection = duckdb.connect(str(directory / DATABASE_FILE))
    connection.execute(statement)
    connection.close()


# ---- storing


def test_append_keeps_events_in_stream_order_with_contiguous_row_numbers(warehouse):
    result = warehouse.append(events(1, 3), [], 3)
    assert (result.inserted, result.duplicates, result.rejected, result.last_stream_seq) == (3, 0, 0, 3)
    warehouse.append(events(4, 5), [], 5)

    stored = rows(
        warehouse, "SELECT row_no, stream_seq, id, source, subject, time, data, extensions FROM events ORDER BY row_no"
    )
    assert [r[0] for r in stored] == [1, 2, 3, 4, 5]
    assert [r[1] for r in stored] == [1, 2, 3, 4, 5]
    assert stored[0][2:] == [
        "plugin-1:1", "plugyard/registry", "plugin/acme-1", "2026-11-25T12:00:00.123456+00:00",
        {"name": "acme-1", "version": "1.0.0", "note": "é ✓"}, {"aggregateid": "agg-1", "aggregateversion": 1},
    ]
    assert warehouse.count() == 5
    assert rows(warehouse, "SELECT extensions->>'aggregateid' FROM events WHERE row_no = 2") == [["agg-2"]]


def test_duplicates_in_a_batch_and_across_batches_are_counted_not_stored(warehouse):
    first = warehouse.append([event(1), event(2), event(3, 1)], [], 3)  # seq 3 repeats event 1
    assert (first.inserted, first.duplicates) == (2, 1)

    again = warehouse.append([event(4, 2), event(5), event(6, 5), event(7, 1)], [], 7)
    assert (again.inserted, again.duplicates) == (1, 3)

    same_id_other_source = warehouse.append([event(8, 1, source="plugyard/scanner")], [], 8)
    assert (same_id_other_source.inserted, same_id_other_source.duplicates) == (1, 0)

    assert rows(warehouse, "SELECT row_no, stream_seq, source, id FROM events ORDER BY row_no") == [
        [1, 1, "plugyard/registry", "plugin-1:1"],
        [2, 2, "plugyard/registry", "plugin-2:1"],
        [3, 5, "plugyard/registry", "plugin-5:1"],
        [4, 8, "plugyard/scanner", "plugin-1:1"],
    ]
    assert warehouse.verify().ok


def test_a_batch_of_only_stored_duplicates_still_moves_the_position(warehouse):
    warehouse.append(events(1, 3), [], 3)
    result = warehouse.append([event(4, 1), event(5, 2)], [], 5)
    assert (result.inserted, result.duplicates, result.last_stream_seq) == (0, 2, 5)
    assert warehouse.last_stream_seq() == 5
    assert warehouse.count() == 3


def test_the_position_is_idempotent_and_survives_reopening(tmp_path):
    directory = tmp_path / "ledger"
    with Warehouse(directory) as warehouse:
        assert warehouse.last_stream_seq() == 0
        warehouse.append(events(1, 5), [], 5)
        assert warehouse.append(events(1, 5), [], 5) == warehouse.append(events(1, 3), [], 3)
        assert warehouse.append(events(1, 5), [], 5).inserted == 0
        warehouse.append([], [], 9)  # nothing to store, but those messages are done with
        assert warehouse.last_stream_seq() == 9
    with Warehouse(directory) as reopened:
        assert reopened.last_stream_seq() == 9
        assert reopened.append(events(6, 9), [], 9).inserted == 0
        assert reopened.append(events(10, 10), [], 10).inserted == 1
        assert rows(reopened, "SELECT max(row_no), count(*) FROM events") == [[6, 6]]
        assert reopened.verify().ok


def test_a_rejection_becomes_a_row_in_the_same_chain(warehouse):
    raw = b"\xff" + b"x" * 5000
    rejection = IncomingRejection(stream_seq=2, nats_subject="plugyard.evt.acme.Broken", reason="not JSON", raw=raw)
    result = warehouse.append([event(1), event(3)], [rejection], 3)
    assert (result.inserted, result.rejected, result.duplicates) == (2, 1, 0)

    [row] = rows(
        warehouse,
        "SELECT row_no, stream_seq, source, type, id, subject, nats_subject, data FROM events WHERE row_no = 2",
    )
    assert row[:7] == [
        2, 2, "plugyard/ledger", "dev.plugyard.ledger.MessageRejected", "rejected:PLUGYARD_EVENTS:2",
        "plugyard.evt.acme.Broken", "plugyard.evt.acme.Broken",
    ]
    data = row[7]
    assert (data["reason"], data["nats_subject"], data["stream_seq"], data["raw_size"]) == (
        "not JSON", "plugyard.evt.acme.Broken", 2, 5001,
    )
    assert base64.b64decode(data["raw_base64"]) == raw[:4096]

    redelivered = warehouse.append([], [rejection], 4)
    assert (redelivered.rejected, redelivered.duplicates) == (0, 1)
    assert warehouse.verify().ok


def test_json_is_stored_as_sent_even_when_it_only_looks_lenient(warehouse):
    looks_lenient = '{"note": "info, ], nan: inf, [1,]", "big": 1e999, "n": -0.5}'
    spaced = '{ "aggregateid" : "agg-1" ,\n "tags": [ 1 , 2 ] }'
    warehouse.append([event(1, data_json=looks_lenient, extensions_json=spaced)], [], 1)
    assert rows(warehouse, "SELECT data::VARCHAR, extensions::VARCHAR FROM events") == [[looks_lenient, spaced]]
    assert warehouse.verify().ok


@pytest.mark.parametrize(
    "bad, problem",
    [
        (dict(data_json='{"truncated": '), "data_json is not valid JSON"),
        (dict(data_json='{"n": NaN}'), "data_json is not valid JSON"),
        (dict(data_json="[1,2,]"), "data_json is not valid JSON"),
        (dict(data_json='"\\ud800"'), "data_json is not valid JSON"),
        (dict(data_json='[-Infinity]'), "data_json is not valid JSON"),
        (dict(data_json='{"a": [1, inf]}'), "data_json is not valid JSON"),
        (dict(data_json='{"a": [1,\n ]}'), "data_json is not valid JSON"),
        (dict(data_json=""), "data_json is not valid JSON"),
        (dict(data_json=None), "data_json must be JSON text"),
        (dict(extensions_json='{"a": 1,}'), "extensions_json is not valid JSON"),
        (dict(extensions_json='{"a": 1'), "extensions_json is not valid JSON"),
        (dict(extensions_json="[1]"), "extensions_json must be a JSON object"),
        (dict(id=""), "id must be a non-empty string"),
        (dict(id="lone \ud800 surrogate"), "no UTF-8 form"),
        (dict(stream_seq=99), "beyond the batch's last stream sequence"),
    ],
)
def test_bad_input_fails_the_append_before_anything_is_written(warehouse, bad, problem):
    warehouse.append(events(1, 2), [], 2)
    before = rows(warehouse, "SELECT * FROM events ORDER BY row_no")

    with pytest.raises(InvalidEvent, match=problem):
        warehouse.append([event(3), event(4, **{"stream_seq": 4, **bad}), event(5)], [], 5)

    assert rows(warehouse, "SELECT * FROM events ORDER BY row_no") == before
    assert warehouse.last_stream_seq() == 2
    assert warehouse.append(events(3, 5), [], 5).inserted == 3
    assert rows(warehouse, "SELECT list(row_no ORDER BY row_no) FROM events") == [[[1, 2, 3, 4, 5]]]
    assert warehouse.verify().ok


# ---- the hash chain


def test_verify_recomputes_the_whole_chain(warehouse):
    warehouse.append(events(1, 50), [IncomingRejection(51, "plugyard.evt.x.Y", "bad", b"{")], 51)
    warehouse.append([event(52, time=None, subject=None, data_json="null", extensions_json="{}")], [], 52)
    result = warehouse.verify()
    assert (result.ok, result.rows_checked, result.first_broken_row, result.reason) == (True, 52, None, None)
    [[first_prev, hash_length]] = rows(warehouse, "SELECT prev_hash, length(hash) FROM events WHERE row_no = 1")
    assert (first_prev, hash_length) == ("0" * 64, 64)
    unlinked = "SELECT count(*) FROM events e JOIN events p ON p.row_no = e.row_no - 1 WHERE e.prev_hash <> p.hash"
    assert rows(warehouse, unlinked) == [[0]]


def test_verify_names_the_row_whose_data_was_changed(tmp_path):
    directory = tmp_path / "ledger"
    with Warehouse(directory) as warehouse:
        warehouse.append(events(1, 10), [], 10)
    tamper(directory, """UPDATE events SET data = '{"name":"acme-7","version":"6.6.6"}' WHERE row_no = 7""")

    with Warehouse(directory) as reopened:
        result = reopened.verify()
    assert (result.ok, result.first_broken_row, result.broken_id, result.broken_source, result.reason) == (
        False, 7, "plugin-7:1", "plugyard/registry", "hash mismatch",
    )
    assert result.rows_checked == 7


def test_verify_finds_a_deleted_row_by_the_broken_link(tmp_path):
    directory = tmp_path / "ledger"
    with Warehouse(directory) as warehouse:
        warehouse.append(events(1, 10), [], 10)
    tamper(directory, "DELETE FROM events WHERE row_no = 4")

    with Warehouse(directory) as reopened:
        result = reopened.verify()
    assert (result.ok, result.first_broken_row, result.broken_id, result.reason) == (
        False, 5, "plugin-5:1", "prev_hash does not link",
    )


def test_verify_finds_rows_cut_off_the_end(tmp_path):
    directory = tmp_path / "ledger"
    with Warehouse(directory) as warehouse:
        warehouse.append(events(1, 10), [], 10)
    tamper(directory, "DELETE FROM events WHERE row_no >= 9")

    with Warehouse(directory) as reopened:
        result = reopened.verify()
    assert (result.ok, result.first_broken_row) == (False, 9)
    assert "missing" in result.reason


# ---- audit SQL


@pytest.mark.parametrize(
    "statement, refused",
    [
        ("INSERT INTO events (row_no) VALUES (99)", "INSERT"),
        ("UPDATE events SET data = '1'", "UPDATE"),
        ("DELETE FROM events", "DELETE"),
        ("DROP TABLE events", "DROP"),
        ("CREATE TABLE mine (x INTEGER)", "CREATE"),
        ("COPY events TO '/tmp/stolen.csv'", "COPY"),
        ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("SET enable_external_access = true", "SET"),
        ("SELECT 1; DELETE FROM events", "DELETE"),
        ("EXPLAIN ANALYZE DELETE FROM events", "EXPLAIN"),
        ("EXPLAIN DELETE FROM events", "EXPLAIN"),
        ("CALL checkpoint()", "CALL"),
        ("BEGIN; DELETE FROM events; COMMIT", "TRANSACTION"),
    ],
)
def test_audit_sql_refuses_anything_but_select(warehouse, statement, refused):
    warehouse.append(events(1, 3), [], 3)
    with pytest.raises(QueryRefused, match=f"read-only: {refused}"):
        warehouse.query(statement)
    assert warehouse.count() == 3
    assert warehouse.verify().ok


def test_audit_sql_cannot_read_files(warehouse):
    for statement in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM glob('/etc/*')",
    ):
        with pytest.raises(QueryFailed) as failure:
            warehouse.query(statement)
        assert "/etc/passwd" in str(failure.value) or "/etc/*" in str(failure.value)


def test_audit_sql_reports_duckdbs_error(warehouse):
    with pytest.raises(QueryFailed, match="no_such_column"):
        warehouse.query("SELECT no_such_column FROM events")
    with pytest.raises(QueryFailed, match="syntax error"):
        warehouse.query("SELEC 1")


def test_audit_sql_answers_json_ready_rows_capped_at_max_rows(warehouse):
    warehouse.append(events(1, 20), [], 20)
    result = warehouse.query(
        "SELECT row_no, time, recorded_at, data, 1.50::DECIMAL(5,2) AS price, '\\x01'::BLOB AS raw, [1, 2] AS list "
        "FROM events ORDER BY row_no",
        max_rows=5,
    )
    assert result.columns == ["row_no", "time", "recorded_at", "data", "price", "raw", "list"]
    assert len(result.rows) == 5 and result.truncated
    first = result.rows[0]
    assert first[1] == "2026-11-25T12:00:00.123456+00:00"
    assert datetime.fromisoformat(first[2]).tzinfo is not None
    assert first[3]["name"] == "acme-1"
    assert first[4:] == ["1.50", "AQ==", [1, 2]]
    json.dumps(result.rows)

    everything = warehouse.query("SELECT 1 AS a; SELECT count(*) AS n FROM events")
    assert (everything.columns, everything.rows, everything.truncated) == (["n"], [[20]], False)
    plan = warehouse.query("EXPLAIN SELECT count(*) FROM events")
    assert plan.rows


def test_a_runaway_query_is_cancelled(tmp_path):
    # More in test_audit_limits.py.
    with Warehouse(tmp_path / "ledger", audit=AuditLimits(timeout_s=0.3)) as warehouse:
        with pytest.raises(QueryFailed, match="cancelled"):
            warehouse.query("SELECT count(*) FROM range(1000000000000)")
        assert warehouse.query("SELECT 42").rows == [[42]]


def test_query_verify_and_export_run_while_another_thread_appends(warehouse):
    failures: list[BaseException] = []
    halfway, looked = threading.Event(), threading.Event()

    def append_batches() -> None:
        try:
            for batch in range(30):
                first = batch * 100 + 1
                warehouse.append(events(first, first + 99), [], first + 99)
                if batch == 4:
                    halfway.set()
                    looked.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
            halfway.set()

    writer = threading.Thread(target=append_batches)
    writer.start()
    halfway.wait(10)
    seen = []
    while True:
        [[count, highest]] = rows(warehouse, "SELECT count(*), coalesce(max(row_no), 0) FROM events")
        assert count == highest
        seen.append(count)
        result = warehouse.verify()
        assert result.ok, result
        warehouse.export_segments(force=True)
        looked.set()
        if not writer.is_alive():
            break
    writer.join()
    assert failures == []
    assert seen[0] == 500 and all(count % 100 == 0 for count in seen)
    assert warehouse.count() == 3000
    warehouse.export_segments(force=True)
    exported = f"read_parquet('{warehouse.segments_dir()}/*.parquet')"
    assert duckdb.sql(f"SELECT count(*), count(DISTINCT row_no), max(row_no) FROM {exported}").fetchall() == [
        (3000, 3000, 3000)
    ]


# ---- Parquet segments


def test_segments_are_read_by_an_outside_duckdb_while_the_warehouse_is_open(tmp_path):
    warehouse = Warehouse(tmp_path / "ledger", segment_rows=40, segment_seconds=3600)
    try:
        warehouse.append(events(1, 100), [IncomingRejection(101, "plugyard.evt.x.Y", "bad", b"{")], 101)
        written = warehouse.export_segments()
        assert [path.name for path in written] == [
            "events-000000000001-000000000040.parquet",
            "events-000000000041-000000000080.parquet",
        ]
        assert warehouse.export_segments() == []  # 21 rows left: neither enough nor old enough
        [rest] = warehouse.export_segments(force=True)
        assert rest.name == "events-000000000081-000000000101.parquet"

        glob = f"{warehouse.segments_dir()}/*.parquet"
        outside = duckdb.connect()
        columns = (
            "row_no, stream_seq, nats_subject, id, source, type, subject, epoch_us(time), data::VARCHAR, "
            "extensions::VARCHAR, epoch_us(recorded_at), prev_hash, hash"
        )
        from_segments = outside.execute(f"SELECT {columns} FROM read_parquet('{glob}') ORDER BY row_no").fetchall()
        outside.close()
        stored = warehouse.query(f"SELECT {columns} FROM events ORDER BY row_no", max_rows=1000).rows
        assert [list(row) for row in from_segments] == stored
        assert len(stored) == 101

        assert (
            duckdb.sql(f"SELECT typeof(data), typeof(time) FROM read_parquet('{glob}') LIMIT 1").fetchall()
            == [("JSON", "TIMESTAMP WITH TIME ZONE")]
        )
    finally:
        warehouse.close()


def test_a_segment_is_due_when_its_oldest_row_is_old_enough(tmp_path):
    with Warehouse(tmp_path / "ledger", segment_rows=1000, segment_seconds=0.0) as warehouse:
        assert warehouse.export_segments() == []
        warehouse.append(events(1, 3), [], 3)
        assert [p.name for p in warehouse.export_segments()] == ["events-000000000001-000000000003.parquet"]
        assert warehouse.export_segments() == []


def test_an_export_that_crashed_before_recording_is_redone_without_double_rows(tmp_path):
    directory = tmp_path / "ledger"
    with Warehouse(directory, segment_rows=10, segment_seconds=3600) as warehouse:
        warehouse.append(events(1, 25), [], 25)
        first, second = warehouse.export_segments()
        content = second.read_bytes()
    # The crash: the file was renamed into place but the high-water mark never committed.
    tamper(directory, "DELETE FROM segment_exports WHERE first_row_no = 11")
    stray = directory / "segments" / "events-000000000021-000000000025.parquet"
    stray.write_bytes(b"half written by an export that died")

    with Warehouse(directory, segment_rows=10, segment_seconds=3600) as reopened:
        again = reopened.export_segments()
        assert [p.name for p in again] == ["events-000000000011-000000000020.parquet"]
        assert again[0].read_bytes() == content
        assert not stray.exists()
        reopened.export_segments(force=True)
        exported = f"read_parquet('{reopened.segments_dir()}/*.parquet')"
        assert duckdb.sql(f"SELECT count(*), count(DISTINCT row_no) FROM {exported}").fetchall() == [(25, 25)]
        assert first.exists()
