"""The telemetry service's composition root: warehouse + two consumers + roll-up + judge + /metrics + RPCs."""

from __future__ import annotations

import logging
from pathlib import Path

from plugyard_core import settings
from plugyard_core.env_numbers import env_number
from plugyard_core.every import Every
from plugyard_core.runtime_health import stall_after_s
from plugyard_core.service import Service, run_main
from plugyard_readonly_sql import SqlConfigError, SqlLimits
from plugyard_telemetry.application import SERVICE, TelemetryApplication
from plugyard_telemetry.handlers import build_router, read_executor, subscriptions
from plugyard_telemetry.judge import Judge, JudgeConfigError
from plugyard_telemetry.metrics import MetricsConfigError, serve_metrics
from plugyard_telemetry.recommendations import recommendations
from plugyard_telemetry.trackers import SAMPLES_CONSUMER, KnownPlugins
from plugyard_telemetry.warehouse import RetentionConfigError, Retention, TelemetryWarehouse

log = logging.getLogger("plugyard.telemetry")

ROLLUP_ENV = "PLUGYARD_TELEMETRY_ROLLUP_S"
DEFAULT_ROLLUP_S = 10.0


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    """Raises a config error naming the variable when a PLUGYARD_* setting is not usable."""
    limits = SqlLimits.from_env()
    retention = Retention.from_env()
    rollup_s = env_number(ROLLUP_ENV, DEFAULT_ROLLUP_S, least=0, most=3600, strictly_above_least=True, what="a number of seconds",
                          error=RetentionConfigError)
    warehouse = TelemetryWarehouse(settings.service_dir(SERVICE, data_dir), limits=limits, retention=retention)
    app = TelemetryApplication(data_dir=data_dir)
    judge = Judge.from_env(warehouse, app)
    known = KnownPlugins(warehouse)
    threads = read_executor()
    metrics_url, stop_metrics = serve_metrics(warehouse, app.open_alerts, settings.data_dir(data_dir))

    loops = [
        Every(rollup_s, lambda: warehouse.roll_up(SAMPLES_CONSUMER), "the roll-up", stall_after_s()),
        Every(judge.interval_s, judge.run_once, "judging versions and alerts", stall_after_s()),
    ]

    def health() -> dict:
        problems = [problem for loop in loops if (problem := loop.problem())]
        return {"metrics_url": metrics_url, "open_alerts": len(app.open_alerts()), **warehouse.counts(), "problems": problems}

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(warehouse, app, lambda name: recommendations(warehouse, app, judge.rules, name), threads)],
        subscriptions=subscriptions(warehouse, known),
        outbox=app,
        loops=loops,
        health=health,
        on_stop=[stop_metrics, lambda: threads.shutdown(wait=False, cancel_futures=True), judge.close, warehouse.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    run_main(SERVICE, lambda: build_service(data_dir, nats_url), (SqlConfigError, RetentionConfigError, JudgeConfigError, MetricsConfigError))
