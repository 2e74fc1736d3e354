"""The judge (regressions, alerts), the views (`top`, `show`), recommendations and /metrics over a fed warehouse."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from plugyard_schemas.telemetry import ShowRequest, TopRequest
from plugyard_telemetry import views
from plugyard_telemetry.alert_rules import load_rules
from plugyard_telemetry.judge import Judge, JudgeSettings
from plugyard_telemetry.metrics import WarehouseCollector
from plugyard_telemetry.recommendations import recommendations
from tests.telemetry.support import T0, Feed, application, sample_body

SLOW_MS = 50.0


@pytest.fixture
def feed(tmp_path):
    f = Feed(tmp_path / "warehouse")
    yield f
    f.close()


@pytest.fixture
def app(tmp_path):
    return application(tmp_path)


def serve(feed: Feed, version: str, pid: int, start, calls: int, extra_ms: float = 0.0, seconds: int = 30, **body) -> None:
    """`calls` calls of `version` spread over `seconds` samples, one a second, latencies around 1 ms (+ extra)."""
    rng = random.Random(pid)
    latencies: list[float] = []
    for second in range(1, seconds + 1):
        latencies += [rng.uniform(0.6, 1.8) + extra_ms for _ in range(calls // seconds)]
        feed.sample(sample_body(version=version, pid=pid, at=start + timedelta(seconds=second), latencies={"hello": list(latencies)}, **body))


def open_alerts(app) -> dict[str, str]:
    return {a.rule: a.state for a in app.alerts.values()}


def test_a_slower_version_is_a_regression_with_its_numbers_and_an_alert_that_rolling_back_resolves(feed, app):
    judge = Judge(feed.warehouse, app, load_rules(), JudgeSettings(min_calls=100))
    feed.loaded("demo", "1.0.0", at=T0)
    serve(feed, "1.0.0", 100, T0, 300)
    switch = T0 + timedelta(seconds=40)
    feed.reloaded("demo", "2.0.0", "1.0.0", at=switch)
    serve(feed, "2.0.0", 200, switch, 300, extra_ms=SLOW_MS)
    judge.run_once(now=switch + timedelta(seconds=31))

    [verdict] = app.verdicts.values()
    assert verdict.event == "RegressionDetected"
    data = verdict.data
    assert (data["name"], data["version"], data["previous_version"], data["action"]) == ("demo", "2.0.0", "1.0.0", "hello")
    assert data["calls_before"] == 300 and data["calls_after"] == 300
    assert data["p50_ms_after"] > 40 > 5 > data["p50_ms_before"]
    assert data["latency_p_value"] < 1e-6 and data["latency_effect"] > 0.9
    assert any("p99" in reason for reason in data["reasons"])
    assert open_alerts(app) == {"version-regressed": "open"}

    judge.run_once(now=switch + timedelta(seconds=45))  # decided once, raised once
    assert len(app.verdicts) == 1 and len(app.alerts) == 1

    back = switch + timedelta(seconds=40)
    feed.reloaded("demo", "1.0.0", "2.0.0", at=back, pid=300)
    serve(feed, "1.0.0", 300, back, 300)
    judge.run_once(now=back + timedelta(seconds=31))
    assert open_alerts(app) == {"version-regressed": "resolved"}
    [rolled_back] = [v for v in app.verdicts.values() if v.data["version"] == "1.0.0"]
    assert rolled_back.event == "NoRegression"


def test_the_same_version_again_is_no_regression(feed, app):
    judge = Judge(feed.warehouse, app, load_rules(), JudgeSettings(min_calls=100))
    feed.loaded("demo", "1.0.0")
    serve(feed, "1.0.0", 100, T0, 300)
    switch = T0 + timedelta(seconds=40)
    feed.reloaded("demo", "1.0.1", "1.0.0", at=switch)
    serve(feed, "1.0.1", 200, switch, 90)
    judge.run_once(now=switch + timedelta(seconds=31))
    assert not app.verdicts  # 90 calls: not enough yet
    serve(feed, "1.0.1", 200, switch + timedelta(seconds=30), 300)
    judge.run_once(now=switch + timedelta(seconds=61))
    assert [v.event for v in app.verdicts.values()] == ["NoRegression"]
    assert not app.alerts


def test_a_worker_that_keeps_growing_gets_a_leak_alert(feed, app):
    judge = Judge(feed.warehouse, app, load_rules())
    feed.loaded("demo", "1.0.0")
    for second in range(0, 600, 5):
        feed.sample(sample_body(at=T0 + timedelta(seconds=second), rss=50_000_000 + 1_000_000 * second, latencies={"hello": [1.0]}))
    judge.run_once(now=T0 + timedelta(seconds=600))
    [alert] = app.alerts.values()
    assert alert.rule == "memory-leak" and alert.state == "open"
    assert 0.9e6 < alert.value < 1.1e6


def test_a_cache_that_fills_once_is_not_a_leak(feed, app):
    judge = Judge(feed.warehouse, app, load_rules())
    feed.loaded("demo", "1.0.0")
    for second in range(0, 600, 5):
        rss = 50_000_000 + (200_000_000 if second >= 300 else 0)
        feed.sample(sample_body(at=T0 + timedelta(seconds=second), rss=rss, latencies={"hello": [1.0]}))
    judge.run_once(now=T0 + timedelta(seconds=600))
    assert not app.alerts


def test_an_error_rate_alert_waits_for_its_duration_and_resolves_below_the_clearing_threshold(feed, app):
    judge = Judge(feed.warehouse, app, load_rules(), JudgeSettings(window_s=10))
    feed.loaded("demo", "1.0.0")
    calls, errors = [], 0
    for second in range(1, 200):
        failing = 30 <= second < 130
        calls += [1.0] * 10
        errors += 3 if failing else 0
        feed.sample(sample_body(at=T0 + timedelta(seconds=second), latencies={"hello": list(calls)}, errors={"hello": {"plugin_error": errors}}))
        judge.run_once(now=T0 + timedelta(seconds=second))
        state = open_alerts(app).get("error-rate")
        if second < 85:  # failing from 30 s, raised only after 60 s of it
            assert state is None, second
    assert open_alerts(app) == {"error-rate": "resolved"}
    [alert] = app.alerts.values()
    assert alert.value == pytest.approx(0.3)


def test_top_and_show_read_percentiles_off_summed_buckets(feed):
    feed.loaded("demo", "1.0.0")
    feed.loaded("demo", "1.0.0", host="h2")
    serve(feed, "1.0.0", 100, T0, 300)
    feed.sample(sample_body(host="h2", pid=7, at=T0 + timedelta(seconds=30), latencies={"hello": [200.0] * 100}))
    now = T0 + timedelta(seconds=31)
    top = views.top(feed.warehouse, TopRequest(window_s=60), now=now)
    rows = {(r.host, r.name): r for r in top.rows}
    assert rows[("h1", "demo")].calls == 300 and rows[("h1", "demo")].state == "running"
    assert rows[("h1", "demo")].p99_ms < 2.5 and rows[("h2", "demo")].p50_ms > 100
    assert rows[("h1", "demo")].calls_per_s == 5.0

    shown = views.show(feed.warehouse, ShowRequest(name="demo", since_s=60, by="host"), now=now)
    assert shown.resolution == "raw"
    groups = {g.key["host"]: g for g in shown.groups}
    assert groups["h1"].calls == 300 and groups["h2"].calls == 100
    assert sum(v or 0 for v in groups["h1"].series["calls"]) == 300
    whole = views.show(feed.warehouse, ShowRequest(name="demo", since_s=60), now=now)
    # 300 fast calls and 100 at 200 ms: the p90 sits among the slow ones, which a mean of the hosts' p90s would miss
    assert whole.groups[0].calls == 400 and whole.groups[0].p90_ms > 100
    assert [m.event for m in whole.marks] == ["PluginLoaded", "PluginLoaded"]


@pytest.mark.parametrize(("since_s", "points", "resolution"), [
    (30 * 86400, 30, "day"), (30 * 86400, 200, "hour"), (86400, 30, "minute"), (3600, 30, "minute"), (600, 30, "raw"),
])
def test_show_reads_the_coarsest_table_a_step_allows(feed, since_s, points, resolution):
    feed.loaded("demo", "1.0.0")
    serve(feed, "1.0.0", 100, T0, 300)
    feed.warehouse.roll_up("telemetry-samples", now=T0)
    shown = views.show(feed.warehouse, ShowRequest(name="demo", since_s=since_s, points=points), now=T0 + timedelta(seconds=40))
    assert shown.resolution == resolution and shown.groups[0].calls == 300
    assert sum(v or 0 for v in shown.groups[0].series["calls"]) == 300


def test_show_counts_what_the_roll_up_has_not_folded_in_yet_once(feed):
    feed.loaded("demo", "1.0.0")
    for s in range(1, 21):
        feed.sample(sample_body(at=T0 + timedelta(seconds=s), latencies={"hello": [1.0] * (10 * s)}))
        if s == 15:
            feed.warehouse.roll_up("telemetry-samples", now=T0)  # 150 calls folded into minutes, 50 not yet
    shown = views.show(feed.warehouse, ShowRequest(name="demo", since_s=3600), now=T0 + timedelta(minutes=1))
    assert shown.resolution == "minute" and shown.groups[0].calls == 200


def test_recommendations_name_their_evidence(feed, app):
    feed.loaded("demo", "1.0.0")
    slow = {"action": "hello", "elapsed_ms": 2500.0, "budget_ms": 1000.0, "at": T0.isoformat(), "stack": ["plugin.py:10 hello", "plugin.py:20 crunch"], "samples": 40}
    feed.sample(sample_body(at=T0, latencies={"hello": [2500.0] * 30}, slow_calls=[slow], rss=990_000_000, memory_limit_bytes=1_000_000_000))
    found = {r.kind: r for r in recommendations(feed.warehouse, app, load_rules(), "demo", now=T0 + timedelta(minutes=1)).recommendations}
    assert found["slow-action"].threshold == 1000.0 and found["slow-action"].value > 1000
    assert "plugin.py:20 crunch" in found["slow-action"].advice
    assert found["memory-near-limit"].value == pytest.approx(0.99)
    assert recommendations(feed.warehouse, app, load_rules(), "other", now=T0).recommendations == []


def test_metrics_expose_per_plugin_version_host_series(feed, app):
    feed.loaded("demo", "1.0.0")
    serve(feed, "1.0.0", 100, T0, 300)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector(feed.warehouse, app.open_alerts))
    text = generate_latest(registry).decode()
    assert 'plugyard_plugin_calls_total{action="hello",host="h1",plugin="demo",version="1.0.0"} 300.0' in text
    assert 'plugyard_plugin_latency_ms_bucket{action="hello",host="h1",le="+Inf",plugin="demo",version="1.0.0"} 300.0' in text
    feed.warehouse.roll_up("telemetry-samples", now=T0)
    assert 'version="1.0.0"} 300.0' in generate_latest(registry).decode()  # rolled-up rows are not counted twice


def test_metrics_gauges_are_each_running_workers_latest_sample_and_skip_quiet_ones(feed, app):
    now = T0 + timedelta(hours=1)
    feed.loaded("demo", "1.0.0")
    feed.loaded("quiet", "1.0.0")
    feed.sample(sample_body(at=now - timedelta(minutes=1), rss=70_000_000, cpu=3.0))
    feed.sample(sample_body(at=now - timedelta(seconds=5), rss=80_000_000, cpu=4.5))
    feed.sample(sample_body(name="quiet", at=now - timedelta(minutes=30), rss=90_000_000))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector(feed.warehouse, app.open_alerts, now=lambda: now))
    text = generate_latest(registry).decode()
    assert 'plugyard_plugin_rss_bytes{host="h1",plugin="demo",version="1.0.0"} 8e+07' in text
    assert 'plugyard_plugin_cpu_percent{host="h1",plugin="demo",version="1.0.0"} 4.5' in text
    assert 'plugin="quiet"' not in text.split("plugyard_plugin_rss_bytes", 1)[1].split("plugyard_plugin_restarts", 1)[0]


def test_workers_that_each_die_after_about_the_same_calls_are_named(feed, app):
    feed.loaded("demo", "1.0.0")
    for n, pid in enumerate((11, 12, 13, 14)):
        start = T0 + timedelta(minutes=n)
        calls = 100 + n if pid != 14 else 7  # 14 is the worker running now
        feed.sample(sample_body(pid=pid, at=start + timedelta(seconds=5), latencies={"hello": [1.0] * calls}))
        if pid != 14:
            feed.loader_event("PluginCrashed", "demo", "1.0.0", at=start + timedelta(seconds=6), returncode=-11, reason="SIGSEGV",
                              restarts=n + 1, next_start_in_s=0.5)
    found = {r.kind: r for r in recommendations(feed.warehouse, app, load_rules(), "demo", now=T0 + timedelta(minutes=5)).recommendations}
    advice = found["crash-after-calls"]
    assert advice.value == 101 and advice.evidence["calls_per_worker"] == [100, 101, 102] and advice.evidence["crashes"] == 3
    assert "after about 101 calls" in advice.advice


def test_workers_dying_at_scattered_call_counts_are_not_called_a_pattern(feed, app):
    feed.loaded("demo", "1.0.0")
    for n, (pid, calls) in enumerate(((11, 10), (12, 300), (13, 90), (14, 1))):
        start = T0 + timedelta(minutes=n)
        feed.sample(sample_body(pid=pid, at=start + timedelta(seconds=5), latencies={"hello": [1.0] * calls}))
        feed.loader_event("PluginCrashed", "demo", "1.0.0", at=start + timedelta(seconds=6), returncode=1, reason="exit", restarts=n + 1,
                          next_start_in_s=0.5)
    kinds = {r.kind for r in recommendations(feed.warehouse, app, load_rules(), "demo", now=T0 + timedelta(minutes=5)).recommendations}
    assert "crash-after-calls" not in kinds


def test_the_per_plugin_and_per_host_roll_ups_agree(feed):
    feed.loaded("demo", "1.0.0")
    feed.loaded("demo", "1.0.0", host="h2")
    serve(feed, "1.0.0", 100, T0, 300)
    feed.sample(sample_body(host="h2", pid=7, at=T0 + timedelta(seconds=30), latencies={"hello": [200.0] * 100, "bye": [3.0] * 50},
                            errors={"hello": {"boom": 4}}))
    feed.warehouse.roll_up("telemetry-samples", now=T0)
    now = T0 + timedelta(minutes=1)
    whole = views.show(feed.warehouse, ShowRequest(name="demo", since_s=3600), now=now)  # per plugin
    by_host = views.show(feed.warehouse, ShowRequest(name="demo", since_s=3600, by="host"), now=now)
    by_action = views.show(feed.warehouse, ShowRequest(name="demo", since_s=3600, by="action"), now=now)
    assert whole.resolution == by_host.resolution == "minute"
    [group] = whole.groups
    assert group.calls == 450 == sum(g.calls for g in by_host.groups) == sum(g.calls for g in by_action.groups)
    assert group.errors_by_code == {"boom": 4} and group.rss_bytes_max == max(g.rss_bytes_max for g in by_host.groups)
    assert group.p99_ms > 100  # off the summed buckets of both hosts
