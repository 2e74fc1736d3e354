"""What a worker measures of its own calls: CPU time per call, and for a call past its budget the stack it was
sampled in, reported to the host as `call_report` events (also when the host gave up on the call)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from plugyard_sandbox.spec import SandboxSpec
from plugyard_worker.host import CallTimeout, WorkerCallError, WorkerHandle

from .conftest import Events

SOURCE = """
class Demo(Plugin):
    @action
    def quick(self) -> int:
        return 1

    @action
    def nap(self, seconds: float) -> str:
        time.sleep(seconds)
        return "rested"

    @action
    def spin(self, seconds: float) -> int:
        end, n = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            n += 1
        return n

    @action
    def nap_then_fail(self, seconds: float) -> None:
        time.sleep(seconds)
        raise PluginError("tired", code="tired")
"""


@pytest.fixture
async def launch(make_spec: Callable[..., SandboxSpec], runtime_dir: Path) -> AsyncIterator[Callable[..., Any]]:
    handles: list[WorkerHandle] = []

    async def start(**kwargs: Any) -> WorkerHandle:
        events = Events()
        handle = await WorkerHandle.start(
            make_spec(SOURCE), entry="demo:Demo", sys_path=[str(runtime_dir)], context={"name": "demo"}, on_event=events.append, **kwargs,
        )
        handle.events = events  # type: ignore[attr-defined]
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.kill()
        await handle.exited.wait()


async def reports(worker: WorkerHandle, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        found = worker.events.of("call_report")  # type: ignore[attr-defined]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} call reports expected, got {worker.events.of('call_report')}")  # type: ignore[attr-defined]


async def test_every_call_reports_its_cpu_and_a_fast_one_nothing_slow(launch) -> None:
    worker = await launch(call_budget_ms=1000)
    assert worker.startup_ms is not None and 0 < worker.startup_ms < 15_000
    assert await worker.call("quick", {}, 10) == 1
    assert await worker.call("spin", {"seconds": 0.1}, 10) > 0
    quick, spin = await reports(worker, 2)
    assert quick["action"] == "quick" and quick["pid"] == worker.pid and quick["slow"] is None
    assert spin["action"] == "spin" and spin["slow"] is None
    assert 0 <= quick["cpu_ms"] < spin["cpu_ms"] and spin["cpu_ms"] > 30  # a busy loop of 100 ms spends CPU


async def test_a_call_past_its_budget_reports_the_plugins_sleeping_frame(launch) -> None:
    worker = await launch(call_budget_ms=100)
    assert await worker.call("nap", {"seconds": 0.4}, 10) == "rested"
    [report] = await reports(worker, 1)
    slow = report["slow"]
    assert slow["budget_ms"] == 100 and slow["elapsed_ms"] >= 400 and slow["samples"] >= 3
    assert slow["stack"][-1].endswith(" Demo.nap") and "demo/__init__.py:" in slow["stack"][-1]
    assert not any("run_call" in entry or "pool.py" in entry for entry in slow["stack"])  # the worker's own frames are cut
    assert report["cpu_ms"] < 100  # asleep, not busy


async def test_a_slow_failure_and_a_timed_out_call_are_reported_too(launch) -> None:
    worker = await launch(call_budget_ms=100)
    with pytest.raises(WorkerCallError):
        await worker.call("nap_then_fail", {"seconds": 0.25}, 10)
    with pytest.raises(CallTimeout):
        await worker.call("nap", {"seconds": 0.5}, 0.2)
    failed, late = await reports(worker, 2)
    assert failed["action"] == "nap_then_fail" and failed["slow"]["stack"][-1].endswith(" Demo.nap_then_fail")
    assert late["action"] == "nap" and late["slow"]["elapsed_ms"] >= 500


async def test_no_budget_means_no_sampling(launch) -> None:
    worker = await launch(call_budget_ms=0)
    await worker.call("nap", {"seconds": 0.2}, 10)
    [report] = await reports(worker, 1)
    assert report["slow"] is None and report["cpu_ms"] is not None
