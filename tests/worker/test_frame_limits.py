"""Frames nested too deeply: the host refuses one before decoding it (the plugin can write to the event pipe itself,
and where py_ecc has raised the recursion limit to 100,000 decoding it overflowed the C stack and killed the loader
with SIGSEGV); a worker reports a result nested too deeply as the call's error and goes on."""

from __future__ import annotations

import asyncio
import json
import struct
import sys
from pathlib import Path

import eth_account  # noqa: F401 - imports py_ecc, which raises the recursion limit as in the loader host
import pytest
from hypothesis import given, strategies as st

from plugyard_core.json_limits import REPLY_MAX_DEPTH, nesting_depth as core_nesting_depth
from plugyard_worker.frames import MAX_FRAME, MAX_FRAME_DEPTH, FrameDecoder, FrameError, decode_body, encode, nesting_depth
from plugyard_worker.host import WorkerCallError, WorkerGone

DEEP_LEVELS = 1_000_000


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def nested(levels: int) -> bytes:
    """A log frame whose message is `levels` lists deep: the frame is levels + 1 deep."""
    return b'{"op":"log","level":"INFO","logger":"x","message":' + b"[" * levels + b"]" * levels + b"}"


def test_the_frame_limit_is_the_reply_limit() -> None:
    # A frame carries a result one level down, as the loader's reply {"result": ...} does.
    assert MAX_FRAME_DEPTH == REPLY_MAX_DEPTH


def test_a_deep_frame_is_refused_before_decoding_in_a_process_like_the_host() -> None:
    assert sys.getrecursionlimit() >= 100_000  # what made json.loads overflow the C stack
    body = nested(DEEP_LEVELS)
    assert len(body) < MAX_FRAME
    with pytest.raises(FrameError) as refused:
        FrameDecoder().feed(frame(body))
    assert str(refused.value) == f"frame refused: JSON nested {DEEP_LEVELS + 1} levels deep, deeper than the {MAX_FRAME_DEPTH}-level limit"


def test_the_limit_itself_passes_and_one_more_level_is_refused() -> None:
    at_limit = nested(MAX_FRAME_DEPTH - 1)
    assert FrameDecoder().feed(frame(at_limit))[0]["message"] == json.loads(at_limit)["message"]
    with pytest.raises(FrameError, match=f"JSON nested {MAX_FRAME_DEPTH + 1} levels deep"):
        decode_body(nested(MAX_FRAME_DEPTH))


def test_brackets_inside_strings_do_not_count() -> None:
    message = {"op": "log", "message": "[" * 10_000 + '\\"{' * 500 + "\\", "more": ['"]]]', "\\\\[[["]}
    body = encode(message)[4:]
    assert nesting_depth(body) == 2
    assert decode_body(body) == message


def test_encode_refuses_what_the_host_would_refuse() -> None:
    deep: object = 1
    for _ in range(MAX_FRAME_DEPTH):
        deep = [deep]
    with pytest.raises(FrameError, match=f"JSON nested {MAX_FRAME_DEPTH + 1} levels deep, deeper than the {MAX_FRAME_DEPTH}-level limit"):
        encode({"op": "result", "id": 1, "ok": True, "result": deep})
    assert decode_body(encode({"op": "result", "id": 1, "ok": True, "result": deep[0]})[4:])["ok"] is True


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ aé\n\u2028'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\ k', max_size=5), inner, max_size=4),
    max_leaves=40,
)


@given(json_values, st.booleans())
def test_the_depth_is_json_limits_depth(value: object, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(body) == core_nesting_depth(body)


# --- through a real worker -------------------------------------------------------------------------------------------

PLUGIN = f"""
DEEP_LEVELS = {DEEP_LEVELS}

class Demo(Plugin):
    @action
    def echo(self, text: str) -> str:
        return text

    @action
    def nested(self, levels: int) -> list:
        value = []
        for _ in range(levels - 1):
            value = [value]
        return value

    @action
    def deep_frame(self) -> None:
        body = (b'{{"op":"log","level":"INFO","logger":"x","message":' + b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS + b"}}")
        view = memoryview(len(body).to_bytes(4, "big") + body)
        fd = int(sys.argv[3])  # the event pipe, written by the plugin itself
        while view:
            view = view[os.write(fd, view):]
        time.sleep(5)
"""


async def test_a_worker_writing_a_deep_frame_is_killed_and_the_host_goes_on(start) -> None:
    assert sys.getrecursionlimit() >= 100_000
    worker = await start(PLUGIN)
    with pytest.raises(WorkerGone):
        await worker.call("deep_frame", {}, timeout=20)
    await asyncio.wait_for(worker.exited.wait(), 5)
    [error] = worker.events.of("protocol_error")
    assert error["message"] == f"frame refused: JSON nested {DEEP_LEVELS + 1} levels deep, deeper than the {MAX_FRAME_DEPTH}-level limit"
    assert worker.returncode == -9

    another = await start(PLUGIN)  # the host process is alive and starts workers as before
    assert await another.call("echo", {"text": "still here"}, timeout=5) == "still here"


async def test_a_result_nested_too_deeply_is_the_calls_error_and_the_worker_goes_on(start) -> None:
    worker = await start(PLUGIN)
    deepest = MAX_FRAME_DEPTH - 1  # the frame (and the loader's reply) nests it one level further
    result = await worker.call("nested", {"levels": deepest}, timeout=5)
    assert json.dumps(result).count("[") == deepest
    with pytest.raises(WorkerCallError) as refused:
        await worker.call("nested", {"levels": 500}, timeout=5)
    assert refused.value.code == "invalid_result"
    assert refused.value.message == f"nested: JSON nested 501 levels deep, deeper than the {MAX_FRAME_DEPTH}-level limit"
    assert await worker.call("echo", {"text": "after"}, timeout=5) == "after"
    assert worker.returncode is None and not worker.events.of("protocol_error")


async def test_a_result_nested_past_the_recursion_limit_is_answered_and_the_worker_goes_on(start) -> None:
    worker = await start(PLUGIN)
    with pytest.raises(WorkerCallError) as refused:
        await worker.call("nested", {"levels": 5000}, timeout=10)  # the worker's encoder meets its recursion limit
    assert refused.value.code == "invalid_result" and "recursion" in refused.value.message
    assert await worker.call("echo", {"text": "after"}, timeout=5) == "after"
