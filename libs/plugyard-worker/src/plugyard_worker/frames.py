"""The pipe protocol between host and worker: a 4-byte big-endian length, then a UTF-8 JSON object.

Stdlib only (the worker imports it inside the sandbox). A frame over MAX_FRAME, nested deeper than
MAX_FRAME_DEPTH, or one that is not a JSON object, is a protocol violation: decoding raises FrameError and the
stream cannot be trusted after it. The depth is checked on the bytes before any decoder sees them: the plugin can
write to the event pipe itself, and in the loader host (where py_ecc has raised the recursion limit to 100,000)
decoding a deeply nested frame overflows the C stack and kills the host. Encoding refuses the same frames, so a
worker reports a result nested too deeply as the call's error instead of sending what the host would refuse.
"""

from __future__ import annotations

import os
import struct

from plugyard_worker.jsoncodec import dumps_ascii, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_FRAME = 4 << 20
# A frame nests its payload one level down, as the loader's reply does ({"result": ...}): this is
# plugyard_core.json_limits.REPLY_MAX_DEPTH, the deepest reply any caller accepts (a test keeps them equal).
MAX_FRAME_DEPTH = 128
_HEADER = struct.Struct(">I")
HEADER_SIZE = _HEADER.size
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # read as signed bytes: +1 or -1


class FrameError(Exception):
    """A frame that breaks the protocol: too large, not UTF-8 JSON, or not an object."""


def encode(message: dict[str, Any]) -> bytes:
    """The frame for `message`; FrameError when it is not JSON, larger than MAX_FRAME or deeper than MAX_FRAME_DEPTH."""
    try:
        # ASCII output: lone surrogates in plugin strings cannot make the frame undecodable.
        body = dumps_ascii(message).encode("ascii")
    except (TypeError, ValueError, RecursionError) as exc:  # a result nested past the interpreter's recursion limit
        raise FrameError(f"not JSON: {exc}") from None
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes is over the {MAX_FRAME} byte limit")
    too_deep = depth_problem(body)
    if too_deep:
        raise FrameError(too_deep)
    return _HEADER.pack(len(body)) + body


def decode_body(body: bytes | bytearray) -> dict[str, Any]:
    too_deep = depth_problem(body)
    if too_deep:
        raise FrameError(f"frame refused: {too_deep}")
    try:
        message = loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"frame is not UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict):
        raise FrameError(f"frame is a JSON {type(message).__name__}, not an object")
    return message


def depth_problem(body: bytes | bytearray, max_depth: int = MAX_FRAME_DEPTH) -> str | None:
    """What is wrong when the JSON in `body` nests arrays/objects deeper than `max_depth`, else None.

    plugyard_core.json_limits' scan (one linear pass of C-level byte operations, no recursion), which the worker
    cannot import: its runtime is the stdlib, plugyard_sdk, plugyard_worker and plugyard_sandbox. Only UTF-8 is
    read (decode_body refuses anything else), where the structural characters are the bytes themselves.
    """
    if body.count(b"[") + body.count(b"{") <= max_depth:  # every frame a worker sends in practice stops here
        return None
    depth = nesting_depth(body)
    if depth > max_depth:
        return f"JSON nested {depth} levels deep, deeper than the {max_depth}-level limit"
    return None


def nesting_depth(body: bytes | bytearray) -> int:
    """How deeply the arrays and objects of the UTF-8 JSON in `body` nest (0 for a scalar), without decoding it."""
    raw = bytes(body)
    # Inside a string a backslash escapes the next character: drop escaped backslashes, then escaped quotes, so
    # that every quote left delimits a string.
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE)
    if b'"' in structure:
        # Removing two adjacent quotes keeps the parity of every quote after them: strings without brackets
        # vanish in one pass; splitting on the quotes left keeps what lies outside the other strings.
        structure = structure.replace(b'""', b"")
        if b'"' in structure:
            structure = b"".join(structure.split(b'"')[::2])
    if not structure:
        return 0
    from itertools import accumulate  # a built-in module, and only frames with many brackets come here

    return max(0, max(accumulate(memoryview(structure.translate(_BRACKET_STEPS)).cast("b"))))


class FrameDecoder:
    """Incremental decoding of a byte stream into messages (the host's side of the event pipe)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The complete messages `data` finishes; FrameError on a violation (checked as soon as a header arrives)."""
        self._buffer += data
        messages = []
        while len(self._buffer) >= HEADER_SIZE:
            (length,) = _HEADER.unpack_from(self._buffer)
            if length > self._max:
                raise FrameError(f"frame of {length} bytes announced, over the {self._max} byte limit")
            end = HEADER_SIZE + length
            if len(self._buffer) < end:
                break
            body = self._buffer[HEADER_SIZE:end]
            del self._buffer[:end]
            messages.append(decode_body(body))
        return messages

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame (non-zero at end of stream means a truncated frame)."""
        return len(self._buffer)


def read_frame(fd: int, max_frame: int = MAX_FRAME) -> dict[str, Any] | None:
    """Blocking read of one message from `fd` (the worker's side of the command pipe); None at end of stream."""
    header = _read_exactly(fd, HEADER_SIZE)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > max_frame:
        raise FrameError(f"frame of {length} bytes announced, over the {max_frame} byte limit")
    body = _read_exactly(fd, length)
    if body is None:
        raise FrameError("stream ended inside a frame")
    return decode_body(body)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            if remaining == size and size:
                return None
            raise FrameError("stream ended inside a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
