"""Samples and loader events into the telemetry warehouse: deltas, resets, rejections, roll-ups, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugyard_telemetry.trackers import UnreportedPlugin
from plugyard_telemetry.warehouse import Retention, TelemetryWarehouse
from tests.telemetry.support import T0, Feed, sample_body


@pytest.fixture
def feed(tmp_path):
    f = Feed(tmp_path)
    yield f
    f.close()


def totals(warehouse: TelemetryWarehouse, table: str = "action_samples") -> tuple[int, int]:
    return warehouse.read(f"SELECT coalesce(sum(calls), 0), coalesce(sum(errors), 0) FROM {table}")[0]


def test_cumulative_counters_become_calls_since_the_previous_sample(feed):
    feed.loaded("demo", "1.0.0")
    assert not feed.sample(sample_body(latencies={"hello": [1.0] * 10}))
    assert not feed.sample(sample_body(at=T0 + timedelta(seconds=5), latencies={"hello": [1.0] * 25}, errors={"hello": {"plugin_error": 2}}))
    rows = feed.warehouse.read("SELECT calls, errors FROM action_samples ORDER BY stream_seq")
    assert rows == [(10, 0), (15, 2)]
    assert feed.warehouse.read("SELECT code, errors FROM error_samples") == [("plugin_error", 2)]


def test_a_counter_going_back_is_a_restart_not_a_negative_rate(feed):
    feed.loaded("demo", "1.0.0")
    feed.sample(sample_body(latencies={"hello": [1.0] * 40}))
    feed.sample(sample_body(at=T0 + timedelta(seconds=5), latencies={"hello": [1.0] * 3}))  # same pid, from zero
    rows = feed.warehouse.read("SELECT calls, reset FROM samples ORDER BY stream_seq")
    assert rows == [(40, False), (3, True)]
    assert totals(feed.warehouse) == (43, 0)


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ({"latencies": {"hello": [1.0] * 40, "other": [1.0]}, "errors": {"hello": {"e": 1, "f": 2}}}, "a code's count went back"),
        ({"latencies": {"other": [1.0] * 50}, "errors": {"other": {"e": 3}}}, "an action counted before is gone"),
        ({"latencies": {"hello": [1.0] * 30 + [500.0] * 12}, "errors": {"hello": {"e": 3}}}, "a latency bucket went back"),
        ({"latencies": {"hello": [1.0] * 45}, "errors": {"hello": {"e": 3}}, "net_out_bytes": 10}, "the bytes through the proxy went back"),
    ],
)
def test_any_counter_going_back_counts_the_whole_sample_from_zero(feed, second, why):
    feed.loaded("demo", "1.0.0")
    feed.sample(sample_body(latencies={"hello": [1.0] * 40}, errors={"hello": {"e": 3}}, net_out_bytes=500))
    feed.sample(sample_body(at=T0 + timedelta(seconds=5), **{"net_out_bytes": 500, **second}))
    [(calls, reset)] = feed.warehouse.read("SELECT calls, reset FROM samples WHERE stream_seq = 2")
    assert reset, why
    assert calls == sum(len(v) for v in second["latencies"].values())


def test_samples_of_one_worker_in_one_batch_are_measured_each_against_the_one_before(feed):
    import json

    from plugyard_core.consumer import Delivered

    feed.loaded("demo", "1.0.0")
    bodies = [sample_body(at=T0 + timedelta(seconds=5 * i), latencies={"hello": [1.0] * n}) for i, n in enumerate((4, 9, 2, 7))]
    feed.samples.process([Delivered(i + 1, "plugyard.tel.h1.demo", json.dumps(b).encode(), None) for i, b in enumerate(bodies)])
    rows = feed.warehouse.read("SELECT calls, reset FROM samples ORDER BY stream_seq")
    assert rows == [(4, False), (5, False), (2, True), (5, False)]


def test_worker_counters_kept_by_the_earlier_version_are_still_measured_against(tmp_path):
    """Before this version the warehouse kept a worker's counters alone, as JSON of their own shape."""
    import json

    first = Feed(tmp_path)
    first.loaded("demo", "1.0.0")
    first.sample(sample_body(latencies={"hello": [1.0] * 10}, errors={"hello": {"e": 2}}, net_out_bytes=100))
    counters = {"version": "1.0.0", "calls": 10, "errors": 2, "net_bytes": 100, "actions": {"hello": {
        "calls": 10, "errors": 2, "cpu_ms": 0.0, "buckets": json.loads(first.warehouse.read("SELECT counters FROM workers")[0][0])["actions"]["hello"]["latency_buckets"],
        "errors_by_code": {"e": 2}}}}
    with first.warehouse._transaction() as cursor:
        cursor.execute("UPDATE workers SET counters = ?", [json.dumps(counters)])
    first.close()
    second = Feed(tmp_path)
    try:
        second.sample(sample_body(at=T0 + timedelta(seconds=5), latencies={"hello": [1.0] * 16}, errors={"hello": {"e": 3}}, net_out_bytes=150))
        assert second.warehouse.read("SELECT calls, errors, net_bytes, reset FROM samples WHERE stream_seq = 2") == [(6, 1, 50, False)]
        assert second.warehouse.read("SELECT errors FROM error_samples WHERE stream_seq = 2") == [(1,)]
    finally:
        second.close()


def test_a_new_worker_counts_from_its_own_start(feed):
    feed.loaded("demo", "1.0.0")
    feed.sample(sample_body(pid=100, latencies={"hello": [1.0] * 40}))
    feed.sample(sample_body(pid=101, at=T0 + timedelta(seconds=5), latencies={"hello": [1.0] * 50}, startup_ms=120.0))
    feed.sample(sample_body(pid=101, at=T0 + timedelta(seconds=10), latencies={"hello": [1.0] * 55}, startup_ms=120.0))
    assert totals(feed.warehouse) == (95, 0)
    assert feed.warehouse.read("SELECT pid, startup_ms FROM samples ORDER BY stream_seq") == [(100, None), (101, 120.0), (101, None)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"calls": -1}, "calls"),
        ({"errors": 5, "calls": 1}, "errors in"),
        ({"at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, "future"),
        ({"at": "2019-01-01T00:00:00+00:00"}, "older than"),
        ({"at": "yesterday"}, "ISO 8601"),
        ({"at": "2026-12-01T12:00:00"}, "time zone"),
        ({"cpu_percent": -3}, "cpu_percent"),
        ({"rss_bytes": -1}, "rss_bytes"),
        ({"pid": 0}, "pid"),
        ({"actions": {"hello": {"calls": 1, "latency_buckets": [1, 2]}}}, "latency buckets"),
        ({"actions": {"hello": {"calls": 1, "latency_buckets": [5] + [0] * 15}}}, "count more than"),
        ({"actions": {"hello": {"calls": -4}}}, "actions.hello.calls"),
        ({"actions": {"hello": {"calls": 2, "errors": 1, "errors_by_code": {"x": 3}}}}, "errors by code"),
        ({"host": "h2"}, "published on"),
    ],
)
def test_implausible_samples_are_rejected_and_recorded(feed, change, reason):
    feed.loaded("demo", "1.0.0")
    feed.loaded("demo", "1.0.0", host="h2")
    body = sample_body(at=datetime.now(UTC), latencies={"hello": [1.0]})
    body.update(change)
    rejected = feed.sample(body, subject="plugyard.tel.h1.demo")
    assert len(rejected) == 1 and reason in rejected[0].reason
    assert feed.warehouse.read("SELECT count(*) FROM samples")[0][0] == 0
    stored = feed.warehouse.read("SELECT consumer, reason FROM rejections")
    assert stored == [("telemetry-samples", rejected[0].reason)]


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"host": 1}', b"\xff\xfe", b"[" * 500 + b"]" * 500, b'{"cpu_percent": NaN}'])
def test_bodies_that_are_not_samples_are_rejected(feed, data):
    from plugyard_core.consumer import Delivered

    rejected = feed.samples.process([Delivered(1, "plugyard.tel.h1.demo", data, None)])
    assert len(rejected) == 1 and rejected[0].reason.startswith("not a telemetry sample")
    assert feed.warehouse.position("telemetry-samples") == 1


def test_a_rejected_sample_does_not_hold_up_the_good_ones_in_its_batch(feed):
    from plugyard_core.consumer import Delivered
    import json

    feed.loaded("demo", "1.0.0")
    good = json.dumps(sample_body(latencies={"hello": [1.0] * 4})).encode()
    batch = [Delivered(1, "plugyard.tel.h1.demo", b"{}", None), Delivered(2, "plugyard.tel.h1.demo", good, None)]
    assert [r.delivered.stream_seq for r in feed.samples.process(batch)] == [1]
    assert totals(feed.warehouse) == (4, 0)


def test_a_sample_of_a_version_the_loader_never_reported_is_retried(feed):
    with pytest.raises(UnreportedPlugin, match="demo==1.0.0"):
        feed.sample(sample_body(latencies={"hello": [1.0]}))
    assert feed.warehouse.position("telemetry-samples") == 0
    feed.loaded("demo", "1.0.0")
    assert not feed.sample(sample_body(latencies={"hello": [1.0]}))


def test_loader_messages_that_are_not_its_events_are_rejected(feed):
    assert "not an event of the loader" in feed.loader_event("VersionPublished", "demo", "1.0.0")[0].reason
    assert "invalid PluginLoaded" in feed.loader_event("PluginLoaded", "demo", "1.0.0")[0].reason  # no pid, no layers
    assert feed.warehouse.read("SELECT count(*) FROM loader_events")[0][0] == 0
    assert feed.warehouse.read("SELECT count(*) FROM rejections WHERE consumer = 'telemetry-loader-events'")[0][0] == 2


def test_a_restarted_service_resumes_with_the_same_counters(tmp_path):
    first = Feed(tmp_path)
    first.loaded("demo", "1.0.0")
    first.sample(sample_body(latencies={"hello": [1.0] * 10}))
    first.close()
    second = Feed(tmp_path)
    try:
        assert second.samples.last_processed() == 1
        second.sample(sample_body(at=T0 + timedelta(seconds=5), latencies={"hello": [1.0] * 12}))
        assert totals(second.warehouse) == (12, 0)
    finally:
        second.close()


def test_roll_up_sums_what_raw_holds_and_counts_each_sample_once(feed):
    feed.loaded("demo", "1.0.0")
    for i in range(1, 31):
        feed.sample(sample_body(at=T0 + timedelta(seconds=10 * i), latencies={"hello": [2.0] * (10 * i)}, errors={"hello": {"e": i}}))
        if i % 7 == 0:
            feed.warehouse.roll_up("telemetry-samples", now=T0)
    feed.warehouse.roll_up("telemetry-samples", now=T0)
    feed.warehouse.roll_up("telemetry-samples", now=T0)  # nothing new: adds nothing
    raw = totals(feed.warehouse)
    assert raw == (300, 30)
    assert totals(feed.warehouse, "minute_actions") == raw
    assert totals(feed.warehouse, "hour_actions") == raw
    assert feed.warehouse.read("SELECT count(*) FROM minute_actions")[0][0] == 6  # 12:00:10 .. 12:05:00
    assert feed.warehouse.read("SELECT sum(errors) FROM minute_errors")[0][0] == 30
    assert feed.warehouse.read("SELECT sum(samples) FROM hour_workers")[0][0] == 30


def test_retention_drops_raw_rows_only_once_they_are_rolled_up(tmp_path):
    warehouse = TelemetryWarehouse(tmp_path, retention=Retention(raw=timedelta(hours=1), minute=timedelta(days=1)))
    warehouse.close()
    feed = Feed(tmp_path)
    feed.warehouse.retention = Retention(raw=timedelta(hours=1), minute=timedelta(days=1))
    try:
        feed.loaded("demo", "1.0.0")
        feed.sample(sample_body(latencies={"hello": [1.0] * 5}))
        feed.warehouse.roll_up("telemetry-samples", now=T0 + timedelta(hours=2))
        assert feed.warehouse.read("SELECT count(*) FROM action_samples")[0][0] == 0
        assert totals(feed.warehouse, "minute_actions") == (5, 0)
        feed.warehouse.roll_up("telemetry-samples", now=T0 + timedelta(days=2))
        assert feed.warehouse.read("SELECT count(*) FROM minute_actions")[0][0] == 0
        assert totals(feed.warehouse, "hour_actions") == (5, 0)
    finally:
        feed.close()
