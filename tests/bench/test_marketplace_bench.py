"""bench/marketplace.py at a tiny size: both purchase settings on a real stack with anvil, and the indexer beside
eth_getLogs; every figure is reported and positive (never a threshold). Skipped with the reason when anvil is not
installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugyard_cli.chain_node import anvil_path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "marketplace.py"
ENV = {key: value for key, value in os.environ.items() if not key.startswith("PLUGYARD_")}

pytestmark = [
    pytest.mark.stack,
    pytest.mark.timeout(600),
    pytest.mark.skipif(anvil_path(ENV) is None, reason="anvil is not installed (make setup installs it when npm exists): no chain to measure on"),
]


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


def test_marketplace_bench_runs_at_a_tiny_size_and_reports_every_figure() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--tiny", "--json"], env=ENV, capture_output=True, text=True, timeout=570)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["sizes"] == {"purchases": 2, "plugins": 3, "buyers": 5, "per_block": 4, "runs": 1}
    assert result["aim_ratio"] == 1.5

    assert set(result["purchases"]) == {"default", "automine"}
    default, automine = result["purchases"]["default"], result["purchases"]["automine"]
    assert (default["block_time_s"], default["confirmations"], default["poll_s"]) == (1, 2, 1.0)
    assert (automine["block_time_s"], automine["confirmations"], automine["poll_s"]) == (0, 0, 0.1)
    for setting in (default, automine):
        assert setting["purchases"] == 2
        for way in ("cli", "client", "bare", "bare_confirmed", "cli_start_up"):
            assert set(setting[way]) == {"median_s", "p90_s", "min_s", "max_s"}, way
        assert set(setting["client_stages_median_s"]) == {"prepare", "sign", "submit_mined", "mined_to_entitled"}
        ratios = [f"ratio_{way}_{limit}_{stat}" for way in ("cli", "client") for limit in ("bare", "bare_confirmed") for stat in ("median", "p90")]
        assert all(key in setting for key in ratios)
        assert set(setting["setup_s"]) == {"publish_and_clear", "list"}

    indexer = result["indexer"]
    assert indexer["purchases"] == 3 * 5
    assert indexer["logs"] == 3 * 4 + 3 * 5  # commit, claim, release and listing of each plugin; every purchase
    for key in ("indexer_logs_per_s", "get_logs_logs_per_s", "raw_get_logs_logs_per_s", "ratio_get_logs", "ratio_raw_get_logs", "blocks", "steps"):
        assert key in indexer, key
    assert {"get_logs", "decode", "block_hash", "head", "record_step"} <= set(indexer["indexer_split_s"])

    figures = dict(numbers({"purchases": result["purchases"], "indexer": {k: v for k, v in indexer.items() if k != "indexer_split_s"}}))
    # automine's block time and confirmations are 0 by design; every measured figure must be positive
    by_design = {".purchases.automine.block_time_s", ".purchases.automine.confirmations"}
    assert figures and all(value > 0 for path, value in figures.items() if path not in by_design), {k: v for k, v in figures.items() if v <= 0}
