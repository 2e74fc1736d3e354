"""A real worker's telemetry sample: counters since it started (latency buckets, errors by code, cpu), its start-up
time, and the stack of a call that ran past PLUGYARD_CALL_BUDGET_MS, found by the worker's own sampler."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugyard_loader.stats import latency_bucket
from plugyard_schemas.loader import InstallReply, InstallRequest, LoadRequest, PluginReply, TelemetrySample
from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT
from tests.loader.conftest import HOST, Stack
from tests.loader.support import publish_verdict, write_plugin
from tests.loader.test_loader_service import until


@pytest.fixture
def loader_env(loader_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGYARD_CALL_BUDGET_MS", "100")


async def test_a_sample_holds_the_workers_counters_start_up_and_slow_calls(stack: Stack, tmp_path: Path) -> None:
    before_load = datetime.now(UTC)
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "greeter"))
    await stack.rpc("install", InstallRequest(requirements=["greeter"]), InstallReply)
    loaded = await stack.rpc("load", LoadRequest(name="greeter"), PluginReply)
    samples: list[TelemetrySample] = []

    async def collect(msg) -> None:
        samples.append(TelemetrySample.model_validate(json.loads(msg.data)))

    sub = await stack.nc.subscribe(f"plugyard.tel.{HOST}.greeter", cb=collect)
    assert "result" in await stack.invoke("greeter", "hello", {"name": "x"})
    assert (await stack.invoke("greeter", "fail"))["error"]["code"] == "on_purpose"
    assert (await stack.invoke("greeter", "sleep", {"seconds": 0.3}))["result"]["slept"] == 0.3
    await until(lambda: [s for s in samples if s.calls == 3], what="a sample after the three calls")
    sample = next(s for s in samples if s.calls == 3)

    assert sample.pid == loaded.plugin.pid and sample.errors == 1
    assert sample.startup_ms is not None and 0 < sample.startup_ms < 15_000
    assert before_load <= datetime.fromisoformat(sample.started_at) <= datetime.fromisoformat(sample.at)
    assert sample.net_out_bytes is None and sample.net_in_bytes is None  # no network declared: no egress proxy

    fail, sleep = sample.actions["fail"], sample.actions["sleep"]
    assert fail.errors_by_code == {"on_purpose": 1} and sleep.errors_by_code == {}
    assert len(sleep.latency_buckets) == LATENCY_BUCKET_COUNT and sum(sleep.latency_buckets) == 1
    assert sleep.latency_buckets.index(1) >= latency_bucket(300)  # slept 0.3 s: no faster bucket
    assert all(a.cpu_ms is not None and a.cpu_ms >= 0 for a in sample.actions.values())

    [slow] = [c for s in samples for c in s.slow_calls if c.action == "sleep"]  # reported once
    assert slow.action == "sleep" and slow.budget_ms == 100 and slow.elapsed_ms >= 300 and slow.samples >= 3
    assert slow.stack[-1].endswith(" Plugin.sleep") and "greeter/__init__.py:" in slow.stack[-1]

    assert (await stack.invoke("greeter", "fail"))["error"]["code"] == "on_purpose"
    await until(lambda: samples[-1].calls == 4, what="a sample after the fourth call")
    later = samples[-1]
    assert later.actions["fail"].errors_by_code == {"on_purpose": 2} and later.slow_calls == []
    for name, stats in sample.actions.items():  # counters of one worker only grow
        assert all(a >= b for a, b in zip(later.actions[name].latency_buckets, stats.latency_buckets))
    await sub.unsubscribe()
