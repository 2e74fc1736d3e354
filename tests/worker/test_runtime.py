"""Staging the worker's code: content-addressed, idempotent, safe when two hosts stage at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from plugyard_worker.runtime import runtime_read_dirs, stage_runtime


def test_stage_is_idempotent_and_complete(tmp_path: Path) -> None:
    first = stage_runtime(tmp_path)
    assert stage_runtime(tmp_path) == first
    assert first.parent == tmp_path / "runtime" and len(first.name) == 16
    for package in ("plugyard_sdk", "plugyard_worker", "plugyard_sandbox"):
        assert (first / package / "__init__.py").is_file()
    assert (first / "plugyard_worker" / "main.py").is_file()
    assert {p.suffix for p in first.rglob("*") if p.is_file()} <= {".py", ".pyc"}
    assert [p.name for p in (tmp_path / "runtime").iterdir()] == [first.name]  # no staging leftovers


def test_concurrent_staging(tmp_path: Path) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(stage_runtime(tmp_path))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 6
    assert [p.name for p in (tmp_path / "runtime").iterdir()] == [results[0].name]


def test_staged_runtime_imports_without_site_packages(tmp_path: Path) -> None:
    staged = stage_runtime(tmp_path)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import plugyard_worker.main, plugyard_sdk; print(plugyard_sdk.__file__)"
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(staged)], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith(str(staged))


def test_runtime_read_dirs_hold_the_stdlib() -> None:
    dirs = runtime_read_dirs()
    assert any(os.path.isfile(os.path.join(d, "os.py")) for d in dirs)
    assert any(d.endswith("lib-dynload") for d in dirs)
    assert os.path.dirname(sys.executable) in dirs


def test_worker_imports_stay_lean(tmp_path: Path) -> None:
    """Every module the worker imports before the plugin is paid on each cold start (see main.py)."""
    staged = stage_runtime(tmp_path)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import plugyard_worker.main, plugyard_sandbox.apply; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(staged)], capture_output=True, text=True, check=True)
    heavy = {"typing", "re", "json", "logging", "inspect", "dataclasses", "ast", "enum", "threading", "functools", "collections"}
    assert heavy.isdisjoint(out.stdout.split())


def test_staged_code_is_used_compiled(tmp_path: Path) -> None:
    staged = stage_runtime(tmp_path)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import plugyard_worker.main"
    out = subprocess.run([sys.executable, "-I", "-S", "-v", "-c", code, str(staged)], capture_output=True, text=True, check=True)
    loaded = [line for line in out.stderr.splitlines() if line.startswith("# code object from") and str(staged) in line]
    assert loaded and all(line.rstrip("'").endswith(".pyc") for line in loaded)
