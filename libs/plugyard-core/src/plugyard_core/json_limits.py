"""Size and nesting limits checked on a JSON document's raw bytes, before any decoder sees them.

Every JSON decoder this project uses recurses once per level of nesting. A few kilobytes of `[[[[...` make
`json.loads` raise RecursionError, and where a library has raised the recursion limit (py_ecc, imported with
eth_account, sets it to 100,000) they overflow the C stack and kill the process. So whatever JSON comes off the
bus is checked here first, by one linear, non-recursive pass over the bytes.

Legitimate Plugyard messages nest at most about 6 levels (a CloudEvent around a scan report's findings; the
deepest generated schema, InfoReply, is 5); `MAX_DEPTH` leaves ample room for plugin arguments and results,
and stays far below anything that can exhaust a stack. A reply may carry stored documents (a ledger row holding
an event's data) under its own few levels, so `call` allows `REPLY_MAX_DEPTH`.
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Any

# The bus's max_payload (embedded_nats, docker-compose): no request or reply is larger. Events pass the streams'
# smaller max_msg_size (streams.MAX_MESSAGE_BYTES).
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
REPLY_MAX_DEPTH = 2 * MAX_DEPTH

# The scan works on bytes with C-level operations only (replace, translate, split, accumulate). Per MB on this
# machine: 5-8 ms of typical JSON (json.loads: 10-17 ms), 20-30 ms of nothing but brackets (json.loads: 25-160 ms);
# a Python loop over the bytes took 50-75 ms. A 300-byte event: 3 µs.
_KEEP_QUOTES_AND_BRACKETS = bytes(b for b in range(256) if b not in b'"[]{}')
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # read as signed bytes: +1 or -1


class JsonLimitExceeded(ValueError):
    """A JSON document is larger, or nested deeper, than allowed; the message names which limit and by how much."""


def check_json_limits(data: bytes | bytearray | memoryview | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> None:
    """Raise JsonLimitExceeded when `data` is over `max_bytes` or nests arrays/objects deeper than `max_depth`.

    Only the limits are checked: malformed JSON and invalid UTF-8 are left to the decoder, which stops at the
    first error, before any nesting that follows it. Brackets inside strings do not count.
    """
    if len(data) > max_bytes:
        raise JsonLimitExceeded(f"message of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    structure = _structure(data)
    if _openings(structure) <= max_depth:
        return
    depth = _depth(structure)
    if depth > max_depth:
        raise JsonLimitExceeded(f"JSON nested {depth} levels deep, deeper than the {max_depth}-level limit")


def loads_within_limits(
    data: bytes | bytearray | memoryview | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH, **json_options: Any
) -> Any:
    """`json.loads(data)` once `check_json_limits` has passed: how JSON from the bus is decoded. Raises
    JsonLimitExceeded for the limits, another ValueError (UnicodeDecodeError among them) for what is not JSON."""
    check_json_limits(data, max_bytes=max_bytes, max_depth=max_depth)
    return json.loads(data, **json_options)


def nesting_depth(data: bytes | bytearray | memoryview | str) -> int:
    """How deeply the arrays and objects of a JSON document nest (0 for a scalar), without decoding it."""
    return _depth(_structure(data))


def _structure(data: bytes | bytearray | memoryview | str) -> bytes:
    """The document's brackets that lie outside strings, in order."""
    raw = _as_utf8(data)
    # Inside a string a backslash escapes the next character: drop escaped backslashes, then escaped quotes, so
    # that every quote left delimits a string. (A backslash outside a string is a syntax error at that point.)
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _KEEP_QUOTES_AND_BRACKETS)
    if b'"' in structure:
        # Removing two adjacent quotes keeps the parity of every quote after them: strings without brackets
        # vanish in one C-level pass; splitting on the quotes left keeps what lies outside the other strings.
        structure = structure.replace(b'""', b"")
        if b'"' in structure:
            structure = b"".join(structure.split(b'"')[::2])
    return structure


def _openings(structure: bytes) -> int:
    return structure.count(b"[") + structure.count(b"{")


def _depth(structure: bytes) -> int:
    if not _openings(structure):
        return 0
    return max(0, max(accumulate(memoryview(structure.translate(_BRACKET_STEPS)).cast("b"))))


def _as_utf8(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    raw = bytes(data)
    # json.loads also reads UTF-16 and UTF-32, where the structural characters are not single bytes.
    encoding = json.detect_encoding(raw)
    if encoding.startswith("utf-8"):
        return raw
    try:
        return raw.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # json.loads refuses it at once; a decoder that reads only UTF-8 reads these bytes
        return raw
