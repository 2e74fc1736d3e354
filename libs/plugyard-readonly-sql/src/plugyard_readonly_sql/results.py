"""A query's answer as plain JSON values."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list]
    truncated: bool = False


def json_ready(value: Any, *, parse_json: bool = False) -> Any:
    """`value` (as DuckDB's Python client returns it) as what `json.dumps` takes: decimals as text, times in
    ISO 8601, intervals in seconds, blobs in base64, NaN and infinities as text. With `parse_json`, text
    that is JSON (a JSON column's value) comes back parsed."""
    if parse_json and isinstance(value, str):
        try:
            return json_ready(json.loads(value))
        except ValueError:
            return value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return str(value)
