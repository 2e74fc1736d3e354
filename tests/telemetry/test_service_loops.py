"""The telemetry service's background loops: a loop that keeps failing is named by health, one that works is not."""

from __future__ import annotations

import asyncio

from plugyard_core.every import Every


async def run_for(loop: Every, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(loop(None, stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task


async def test_a_loop_that_keeps_failing_is_a_problem_naming_its_error():
    def broken() -> None:
        raise OSError("disk full")

    loop = Every(0.01, broken, "the roll-up", stall_after=0.1)
    await run_for(loop, 0.05)
    assert loop.problem() is None  # not failing for long yet
    await run_for(loop, 0.2)
    assert loop.problem().startswith("the roll-up has not succeeded for") and loop.problem().endswith("disk full")


async def test_a_loop_that_works_is_no_problem():
    ran = []
    loop = Every(0.01, lambda: ran.append(1), "the judge", stall_after=0.05)
    await run_for(loop, 0.2)
    assert ran and loop.problem() is None
