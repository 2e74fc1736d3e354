"""bench/telemetry.py at a tiny size: it runs both parts end to end and reports every figure (never a threshold)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "telemetry.py"


def numbers(value, path: str = ""):
    """(path, number) for every number under `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from numbers(item, f"{path}[{index}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


def test_telemetry_bench_runs_at_a_tiny_size_and_reports_every_figure() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLUGYARD_")}
    done = subprocess.run([sys.executable, str(BENCH), "--tiny", "--json"], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    ingestion = result["ingestion"]
    assert ingestion["samples"] == 2_000 and ingestion["batch"] == 1_000
    for key in ("tracker_per_s", "arrow_insert_per_s", "ratio", "floor_per_s", "floor_ratio", "needed_per_s", "roll_up_s"):
        assert ingestion[key] > 0, key
    assert set(ingestion["ms_per_batch"]) == {
        "parse_validate", "rows", "arrow_build", "arrow_insert", "workers_upsert", "position_commit", "other",
    }
    assert set(ingestion["rows_per_batch"]) == {"samples", "action_samples", "error_samples", "slow_calls"}

    views = result["views"]
    assert views["top_rows"] == 20 * 2  # one row per worker: every plugin on every host
    assert set(views["views"]) == {"top", "show_1h", "show_0.5d", "show_7d", "show_8d"}
    resolutions = {label: figures["resolution"] for label, figures in views["views"].items()}
    assert resolutions == {"top": "raw", "show_1h": "minute", "show_0.5d": "minute", "show_7d": "hour", "show_8d": "hour"}
    for label, figures in views["views"].items():
        assert figures["calls"] == 5, label
        assert figures["p50_ms"] > 0 and figures["p99_ms"] >= figures["p50_ms"], label
        assert figures["reads_p50_ms"], label  # each of the view's own reads, timed
    for table in ("hour_actions", "hour_workers", "hour_errors", "minute_actions", "samples", "action_samples", "loader_events"):
        assert views["generated"]["rows"][table] > 0, table

    figures = dict(numbers({"ingestion": ingestion, "views": views}))
    assert figures and all(value > 0 for value in figures.values()), {k: v for k, v in figures.items() if v <= 0}
