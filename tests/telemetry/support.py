"""Telemetry test helpers: loader events and samples as the bus delivers them, without a server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

from plugyard_core.consumer import Delivered
from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS
from plugyard_telemetry.application import TelemetryApplication
from plugyard_telemetry.statistics import bucket_index
from plugyard_telemetry.trackers import KnownPlugins, LoaderEventTracker, SampleTracker
from plugyard_telemetry.warehouse import TelemetryWarehouse

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
assert len(LATENCY_BUCKETS_MS) + 1 == LATENCY_BUCKET_COUNT


class Feed:
    """A warehouse with both trackers, fed stream messages with increasing sequences."""

    def __init__(self, directory: Path) -> None:
        self.warehouse = TelemetryWarehouse(directory)
        self.known = KnownPlugins(self.warehouse)
        self.samples = SampleTracker(self.warehouse, self.known)
        self.events = LoaderEventTracker(self.warehouse, self.known)
        self._sample_seq = count(self.warehouse.position(self.samples.consumer) + 1)
        self._event_seq = count(self.warehouse.position(self.events.consumer) + 1)

    def loader_event(self, kind: str, name: str, version: str, host: str = "h1", at: datetime = T0, **data) -> list:
        body = {
            "specversion": "1.0", "id": f"e{at.timestamp()}{kind}{version}", "source": "plugyard/loader",
            "type": f"dev.plugyard.loader.{kind}", "time": at.isoformat(),
            "data": {"name": name, "version": version, "host": host, **data},
        }
        return self.events.process([Delivered(next(self._event_seq), f"plugyard.evt.loader.{kind}", json.dumps(body).encode(), None)])

    def loaded(self, name: str, version: str, host: str = "h1", at: datetime = T0, pid: int = 100) -> None:
        assert not self.loader_event("PluginLoaded", name, version, host, at, pid=pid, layers={}, dev=False)

    def reloaded(self, name: str, version: str, previous: str, host: str = "h1", at: datetime = T0, pid: int = 200) -> None:
        assert not self.loader_event("PluginReloaded", name, version, host, at, previous_version=previous, pid=pid)

    def sample(self, body: dict, subject: str | None = None) -> list:
        subject = subject or f"plugyard.tel.{body['host']}.{body['name']}"
        return self.samples.process([Delivered(next(self._sample_seq), subject, json.dumps(body).encode(), None)])

    def close(self) -> None:
        self.warehouse.close()


def sample_body(
    name: str = "demo", version: str = "1.0.0", host: str = "h1", pid: int = 100, at: datetime = T0,
    latencies: dict[str, list[float]] | None = None, errors: dict[str, dict[str, int]] | None = None,
    rss: int = 50_000_000, cpu: float = 1.5, **extra,
) -> dict:
    """A sample of a worker whose counters since it started hold `latencies` (ms per call, per action) and
    `errors` (per action, per code)."""
    actions = {}
    for action, values in (latencies or {}).items():
        buckets = [0] * LATENCY_BUCKET_COUNT
        for value in values:
            buckets[bucket_index(value)] += 1
        codes = (errors or {}).get(action, {})
        actions[action] = {"calls": len(values), "errors": sum(codes.values()), "latency_buckets": buckets, "errors_by_code": codes}
    body = {
        "host": host, "name": name, "version": version, "pid": pid, "at": at.isoformat(), "cpu_percent": cpu, "rss_bytes": rss,
        "open_files": 5, "threads": 3, "calls": sum(a["calls"] for a in actions.values()),
        "errors": sum(a["errors"] for a in actions.values()), "actions": actions,
    }
    body.update(extra)
    return body


def every(start: datetime, seconds: float, n: int) -> list[datetime]:
    return [start + timedelta(seconds=seconds * i) for i in range(n)]


def application(directory: Path) -> TelemetryApplication:
    return TelemetryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(directory / "events.sqlite")})
