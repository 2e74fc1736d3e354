"""The frame codec both sides use: length-prefixed JSON objects, 4 MiB at most."""

from __future__ import annotations

import os
import struct

import pytest

from plugyard_worker.frames import MAX_FRAME, FrameDecoder, FrameError, encode, read_frame, write_all


def test_round_trip_in_pieces() -> None:
    data = encode({"op": "log", "message": "héllo \udc80"}) + encode({"op": "result", "id": 1, "ok": True, "result": [1, 2]})
    decoder = FrameDecoder()
    messages = []
    for i in range(len(data)):
        messages += decoder.feed(data[i : i + 1])
    assert messages == [{"op": "log", "message": "héllo \udc80"}, {"op": "result", "id": 1, "ok": True, "result": [1, 2]}]
    assert decoder.pending == 0


def test_oversize_announced_frame_is_rejected_before_its_body() -> None:
    with pytest.raises(FrameError, match="over the"):
        FrameDecoder().feed(struct.pack(">I", MAX_FRAME + 1))


def test_encode_refuses_oversize_and_non_json() -> None:
    with pytest.raises(FrameError, match="over the"):
        encode({"blob": "x" * MAX_FRAME})
    with pytest.raises(FrameError, match="not JSON"):
        encode({"value": float("nan")})
    with pytest.raises(FrameError, match="not JSON"):
        encode({"value": object()})


@pytest.mark.parametrize("body", [b"[1, 2]", b"\xff\xfe", b"{not json"])
def test_garbage_frames_are_rejected(body: bytes) -> None:
    with pytest.raises(FrameError):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)


def test_blocking_reader() -> None:
    read, write = os.pipe()
    try:
        write_all(write, encode({"op": "stop"}) + b"\x00\x00")
        os.close(write)
        assert read_frame(read) == {"op": "stop"}
        with pytest.raises(FrameError, match="ended inside"):
            read_frame(read)
    finally:
        os.close(read)


def test_blocking_reader_end_of_stream() -> None:
    read, write = os.pipe()
    os.close(write)
    try:
        assert read_frame(read) is None
    finally:
        os.close(read)
