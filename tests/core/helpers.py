"""Helpers shared by the core tests: read the events stream, wait for a condition."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from plugyard_core.streams import EVENTS_STREAM, EVENTS_SUBJECTS


async def stream_messages(js: JetStreamContext, subject: str = EVENTS_SUBJECTS, expected: int | None = None) -> list[Msg]:
    """Every message on `subject` in PLUGYARD_EVENTS, read through a throwaway consumer."""
    info = await js.stream_info(EVENTS_STREAM)
    count = expected if expected is not None else info.state.messages
    sub = await js.pull_subscribe(
        subject,
        stream=EVENTS_STREAM,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=5.0),
    )
    msgs: list[Msg] = []
    try:
        while len(msgs) < count:
            try:
                msgs.extend(await sub.fetch(min(1000, count - len(msgs)), timeout=1.0))
            except asyncio.TimeoutError:
                break
    finally:
        await sub.unsubscribe()
    return msgs


async def eventually(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until `condition()` (a value or an awaitable) is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def stream_count(js: JetStreamContext) -> int:
    return (await js.stream_info(EVENTS_STREAM)).state.messages
