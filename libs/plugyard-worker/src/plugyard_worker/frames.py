"""The pipe protocol between host and worker: a 4-byte big-endian length, then a UTF-8 JSON object.

Stdlib only (the worker imports it inside the sandbox). A frame over MAX_FRAME, or one that is not a JSON
object, is a protocol violation: decoding raises FrameError and the stream cannot be trusted after it.
"""

from __future__ import annotations

import os
import struct

from plugyard_worker.jsoncodec import dumps_ascii, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_FRAME = 4 << 20
_HEADER = struct.Struct(">I")
HEADER_SIZE = _HEADER.size


class FrameError(Exception):
    """A frame that breaks the protocol: too large, not UTF-8 JSON, or not an object."""


def encode(message: dict[str, Any]) -> bytes:
    """The frame for `message`; FrameError when it is not JSON or larger than MAX_FRAME."""
    try:
        # ASCII output: lone surrogates in plugin strings cannot make the frame undecodable.
        body = dumps_ascii(message).encode("ascii")
    except (TypeError, ValueError) as exc:
        raise FrameError(f"not JSON: {exc}") from None
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes is over the {MAX_FRAME} byte limit")
    return _HEADER.pack(len(body)) + body


def decode_body(body: bytes | bytearray) -> dict[str, Any]:
    try:
        message = loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"frame is not UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict):
        raise FrameError(f"frame is a JSON {type(message).__name__}, not an object")
    return message


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
