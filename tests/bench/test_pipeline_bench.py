"""bench/pipeline.py at a tiny size: it runs end to end on an authenticated bus and reports its ratio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pipeline.py"


def test_pipeline_bench_runs_with_authentication_on() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLUGYARD_")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--events", "300", "--sync", "default", "--json"],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["auth"] is True  # the default: the stack's identities and permissions
    assert result["events"] == 300
    assert result["raw_publish_per_s"] > 0 and result["end_to_end_per_s"] > 0 and result["ratio"] > 0
