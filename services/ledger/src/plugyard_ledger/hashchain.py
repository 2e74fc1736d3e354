"""The ledger's hash chain: how a row's content is encoded, hashed and linked to the row before it.

`hash = sha256(utf8(prev_hash + encoding))`, the first row's prev_hash being 64 zeros. `encoding` concatenates
the row's content columns in chain order (row_no, stream_seq, nats_subject, id, source, type, subject, time,
data, extensions, recorded_at), each written as `i<decimal>;` (an integer), `s<length>:<text>` (a string;
the length counts Unicode code points) or `~` (NULL). Every field says where it ends, so no two different
rows share an encoding. Timestamps are integers, microseconds since the Unix epoch, which is exactly what
DuckDB's `epoch_us` gives back at verify time whatever the session time zone. JSON columns are hashed as
the text stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

GENESIS_HASH = "0" * 64

# The select list that gives back a stored row's content exactly as it was hashed, plus its links.
CONTENT_SELECT = (
    "row_no, stream_seq, nats_subject, id, source, type, subject, epoch_us(time), "
    "data::VARCHAR, extensions::VARCHAR, epoch_us(recorded_at), prev_hash, hash"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(moment: datetime | None) -> int | None:
    """Microseconds since the Unix epoch; a naive datetime is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_MICROSECOND


def row_hash(prev_hash: str, content: tuple[int | str | None, ...]) -> str:
    """The hash of one row, given the hash before it and its content columns in chain order.

    Raises UnicodeEncodeError for text that has no UTF-8 form (lone surrogates).
    """
    # Spelled out per column rather than looped over: this runs for every row appended and verified.
    row_no, stream_seq, nats_subject, id_, source, type_, subject, time_us, data, extensions, recorded_us = content
    encoded = (
        f"{prev_hash}i{row_no};i{stream_seq};s{len(nats_subject)}:{nats_subject}s{len(id_)}:{id_}"
        f"s{len(source)}:{source}s{len(type_)}:{type_}"
        f"{'~' if subject is None else f's{len(subject)}:{subject}'}"
        f"{'~' if time_us is None else f'i{time_us};'}"
        f"s{len(data)}:{data}s{len(extensions)}:{extensions}i{recorded_us};"
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    row_no: int | None
    id: str | None
    source: str | None
    reason: str


class ChainChecker:
    """Recomputes the chain over rows fed in `row_no` order (as selected by `CONTENT_SELECT`)."""

    def __init__(self) -> None:
        self.rows_checked = 0
        self.last_row_no = 0
        self.last_hash = GENESIS_HASH

    def feed(self, rows: Iterable[tuple[Any, ...]]) -> ChainBreak | None:
        for row in rows:
            content, prev_hash, stored_hash = row[:-2], row[-2], row[-1]
            row_no, row_id, source = content[0], content[3], content[4]
            self.rows_checked += 1
            if prev_hash != self.last_hash:
                return ChainBreak(row_no, row_id, source, "prev_hash does not link")
            if row_no != self.last_row_no + 1:
                return ChainBreak(row_no, row_id, source, f"row_no is not contiguous (expected {self.last_row_no + 1})")
            if row_hash(prev_hash, content) != stored_hash:
                return ChainBreak(row_no, row_id, source, "hash mismatch")
            self.last_row_no = row_no
            self.last_hash = stored_hash
        return None
