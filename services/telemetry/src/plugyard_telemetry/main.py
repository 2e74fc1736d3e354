"""The telemetry service's composition root: warehouse + two consumers + roll-up + judge + /metrics + RPCs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client

from plugyard_core import settings
from plugyard_core.env_numbers import env_number
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


class Every:
    """A background loop running `work` in a thread every `seconds`; a failure is logged and retried, and health
    names the loop once it has not succeeded for `stall_after` seconds."""

    def __init__(self, seconds: float, work: Callable[[], object], what: str, stall_after: float) -> None:
        self.seconds, self.work, self.what = seconds, work, what
        self.stall_after = max(stall_after, 3 * seconds)
        self.last_ok = time.monotonic()
        self.error: str | None = None

    async def __call__(self, _nc: Client, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.work)
                self.last_ok, self.error = time.monotonic(), None
            except Exception as exc:  # the next round tries again; the warehouse is unchanged by a failed one
                self.error = str(exc) or type(exc).__name__
                log.warning("%s failed: %s", self.what, exc)
            try:
                await asyncio.wait_for(stop.wait(), self.seconds)
            except asyncio.TimeoutError:
                pass

    def problem(self) -> str | None:
        stalled = time.monotonic() - self.last_ok
        if stalled < self.stall_after:
            return None
        return f"{self.what} has not succeeded for {stalled:.0f} s" + (f": {self.error}" if self.error else "")


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
