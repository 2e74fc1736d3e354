"""bench/cid.py at a tiny size: it measures the IPFS-exact CID beside sha256 of the same bytes and reports every
figure (never a threshold)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from plugyard_artifacts import cid_of_file

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cid.py"


def test_cid_bench_runs_at_a_tiny_size_and_reports_every_figure(tmp_path) -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--tiny", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["size"] == 4 * 1024 * 1024 and result["runs"] == 3
    assert result["cid"].startswith("bafy") and result["blocks"] == 17  # 16 leaves and the root
    assert set(result["mb_s"]) == {"cid_file", "sha256_file", "cid_bytes", "sha256_bytes", "blocks_file"}
    assert all(rate > 0 for rate in result["mb_s"].values())
    assert all(result[key] > 0 for key in ("ratio_file", "ratio_bytes", "ratio_blocks"))

    given = tmp_path / "given.bin"
    given.write_bytes(b"plugyard" * 40_000)
    text = subprocess.run([sys.executable, str(BENCH), str(given), "--runs", "1"], capture_output=True, text=True, timeout=120)
    assert text.returncode == 0, text.stderr
    assert cid_of_file(given) in text.stdout and "ratio" in text.stdout
