"""plugyard_core.every.Every: a round every `seconds`, or at once when woken."""

from __future__ import annotations

import asyncio
import time

from plugyard_core.every import Every


async def test_a_woken_loop_runs_its_next_round_at_once_instead_of_after_its_wait():
    rounds: list[float] = []
    loop = Every(60.0, lambda: rounds.append(time.monotonic()), "counting", stall_after=120.0)
    stop = asyncio.Event()
    task = asyncio.create_task(loop(None, stop))
    while not rounds:
        await asyncio.sleep(0.01)
    loop.wake()
    deadline = time.monotonic() + 5
    while len(rounds) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(rounds) == 2 and rounds[1] - rounds[0] < 5  # not the 60 s wait


async def test_a_failing_round_is_retried_and_named_once_it_has_stalled():
    def fail() -> None:
        raise RuntimeError("node away")

    loop = Every(0.01, fail, "mirroring the chain", stall_after=0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(loop(None, stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert loop.error == "node away" and "mirroring the chain has not succeeded" in loop.problem()
