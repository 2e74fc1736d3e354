"""The telemetry service's event store on a real PostgreSQL: alerts and verdicts survive a restart, once each."""

from __future__ import annotations

import os
import uuid

import pytest

from plugyard_telemetry.application import TelemetryApplication


@pytest.fixture
def on_postgres(postgres_env, monkeypatch):
    for key, value in postgres_env.items():
        monkeypatch.setenv(key, value)
    yield


def alert_fields(alert_id: str) -> dict:
    return dict(alert_id=alert_id, rule="error-rate", name="demo", host="h1", version="1.0.0", metric="error_rate",
                value=0.3, threshold=0.05, for_s=60.0, message="demo fails")


def test_alerts_and_verdicts_are_kept_once_across_a_restart(on_postgres, tmp_path):
    assert os.environ["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    alert_id = str(uuid.uuid4())
    first = TelemetryApplication(data_dir=tmp_path)
    assert first.raise_alert(**alert_fields(alert_id))
    verdict = dict(host="h1", name="demo", action="hello", previous_version="1.0.0", version="2.0.0", switch_seq=7, calls_before=100,
                   calls_after=100, p50_ms_before=1.0, p50_ms_after=50.0, p99_ms_before=2.0, p99_ms_after=60.0, error_rate_before=0.0,
                   error_rate_after=0.0, latency_p_value=1e-30, latency_effect=1.0, error_p_value=1.0, cpu_ms_per_call_before=None,
                   cpu_ms_per_call_after=None, reasons=["p99 latency 60 ms against 2 ms before"])
    assert first.judge(True, **verdict)
    first.close()

    second = TelemetryApplication(data_dir=tmp_path)
    try:
        assert second.alerts[alert_id].state == "open" and [v.event for v in second.verdicts.values()] == ["RegressionDetected"]
        assert not second.raise_alert(**alert_fields(alert_id))  # the same alert again: nothing new
        assert not second.judge(True, **verdict)
        second.resolve_alert(alert_id, 0.01, 0.02)
        assert second.alerts[alert_id].state == "resolved"
    finally:
        second.close()
