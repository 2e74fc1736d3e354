"""Immutable Parquet segments of the events table, written with pyarrow (DuckDB itself may not touch files).

A segment holds rows `first..last` in `row_no` order and is named `events-<first:012d>-<last:012d>.parquet`.
It is written to a hidden temporary name, fsynced, and renamed into place, so a reader globbing
`*.parquet` sees whole files only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SEGMENT_GLOB = "events-*.parquet"
_SEGMENT_NAME = re.compile(r"^events-(\d{12})-(\d{12})\.parquet$")
_TEMP_PREFIX = ".writing-"

JSON_COLUMNS = ("data", "extensions")
TIMESTAMP_COLUMNS = ("time", "recorded_at")


def segment_name(first_row_no: int, last_row_no: int) -> str:
    return f"events-{first_row_no:012d}-{last_row_no:012d}.parquet"


def segment_range(path: Path) -> tuple[int, int] | None:
    match = _SEGMENT_NAME.match(path.name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _portable(table: pa.Table) -> pa.Table:
    """Fix what would otherwise vary between runs: JSON columns typed as JSON, timestamps in UTC, one chunk
    per column (so the same rows always make the same file)."""
    fields = []
    for field in table.schema:
        if field.name in JSON_COLUMNS:
            field = field.with_type(pa.json_(pa.string()))
        elif field.name in TIMESTAMP_COLUMNS:
            field = field.with_type(pa.timestamp("us", tz="UTC"))
        fields.append(field)
    return table.cast(pa.schema(fields)).combine_chunks()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_segment(directory: Path, first_row_no: int, last_row_no: int, rows: pa.Table) -> Path:
    """Write rows `first..last` as a segment; the same rows always give the same file."""
    expected = last_row_no - first_row_no + 1
    if rows.num_rows != expected:
        raise ValueError(f"segment {first_row_no}..{last_row_no} needs {expected} rows, got {rows.num_rows}")
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / segment_name(first_row_no, last_row_no)
    temp = directory / f"{_TEMP_PREFIX}{final.name}"
    pq.write_table(_portable(rows), temp, compression="zstd", row_group_size=100_000)
    with open(temp, "rb+") as written:
        os.fsync(written.fileno())
    os.replace(temp, final)
    _fsync_directory(directory)
    return final


def remove_unrecorded(directory: Path, high_water: int) -> list[Path]:
    """Delete segment files beyond the recorded high-water mark, and leftover temporary files.

    Such files were written by an export that crashed before recording them; nothing refers to them, and
    the next export may cut its range differently, so keeping them would show readers rows twice.
    """
    removed = []
    if not directory.is_dir():
        return removed
    for path in directory.iterdir():
        span = segment_range(path)
        if path.name.startswith(_TEMP_PREFIX) or (span is not None and span[0] > high_water):
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        _fsync_directory(directory)
    return removed
