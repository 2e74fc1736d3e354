"""The ledger's audit warehouse: every event kept once, in stream order, hash-chained, in a DuckDB file.

One writer appends batches; each append is one DuckDB transaction holding the new rows and the stream
position they bring the ledger to, so a crash leaves either all of it or none. Audit SQL and chain
verification run on cursors of their own and may be called from other threads while an append runs.
The database is opened with external access disabled, so neither a query nor anything else here can make
DuckDB read or write host files; Parquet segments are written with pyarrow instead.

Audit SQL runs within limits (`plugyard_readonly_sql.SqlLimits`): a few queries at once, each stopped when it runs too long or
grows DuckDB's working memory too far, and DuckDB's worker threads capped for the whole database. That
machinery is plugyard_readonly_sql's, shared with telemetry sql; its names are re-exported here.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from plugyard_ledger import segments
from plugyard_ledger.hashchain import CONTENT_SELECT, GENESIS_HASH, ChainChecker, epoch_micros, row_hash
from plugyard_readonly_sql import QueryResult, ReadOnlySql, SqlLimits, connect, rollback_quietly

DATABASE_FILE = "warehouse.duckdb"
SEGMENTS_DIRECTORY = "segments"

EVENTS_STREAM = "PLUGYARD_EVENTS"
LEDGER_SOURCE = "plugyard/ledger"
REJECTION_TYPE = "dev.plugyard.ledger.MessageRejected"
CONSUMER = "ledger"  # the ledger's one durable consumer, named in its rejections
REJECTED_RAW_KEPT_BYTES = 4096

VERIFY_CHUNK_ROWS = 100_000

# A checkpoint re-serializes the whole unique index on (source, id) (duckdb/duckdb#24848), so its cost grows
# with the table: checkpoint rarely. The WAL this leaves is replayed only after a crash.
_CHECKPOINT_CONFIG = {"checkpoint_threshold": "256MB"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    row_no BIGINT NOT NULL,
    stream_seq BIGINT NOT NULL,
    nats_subject VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    subject VARCHAR,
    time TIMESTAMPTZ,
    data JSON NOT NULL,
    extensions JSON NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL,
    UNIQUE (source, id)
);
CREATE TABLE IF NOT EXISTS positions (
    stream_seq BIGINT NOT NULL,
    last_row_no BIGINT NOT NULL,
    head_hash VARCHAR NOT NULL,
    inserted INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS segment_exports (
    first_row_no BIGINT NOT NULL,
    last_row_no BIGINT NOT NULL,
    file_name VARCHAR NOT NULL,
    exported_at TIMESTAMPTZ NOT NULL
);
"""

# A batch on its way in, in the events table's column order.
_INCOMING_SCHEMA = pa.schema(
    [
        ("row_no", pa.int64()),
        ("stream_seq", pa.int64()),
        ("nats_subject", pa.string()),
        ("id", pa.string()),
        ("source", pa.string()),
        ("type", pa.string()),
        ("subject", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("data", pa.string()),
        ("extensions", pa.string()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("prev_hash", pa.string()),
        ("hash", pa.string()),
    ]
)
# Costs ~3x a plain insert, so it only runs to find out which rows of a refused batch were stored already.
_INSERT_INCOMING_NOT_STORED = "INSERT INTO events SELECT * FROM _incoming ON CONFLICT DO NOTHING RETURNING source, id"
_FIRST_INVALID_JSON = """
SELECT stream_seq, CASE WHEN json_valid(data) THEN 'extensions_json' ELSE 'data_json' END
FROM _incoming WHERE NOT (json_valid(data) AND json_valid(extensions)) ORDER BY stream_seq LIMIT 1
"""


@dataclass(frozen=True)
class IncomingEvent:
    """A valid CloudEvent the ledger received from JetStream."""

    stream_seq: int
    nats_subject: str
    id: str
    source: str
    type: str
    subject: str | None
    time: datetime | None
    data_json: str
    extensions_json: str


@dataclass(frozen=True)
class IncomingRejection:
    """A poison message: not a valid CloudEvent."""

    stream_seq: int
    nats_subject: str
    reason: str
    raw: bytes


@dataclass(frozen=True)
class AppendResult:
    """`inserted` counts events, `rejected` the rejection rows recorded; `duplicates` both kinds skipped."""

    inserted: int
    duplicates: int
    rejected: int
    last_stream_seq: int


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int
    first_broken_row: int | None
    broken_id: str | None
    broken_source: str | None
    reason: str | None


class InvalidEvent(ValueError):
    """An incoming event the ledger cannot store as it is; `append` refused the whole batch before writing."""

    def __init__(self, stream_seq: int | None, problem: str) -> None:
        super().__init__(f"event at stream sequence {stream_seq}: {problem}" if stream_seq else problem)
        self.stream_seq = stream_seq
        self.problem = problem


class _Candidate(NamedTuple):
    """A row to be, before it has a place in the chain."""

    stream_seq: int
    nats_subject: str
    id: str
    source: str
    type: str
    subject: str | None
    time_us: int | None
    data: str
    extensions: str
    is_rejection: bool


class Warehouse:
    def __init__(
        self, directory: Path, *, segment_rows: int = 50_000, segment_seconds: float = 10.0, audit: SqlLimits | None = None
    ) -> None:
        if segment_rows < 1:
            raise ValueError("segment_rows must be at least 1")
        self.audit = audit or SqlLimits()
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._segments_dir = self._directory / SEGMENTS_DIRECTORY
        self._segment_rows = segment_rows
        self._segment_seconds = segment_seconds
        self._write_lock = threading.Lock()
        self._export_lock = threading.Lock()
        self._closed = False
        self._db = connect(self._directory / DATABASE_FILE, limits=self.audit, extra_config=_CHECKPOINT_CONFIG)
        self._audit_sql = ReadOnlySql(self._db, self.audit, label="audit sql", what="the ledger")
        self._audit_slots = self._audit_sql.slots
        self._writer = self._db.cursor()
        self._writer.execute(_SCHEMA)
        head = _first_row(self._writer, "SELECT row_no, hash FROM events ORDER BY row_no DESC LIMIT 1")
        self._head_row_no, self._head_hash = head if head else (0, GENESIS_HASH)
        self._last_seq = _first_row(self._writer, "SELECT coalesce(max(stream_seq), 0) FROM positions")[0]

    # ---- writing

    def last_stream_seq(self) -> int:
        """The highest stream sequence whose effect is committed; 0 when nothing is."""
        return self._last_seq

    def append(
        self, events: list[IncomingEvent], rejections: list[IncomingRejection], last_stream_seq: int
    ) -> AppendResult:
        """Store a batch and the stream position it brings the ledger to, in one transaction.

        A batch at or below the stored position was committed already (a redelivery) and changes nothing.
        Raises InvalidEvent, having written nothing, when an event cannot be stored as it is.
        """
        with self._write_lock:
            self._check_open()
            if last_stream_seq <= self._last_seq:
                return AppendResult(0, 0, 0, self._last_seq)
            recorded_at = datetime.now(UTC)
            candidates = _candidates(events, rejections, last_stream_seq, epoch_micros(recorded_at))
            unique: dict[tuple[str, str], _Candidate] = {}
            for candidate in candidates:
                unique.setdefault((candidate.source, candidate.id), candidate)
            fresh = list(unique.values())
            batch_duplicates = len(candidates) - len(fresh)
            try:
                try:
                    return self._commit(fresh, batch_duplicates, recorded_at, last_stream_seq)
                except duckdb.ConstraintException:
                    # Some rows were stored by an earlier batch, so the chain computed for this one is
                    # wrong: find which (the unique key tells, without a table scan), append the rest.
                    stored = self._already_stored(fresh, recorded_at)
                    if not stored:
                        raise
                    fresh = [c for c in fresh if (c.source, c.id) not in stored]
                    return self._commit(fresh, batch_duplicates + len(stored), recorded_at, last_stream_seq)
            except duckdb.ConversionException as exc:
                raise self._explain_conversion_error(fresh, recorded_at, exc) from exc

    def _commit(
        self, fresh: list[_Candidate], duplicates: int, recorded_at: datetime, last_stream_seq: int
    ) -> AppendResult:
        """Insert `fresh` after the chain's head and record the position, in one transaction."""
        incoming, head_row_no, head_hash = _chained(fresh, self._head_row_no, self._head_hash, recorded_at)
        rejected = sum(1 for c in fresh if c.is_rejection)
        result = AppendResult(len(fresh) - rejected, duplicates, rejected, last_stream_seq)
        writer = self._writer
        writer.begin()
        try:
            if fresh:
                writer.from_arrow(incoming).insert_into("events")
            writer.execute(
                "INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [last_stream_seq, head_row_no, head_hash, result.inserted, duplicates, rejected, recorded_at],
            )
            writer.commit()
        except BaseException:
            rollback_quietly(writer)
            raise
        self._head_row_no, self._head_hash, self._last_seq = head_row_no, head_hash, last_stream_seq
        return result

    def _already_stored(self, fresh: list[_Candidate], recorded_at: datetime) -> set[tuple[str, str]]:
        incoming, _, _ = _chained(fresh, self._head_row_no, self._head_hash, recorded_at)
        writer = self._writer
        with self._registered(incoming):
            writer.begin()
            try:
                landed = set(writer.execute(_INSERT_INCOMING_NOT_STORED).fetchall())
            finally:
                rollback_quietly(writer)
        return {(c.source, c.id) for c in fresh} - landed

    def _explain_conversion_error(
        self, fresh: list[_Candidate], recorded_at: datetime, error: duckdb.ConversionException
    ) -> Exception:
        """Name the event whose JSON DuckDB refused (malformed, or a lone surrogate escape)."""
        incoming, _, _ = _chained(fresh, self._head_row_no, self._head_hash, recorded_at)
        with self._registered(incoming):
            found = _first_row(self._writer, _FIRST_INVALID_JSON)
        if found is None:
            return error
        stream_seq, field = found
        return InvalidEvent(stream_seq, f"{field} is not valid JSON: {str(error)[:300]}")

    @contextmanager
    def _registered(self, incoming: pa.Table) -> Iterator[None]:
        # Registered and dropped outside any transaction: DuckDB refuses both in an aborted one.
        self._writer.register("_incoming", incoming)
        try:
            yield
        finally:
            self._writer.unregister("_incoming")

    # ---- reading

    def count(self) -> int:
        with self._reader() as cursor:
            return _first_row(cursor, "SELECT count(*) FROM events")[0]

    def query(self, sql: str, *, max_rows: int = 10_000) -> QueryResult:
        """Run read-only audit SQL: the result of its last statement, at most `max_rows` rows of it.

        Raises QueryRefused for anything but SELECT (or EXPLAIN of one), QueryFailed when DuckDB cannot
        run it or it goes past the audit limits. With QUERIES_AT_ONCE queries running, a query waits
        for one of them to end, at most the time limit, then fails as busy.
        """
        self._check_open()
        return self._audit_sql.query(sql, max_rows=max_rows)

    def verify(self) -> VerifyResult:
        """Recompute the hash chain in row order, a chunk at a time, and check its head against the last
        recorded position (which catches rows cut off the end)."""
        with self._reader() as cursor:
            cursor.begin()  # one snapshot for the chain and the positions
            try:
                return _verify_snapshot(cursor)
            finally:
                rollback_quietly(cursor)

    # ---- segments

    def segments_dir(self) -> Path:
        return self._segments_dir

    def export_segments(self, *, force: bool = False) -> list[Path]:
        """Write the Parquet segments that are due; `force` writes whatever is not exported yet."""
        written: list[Path] = []
        with self._export_lock, self._reader() as cursor:
            high_water = _first_row(cursor, "SELECT coalesce(max(last_row_no), 0) FROM segment_exports")[0]
            segments.remove_unrecorded(self._segments_dir, high_water)
            while (last := self._next_segment_end(cursor, high_water, force)) is not None:
                first = high_water + 1
                rows = cursor.sql(
                    "SELECT * FROM events WHERE row_no BETWEEN $first AND $last ORDER BY row_no",
                    params={"first": first, "last": last},
                ).to_arrow_table()
                path = segments.write_segment(self._segments_dir, first, last, rows)
                cursor.execute("INSERT INTO segment_exports VALUES (?, ?, ?, now())", [first, last, path.name])
                written.append(path)
                high_water = last
        return written

    def _next_segment_end(self, cursor: duckdb.DuckDBPyConnection, high_water: int, force: bool) -> int | None:
        last_committed = _first_row(cursor, "SELECT max(row_no) FROM events WHERE row_no > ?", [high_water])[0]
        if last_committed is None:
            return None
        if last_committed - high_water >= self._segment_rows:
            return high_water + self._segment_rows
        if force:
            return last_committed
        oldest_us = _first_row(cursor, "SELECT epoch_us(recorded_at) FROM events WHERE row_no = ?", [high_water + 1])[0]
        age_s = (epoch_micros(datetime.now(UTC)) - oldest_us) / 1e6
        return last_committed if age_s >= self._segment_seconds else None

    # ---- lifetime

    def close(self) -> None:
        with self._write_lock, self._export_lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
            self._db.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the warehouse is closed")

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one call, so that calls from different threads never share one."""
        self._check_open()
        cursor = self._db.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def _first_row(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    # Fetching everything finishes the result; DuckDB 2.0 refuses other work on a cursor with one open.
    rows = cursor.execute(sql, params).fetchall()
    return rows[0] if rows else None


# ---- preparing a batch


def _candidates(
    events: list[IncomingEvent], rejections: list[IncomingRejection], last_stream_seq: int, recorded_us: int
) -> list[_Candidate]:
    """Validate a batch and put it in stream order; raises InvalidEvent on the first bad event."""
    prepared = [_event_candidate(event, last_stream_seq) for event in events]
    prepared += [_rejection_candidate(rejection, last_stream_seq, recorded_us) for rejection in rejections]
    prepared.sort(key=lambda candidate: candidate.stream_seq)
    return prepared


def _event_candidate(event: IncomingEvent, last_stream_seq: int) -> _Candidate:
    seq, subject, moment = event.stream_seq, event.subject, event.time
    data, extensions = event.data_json, event.extensions_json
    # One expression for the usual, valid event; the checks one by one only to word a refusal.
    if not (
        type(seq) is int and 0 < seq <= last_stream_seq
        and type(event.nats_subject) is str and event.nats_subject
        and type(event.id) is str and event.id
        and type(event.source) is str and event.source
        and type(event.type) is str and event.type
        and (subject is None or type(subject) is str)
        and (moment is None or isinstance(moment, datetime))
    ):
        _refuse_event_fields(event, last_stream_seq)
    # JSON is stored (and hashed) as the text sent. DuckDB checks its syntax as it goes in.
    if type(data) is not str or _might_be_lenient(data):
        _strict_json(data, "data_json", seq)
    if extensions != "{}":
        if type(extensions) is not str or not extensions.lstrip().startswith("{"):
            raise InvalidEvent(seq, "extensions_json must be a JSON object")
        if _might_be_lenient(extensions):
            _strict_json(extensions, "extensions_json", seq)
    return _Candidate(
        seq, event.nats_subject, event.id, event.source, event.type, subject, epoch_micros(moment),
        data, extensions, False,
    )


def _refuse_event_fields(event: IncomingEvent, last_stream_seq: int) -> None:
    seq = _check_seq(event.stream_seq, last_stream_seq)
    for name in ("nats_subject", "id", "source", "type"):
        _text(getattr(event, name), name, seq)
    if event.subject is not None and not isinstance(event.subject, str):
        raise InvalidEvent(seq, f"subject must be a string, got {type(event.subject).__name__}")
    if event.time is not None and not isinstance(event.time, datetime):
        raise InvalidEvent(seq, f"time must be a datetime, got {type(event.time).__name__}")
    raise InvalidEvent(seq, "has a field of the wrong type")


def _check_seq(stream_seq: object, last_stream_seq: int) -> int:
    if type(stream_seq) is not int or stream_seq < 1:
        raise InvalidEvent(None, f"stream sequence must be a positive integer, got {stream_seq!r:.40}")
    if stream_seq > last_stream_seq:
        raise InvalidEvent(stream_seq, f"is beyond the batch's last stream sequence {last_stream_seq}")
    return stream_seq


def _text(value: object, name: str, stream_seq: int) -> str:
    if type(value) is not str or not value:
        raise InvalidEvent(stream_seq, f"{name} must be a non-empty string, got {value!r:.80}")
    return value


def _rejection_candidate(rejection: IncomingRejection, last_stream_seq: int, recorded_us: int) -> _Candidate:
    seq = _check_seq(rejection.stream_seq, last_stream_seq)
    nats_subject = _text(rejection.nats_subject, "nats_subject", seq)
    reason = _text(rejection.reason, "reason", seq)
    if not isinstance(rejection.raw, (bytes, bytearray, memoryview)):
        raise InvalidEvent(seq, f"raw must be bytes, got {type(rejection.raw).__name__}")
    raw = bytes(rejection.raw)
    data = {
        "reason": reason,
        "nats_subject": nats_subject,
        "stream_seq": seq,
        "stream": EVENTS_STREAM,
        "consumer": CONSUMER,
        "raw_base64": base64.b64encode(raw[:REJECTED_RAW_KEPT_BYTES]).decode("ascii"),
        "raw_size": len(raw),
    }
    return _Candidate(
        seq, nats_subject, f"rejected:{EVENTS_STREAM}:{seq}", LEDGER_SOURCE, REJECTION_TYPE, nats_subject,
        recorded_us, json.dumps(data, ensure_ascii=False, separators=(",", ":")), "{}", True,
    )


def _chained(
    fresh: list[_Candidate], head_row_no: int, head_hash: str, recorded_at: datetime
) -> tuple[pa.Table, int, str]:
    """The rows as an Arrow table, numbered and hashed after the current head; and the new head."""
    recorded_us = epoch_micros(recorded_at)
    rows = []
    row_no, prev_hash = head_row_no, head_hash
    for c in fresh:
        row_no += 1
        content = (
            row_no, c.stream_seq, c.nats_subject, c.id, c.source, c.type, c.subject,
            c.time_us, c.data, c.extensions, recorded_us,
        )
        try:
            digest = row_hash(prev_hash, content)
        except UnicodeEncodeError as exc:
            raise InvalidEvent(c.stream_seq, f"text that has no UTF-8 form: {exc}") from exc
        rows.append((*content, prev_hash, digest))
        prev_hash = digest
    columns = list(zip(*rows)) if rows else [()] * len(_INCOMING_SCHEMA)
    return pa.table(columns, schema=_INCOMING_SCHEMA), row_no, prev_hash


# ---- JSON the ledger stores

# DuckDB's JSON parser also accepts NaN and Infinity (in any case, signed) and trailing commas, and
# stored JSON must be strict. Text that might hold one of them (or merely looks so, like "info" or a
# string containing ",]") goes through Python's strict parser too; the rest is left to DuckDB, which
# checks it as it goes in, at a fraction of the cost.
_TRAILING_COMMA = re.compile(r",\s*[\]}]")


def _might_be_lenient(text: str) -> bool:
    lowered = text.lower()
    if "nan" in lowered or "inf" in lowered or ",]" in text or ",}" in text:
        return True
    spaced = ", " in text or ",\n" in text or ",\r" in text or ",\t" in text
    return spaced and _TRAILING_COMMA.search(text) is not None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


_STRICT_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def _strict_json(text: object, name: str, stream_seq: int) -> Any:
    if type(text) is not str:
        raise InvalidEvent(stream_seq, f"{name} must be JSON text, got {type(text).__name__}")
    try:
        return _STRICT_JSON.decode(text)
    except RecursionError as exc:
        raise InvalidEvent(stream_seq, f"{name} is nested too deeply") from exc
    except ValueError as exc:
        raise InvalidEvent(stream_seq, f"{name} is not valid JSON: {exc}") from exc


# ---- verification


def _verify_snapshot(cursor: duckdb.DuckDBPyConnection) -> VerifyResult:
    lowest, highest = _first_row(cursor, "SELECT min(row_no), max(row_no) FROM events")
    checker = ChainChecker()
    if highest is not None:
        # Ranges of row_no, not one ORDER BY over the table: each chunk is a small sort over the few
        # row groups whose zone maps overlap it, so memory stays flat however long the chain.
        for start in range(min(lowest, 1), highest + 1, VERIFY_CHUNK_ROWS):
            cursor.execute(
                f"SELECT {CONTENT_SELECT} FROM events WHERE row_no BETWEEN ? AND ? ORDER BY row_no",
                [start, start + VERIFY_CHUNK_ROWS - 1],
            )
            while rows := cursor.fetchmany(10_000):
                broken = checker.feed(rows)
                if broken is not None:
                    return VerifyResult(
                        False, checker.rows_checked, broken.row_no, broken.id, broken.source, broken.reason
                    )
    position = _first_row(cursor, "SELECT last_row_no, head_hash FROM positions ORDER BY stream_seq DESC LIMIT 1")
    recorded_row_no, recorded_hash = position if position else (0, GENESIS_HASH)
    chain_row_no = checker.last_row_no
    if recorded_row_no == chain_row_no and recorded_hash == checker.last_hash:
        return VerifyResult(True, checker.rows_checked, None, None, None, None)
    if recorded_row_no > chain_row_no:
        return VerifyResult(
            False, checker.rows_checked, chain_row_no + 1, None, None,
            f"rows {chain_row_no + 1}..{recorded_row_no} are missing: the last recorded position covers them",
        )
    if recorded_row_no < chain_row_no:
        broken_row, reason = recorded_row_no + 1, "row is not covered by any recorded position"
    else:
        broken_row, reason = recorded_row_no, "hash differs from the one recorded with the last position"
    found = _first_row(cursor, "SELECT id, source FROM events WHERE row_no = ?", [broken_row])
    broken_id, broken_source = found if found else (None, None)
    return VerifyResult(False, checker.rows_checked, broken_row, broken_id, broken_source, reason)
