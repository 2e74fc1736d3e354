"""The load generator: a real event-sourced application, and a CLI that can relay what it records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from plugyard_core.loadgen import LoadGenerator

from .helpers import stream_count


def test_records_events_round_robin_in_batched_saves(sqlite_only: None, data_dir: Path) -> None:
    app = LoadGenerator(data_dir=data_dir)
    assert app.record(n_events=95, n_aggregates=10, per_save=20) == 95
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    assert len(notifications) == 95
    per_aggregate = Counter(n.originator_id for n in notifications)
    assert sorted(per_aggregate.values()) == [9] * 5 + [10] * 5
    assert Counter(n.topic.rsplit(".", 1)[1] for n in notifications) == {"Created": 10, "Moved": 85}
    with pytest.raises(ValueError):
        app.record(n_events=1, n_aggregates=0, per_save=1)
    app.close()


async def test_cli_records_and_relays_everything(sqlite_only: None, data_dir: Path, nats_server, js: JetStreamContext) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plugyard_core.loadgen", "--service", "loadgen", "--events", "3000",
         "--aggregates", "30", "--per-save", "500", "--data-dir", str(data_dir), "--relay", "--nats-url", nats_server.url],
        capture_output=True, text=True, timeout=60, env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["events"] == 3000 and report["published"] == 3000
    assert report["record_rate"] > 0 and report["relay_rate"] > 0
    assert await stream_count(js) == 3000
    assert (data_dir / "loadgen" / "events.sqlite").exists()


def test_cli_refuses_bad_numbers(sqlite_only: None, data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plugyard_core.loadgen", "--events", "10", "--per-save", "0", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 64
    assert result.stderr.startswith("error: ")
