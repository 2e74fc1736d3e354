"""The telemetry service's settings: a bad one stops it with one line naming the variable (exit 78), not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from plugyard_telemetry.judge import JudgeConfigError, JudgeSettings
from plugyard_telemetry.warehouse import Retention, RetentionConfigError


def test_settings_from_the_environment():
    assert Retention.from_env({"PLUGYARD_TELEMETRY_RAW_HOURS": "2"}).raw.total_seconds() == 7200
    settings = JudgeSettings.from_env({"PLUGYARD_REGRESSION_MIN_CALLS": "50", "PLUGYARD_LEAK_WINDOW_S": "30"})
    assert (settings.min_calls, settings.leak_window_s) == (50, 30.0)
    with pytest.raises(RetentionConfigError, match="PLUGYARD_TELEMETRY_MINUTE_DAYS"):
        Retention.from_env({"PLUGYARD_TELEMETRY_MINUTE_DAYS": "0"})
    with pytest.raises(JudgeConfigError, match="PLUGYARD_REGRESSION_MIN_CALLS"):
        JudgeSettings.from_env({"PLUGYARD_REGRESSION_MIN_CALLS": "1"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLUGYARD_TELEMETRY_RAW_HOURS", "abc"),
        ("PLUGYARD_TELEMETRY_ROLLUP_S", "0"),
        ("PLUGYARD_TELEMETRY_JUDGE_S", "-2"),
        ("PLUGYARD_ALERT_RULES", "/nonexistent/rules.toml"),
        ("PLUGYARD_ALERT_WEBHOOK", "gopher://x"),
        ("PLUGYARD_METRICS_PORT", "99999"),
        ("PLUGYARD_AUDIT_TIMEOUT_S", "soon"),
    ],
)
def test_a_bad_setting_stops_the_service_with_one_line(tmp_path, name, value):
    env = {**os.environ, "PLUGYARD_DATA_DIR": str(tmp_path), "PLUGYARD_NATS_URL": "nats://127.0.0.1:1", name: value}
    done = subprocess.run([sys.executable, "-m", "plugyard_telemetry"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("telemetry: error:") and name in lines[0], done.stderr
