"""The loader's per-worker counters, as the telemetry sample carries them: latency buckets, errors by code, cpu,
slow calls since the previous sample (pure units, no bus and no worker)."""

from __future__ import annotations

from datetime import datetime

import pytest

from plugyard_loader.stats import MAX_ERROR_CODES, OTHER_CODE, CallStats, WorkerStats, latency_bucket
from plugyard_loader.telemetry import BUDGET_ENV, call_budget_ms, worker_sample
from plugyard_schemas.loader import SlowCall
from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS

USAGE = {"cpu_percent": 1.5, "rss_bytes": 10_000_000, "open_files": 5, "threads": 2}


@pytest.mark.parametrize(("elapsed_ms", "bucket"), [
    (0.0, 0), (0.5, 0), (0.5001, 1), (1.0, 1), (2.5, 2), (2.6, 3), (999.9, 10), (1000.0, 10), (1000.1, 11),
    (30000.0, len(LATENCY_BUCKETS_MS) - 1), (30000.1, LATENCY_BUCKET_COUNT - 1), (1e9, LATENCY_BUCKET_COUNT - 1),
])
def test_a_call_counts_in_the_bucket_of_the_first_bound_it_does_not_exceed(elapsed_ms, bucket):
    assert latency_bucket(elapsed_ms) == bucket
    stats = CallStats()
    stats.record("act", elapsed_ms)
    buckets = stats.summary()["act"].latency_buckets
    assert len(buckets) == LATENCY_BUCKET_COUNT and buckets[bucket] == 1 and sum(buckets) == 1


def test_counters_only_grow_and_add_up_to_the_calls():
    stats = CallStats()
    previous = None
    for i, elapsed in enumerate([0.2, 3.0, 3.0, 70.0, 12_000.0, 0.7, 45_000.0]):
        stats.record("act", elapsed, None if i % 3 else "timeout")
        now = stats.summary()["act"]
        assert sum(now.latency_buckets) == now.calls == i + 1
        assert sum(now.errors_by_code.values()) == now.errors
        if previous is not None:
            assert all(a >= b for a, b in zip(now.latency_buckets, previous.latency_buckets))
            assert now.errors >= previous.errors
        previous = now
    assert previous.latency_buckets == [1, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1]
    assert previous.latency_ms_max == 45_000.0 and previous.latency_ms_p50 == 3.0


def test_errors_are_counted_per_code_and_per_action():
    stats = CallStats()
    for code in ["plugin_error", "timeout", "plugin_error", None, "crashed"]:
        stats.record("a", 1.0, code)
    stats.record("b", 1.0, "invalid_arguments")
    summary = stats.summary()
    assert summary["a"].errors_by_code == {"plugin_error": 2, "timeout": 1, "crashed": 1}
    assert summary["a"].errors == 4 and summary["a"].calls == 5
    assert summary["b"].errors_by_code == {"invalid_arguments": 1}
    assert (stats.calls, stats.errors) == (6, 5)


def test_a_plugin_cannot_grow_the_codes_without_end():
    stats = CallStats()
    for i in range(MAX_ERROR_CODES + 10):
        stats.record("a", 1.0, f"code_{i}" + "x" * 500)
    codes = stats.summary()["a"].errors_by_code
    assert len(codes) == MAX_ERROR_CODES + 1 and codes[OTHER_CODE] == 10
    assert max(len(code) for code in codes) <= 64 and sum(codes.values()) == MAX_ERROR_CODES + 10


def test_cpu_is_absent_until_reported_then_adds_up():
    stats = CallStats()
    stats.record("a", 5.0)
    assert stats.summary()["a"].cpu_ms is None
    stats.add_cpu("a", 1.25)
    stats.add_cpu("a", 2.5)
    assert stats.summary()["a"].cpu_ms == 3.75


def slow(action: str, elapsed_ms: float) -> SlowCall:
    return SlowCall(action=action, elapsed_ms=elapsed_ms, budget_ms=100, at="2024-01-01T00:00:00+00:00", stack=["m.py:3 f"], samples=2)


def test_the_sample_carries_the_worker_counters_and_takes_its_slow_calls():
    stats = WorkerStats()
    stats.calls.record("a", 3.0)
    stats.calls.record("a", 300.0, "timeout")
    stats.slow_calls.extend(slow("a", 100.0 + i) for i in range(40))
    sample = worker_sample(
        host="h", name="p", version="1.0.0", pid=42, usage=USAGE, stats=stats,
        spawned_at=1_700_000_000.0, startup_ms=123.4567, egress=(10, 2000),
    )
    assert (sample.calls, sample.errors) == (2, 1)
    assert sample.actions["a"].errors_by_code == {"timeout": 1} and sum(sample.actions["a"].latency_buckets) == 2
    assert datetime.fromisoformat(sample.started_at).timestamp() == 1_700_000_000.0 and sample.started_at.endswith("+00:00")
    assert sample.startup_ms == 123.457 and (sample.net_out_bytes, sample.net_in_bytes) == (10, 2000)
    assert len(sample.slow_calls) == 32 and sample.slow_calls[-1].elapsed_ms == 139.0  # the latest 32 kept
    again = worker_sample(host="h", name="p", version="1.0.0", pid=42, usage=USAGE, stats=stats,
                          spawned_at=1_700_000_000.0, startup_ms=None, egress=None)
    assert again.slow_calls == [] and again.calls == 2  # slow calls go once; counters stay
    assert again.net_out_bytes is None and again.startup_ms is None


def test_the_call_budget_setting(monkeypatch):
    monkeypatch.delenv(BUDGET_ENV, raising=False)
    assert call_budget_ms() == 1000.0
    monkeypatch.setenv(BUDGET_ENV, "250")
    assert call_budget_ms() == 250.0
    for bad in ("soon", "-1", "inf", "nan"):
        monkeypatch.setenv(BUDGET_ENV, bad)
        with pytest.raises(ValueError, match=BUDGET_ENV):
            call_budget_ms()
