"""The stack's Prometheus endpoint: per plugin, version, host (and action) series read from the warehouse at scrape.

Totals are all-time: days (kept for good) plus the raw rows the roll-up has not folded yet. The cpu and memory
gauges are each worker's latest sample, for workers sampled within GAUGE_WINDOW (one that has gone quiet is not
running, and Prometheus treats the missing series as stale). Latency is a
Prometheus histogram of the loader's buckets, so `histogram_quantile` works across hosts; it carries no `_sum`
because the loader counts calls per bucket, not their total time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from plugyard_core.settings import METRICS_URL_FILE
from plugyard_schemas.telemetry import LATENCY_BUCKETS_MS
from plugyard_telemetry.schema import BUCKET_COLUMNS, BUCKET_SUMS
from plugyard_telemetry.warehouse import TelemetryWarehouse

log = logging.getLogger("plugyard.telemetry.metrics")

METRICS_HOST_ENV = "PLUGYARD_METRICS_HOST"
METRICS_PORT_ENV = "PLUGYARD_METRICS_PORT"
_LABELS = ["plugin", "version", "host", "action"]
GAUGE_WINDOW = timedelta(minutes=10)


class MetricsConfigError(ValueError):
    """PLUGYARD_METRICS_PORT that is not a port, or a port that is taken."""


class WarehouseCollector(Collector):
    def __init__(self, warehouse: TelemetryWarehouse, open_alerts, now=lambda: datetime.now(UTC)) -> None:
        self.warehouse = warehouse
        self.open_alerts = open_alerts
        self.now = now

    def collect(self) -> Iterator:
        calls = CounterMetricFamily("plugyard_plugin_calls", "Calls served by a plugin version", labels=_LABELS)
        errors = CounterMetricFamily("plugyard_plugin_errors", "Calls that failed", labels=_LABELS)
        latency = HistogramMetricFamily("plugyard_plugin_latency_ms", "Call latency in milliseconds", labels=_LABELS)
        for plugin, version, host, action, n, failed, *buckets in self._totals():
            labels = [plugin, version, host, action]
            calls.add_metric(labels, n)
            errors.add_metric(labels, failed)
            cumulative, running = [], 0
            for bound, count in zip([*map(_le, LATENCY_BUCKETS_MS), "+Inf"], buckets):
                running += count
                cumulative.append((bound, running))
            latency.add_metric(labels, cumulative, None)
        yield from (calls, errors, latency)
        cpu = GaugeMetricFamily("plugyard_plugin_cpu_percent", "CPU of the plugin's worker at its last sample", labels=_LABELS[:3])
        rss = GaugeMetricFamily("plugyard_plugin_rss_bytes", "Resident memory of the worker at its last sample", labels=_LABELS[:3])
        # From `workers` (one row per worker, its latest sample's JSON), not a scan of every raw sample kept.
        for plugin, version, host, cpu_now, rss_now in self.warehouse.read(
            "SELECT name, arg_max(version, last_at), host, arg_max(CAST(counters->>'$.cpu_percent' AS DOUBLE), last_at), "
            "arg_max(CAST(counters->>'$.rss_bytes' AS BIGINT), last_at) FROM workers "
            "WHERE last_at >= $since AND counters->>'$.rss_bytes' IS NOT NULL GROUP BY name, host ORDER BY name, host",
            {"since": self.now() - GAUGE_WINDOW},
        ):
            cpu.add_metric([plugin, version, host], cpu_now)
            rss.add_metric([plugin, version, host], rss_now)
        yield from (cpu, rss)
        restarts = CounterMetricFamily("plugyard_plugin_restarts", "Crashes the loader restarted the plugin after", labels=_LABELS[:3])
        for plugin, version, host, n in self.warehouse.read(
            "SELECT name, version, host, count(*) FROM loader_events WHERE type = 'PluginCrashed' GROUP BY ALL"
        ):
            restarts.add_metric([plugin, version or "", host], n)
        yield restarts
        alerts = GaugeMetricFamily("plugyard_alerts_open", "Open telemetry alerts", labels=["rule"])
        by_rule: dict[str, int] = {}
        for alert in self.open_alerts():
            by_rule[alert.rule] = by_rule.get(alert.rule, 0) + 1
        for rule, n in sorted(by_rule.items()):
            alerts.add_metric([rule], n)
        yield alerts

    def _totals(self) -> list[tuple]:
        """All-time sums: days (kept for good), plus the raw rows the roll-up has not folded in yet, in one snapshot."""
        with self.warehouse.snapshot() as reader:
            return reader.read(
                f"""WITH everything AS (
                     SELECT name, version, host, action, calls, errors, {', '.join(BUCKET_COLUMNS)} FROM day_actions
                     UNION ALL
                     SELECT name, version, host, action, calls, errors, {', '.join(BUCKET_COLUMNS)} FROM action_samples
                     WHERE stream_seq > {int(reader.rolled_up_to())})
                   SELECT name, version, host, action, CAST(sum(calls) AS BIGINT), CAST(sum(errors) AS BIGINT), {BUCKET_SUMS}
                   FROM everything GROUP BY ALL ORDER BY ALL"""
            )


def _le(bound: float) -> str:
    return f"{bound:g}"


def serve_metrics(warehouse: TelemetryWarehouse, open_alerts, data_dir: Path, environ=None):
    """Start the HTTP endpoint; write its URL to `<data-dir>/metrics.url`. Returns (url, stop)."""
    from prometheus_client import start_http_server

    env = os.environ if environ is None else environ
    host = env.get(METRICS_HOST_ENV, "127.0.0.1").strip() or "127.0.0.1"
    text = env.get(METRICS_PORT_ENV, "0").strip() or "0"
    try:
        port = int(text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise MetricsConfigError(f"{METRICS_PORT_ENV} must be a port number (0 picks a free one); got {text!r}") from None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector(warehouse, open_alerts))
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise MetricsConfigError(
            f"cannot serve /metrics on {host}:{port}: {exc.strerror or exc}; set {METRICS_PORT_ENV} to a free port (0 picks one)"
        ) from None
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{shown_host}:{server.server_port}/metrics"
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{METRICS_URL_FILE}.{os.getpid()}"
    temporary.write_text(url + "\n")
    temporary.replace(data_dir / METRICS_URL_FILE)
    log.info("metrics at %s", url)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return url, stop

