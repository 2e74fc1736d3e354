"""Versions that started serving after another on a host, and the calls each side served, for the judge.

A switch is a load or reload whose version differs from the one the host last started for that plugin. The
baseline is the previous version's calls on the same host before the switch (as far back as raw samples go);
the candidate's are its calls from the switch until the next switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugyard_telemetry.schema import BUCKET_SUMS
from plugyard_telemetry.warehouse import TelemetryWarehouse



@dataclass(frozen=True)
class Switch:
    stream_seq: int
    at: datetime
    host: str
    name: str
    previous_version: str
    version: str
    until: datetime | None  # the next switch on that host, if any


@dataclass(frozen=True)
class ActionCalls:
    calls: int
    errors: int
    cpu_ms: float
    buckets: list[int]

    @property
    def cpu_ms_per_call(self) -> float | None:
        return self.cpu_ms / self.calls if self.calls and self.cpu_ms > 0 else None


def switches(warehouse: TelemetryWarehouse) -> list[Switch]:
    rows = warehouse.read(
        """WITH starts AS (
             SELECT stream_seq, ts, host, name, version,
                    lag(version) OVER (PARTITION BY host, name ORDER BY stream_seq) AS previous_version
             FROM loader_events WHERE type IN ('PluginLoaded', 'PluginReloaded') AND version IS NOT NULL),
           changes AS (SELECT * FROM starts WHERE previous_version IS NOT NULL AND previous_version <> version)
           SELECT stream_seq, ts, host, name, previous_version, version,
                  lead(ts) OVER (PARTITION BY host, name ORDER BY stream_seq) AS until
           FROM changes ORDER BY stream_seq"""
    )
    return [Switch(*row) for row in rows]


def calls_by_action(
    warehouse: TelemetryWarehouse, host: str, name: str, version: str, since: datetime | None, until: datetime | None
) -> dict[str, ActionCalls]:
    where = ["host = $host", "name = $name", "version = $version"]
    params: dict = {"host": host, "name": name, "version": version}
    if since is not None:
        where.append("ts >= $since")
        params["since"] = since
    if until is not None:
        where.append("ts < $until")
        params["until"] = until
    rows = warehouse.read(
        f"SELECT action, sum(calls), sum(errors), sum(cpu_ms), {BUCKET_SUMS} FROM action_samples WHERE {' AND '.join(where)} GROUP BY action",
        params,
    )
    return {action: ActionCalls(int(calls), int(errors), float(cpu_ms), [int(b) for b in buckets]) for action, calls, errors, cpu_ms, *buckets in rows}
