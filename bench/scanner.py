"""The scanner's analysis over the Python source of every installed package (the venv's site-packages),
each package treated as one plugin that declares every permission (they have no manifest; the capability
comparison is left out, the code rules are what is measured). Only `.py` files are read: the packages'
native libraries and data are not plugin code (a plugin shipping them would meet the bundled-binary and
size rules).

Reports, in one run on the same files:
- the false-positive rate of the `quarantined` verdict: packages (and files) the default policy would
  quarantine, listed with the rules that did it (aim: under 1% of packages);
- throughput in lines/s of the full analysis beside bandit alone (bandit's own manager on the same files),
  and the ratio of their times (aim: the full analysis within 1.5x bandit's time).

usage: .venv/bin/python bench/scanner.py [--limit N] [--json] [--show N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from plugyard_analysis.engine import analyse_directory
from plugyard_analysis.policy import load_policy

PERMISSIVE = {
    "plugin": {"name": "site-package", "version": "1.0.0", "summary": "An installed package", "description": "", "authors": ["-"],
               "license": "MIT", "entry": "pkg:Plugin", "host": ">=1.0"},
    "permissions": {"network": ["*"], "filesystem": [{"path": "/", "mode": "write"}], "subprocess": True, "env": ["HOME"], "native": True},
}


def site_packages() -> Path:
    return next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())


def packages(root: Path) -> list[Path]:
    """Top-level import packages with Python source (folders with an __init__.py)."""
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and (entry / "__init__.py").exists() and not entry.name.startswith("_") and entry.name != "tests":
            found.append(entry)
    return found


def is_python_source(relative: str) -> bool:
    return relative.endswith(".py") and "__pycache__" not in relative


def python_files(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def bandit_alone(files: list[Path]) -> float:
    """Seconds bandit's own manager takes over `files` (its default tests, as `bandit -r` runs them)."""
    from bandit.core import config, manager

    logging.getLogger("bandit").setLevel(logging.CRITICAL)
    mgr = manager.BanditManager(config.BanditConfig(), "file", ignore_nosec=True, quiet=True)
    started = time.perf_counter()
    mgr.discover_files([str(f) for f in files])
    mgr.run_tests()
    return time.perf_counter() - started


def our_analysis(pkgs: list[Path]) -> tuple[float, list[dict[str, Any]]]:
    policy = load_policy()
    results = []
    started = time.perf_counter()
    for package in pkgs:
        report = analyse_directory(package, policy=policy, manifest=PERMISSIVE, select=is_python_source)
        deciding = [f for f in report.findings if f.action == "quarantine"]
        results.append({
            "package": package.name, "verdict": report.verdict, "lines": report.lines, "files": report.python_files,
            "quarantine_rules": sorted({f.rule for f in deciding}),
            "quarantined_files": sorted({f.path for f in deciding if f.path}),
            "examples": [f"{f.rule} {f.path}:{f.line} {f.message[:120]}" for f in deciding[:3]],
        })
    return time.perf_counter() - started, results


def worker_overhead(rounds: int = 5) -> tuple[float, float]:
    """Median seconds to judge the textkit example in process and through the limited worker process."""
    import statistics

    from plugyard_analysis.worker import analyse_in_worker

    example = Path(__file__).resolve().parent.parent / "examples" / "plugins" / "textkit"
    in_process, in_worker = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        analyse_directory(example)
        in_process.append(time.perf_counter() - started)
        started = time.perf_counter()
        analyse_in_worker(example)
        in_worker.append(time.perf_counter() - started)
    return statistics.median(in_process), statistics.median(in_worker)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N packages")
    parser.add_argument("--show", type=int, default=20, help="quarantined packages to list")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = site_packages()
    pkgs = packages(root)[: args.limit or None]
    files = [f for p in pkgs for f in python_files(p)]
    for f in files:  # warm the page cache so that neither side pays for the first read
        f.read_bytes()
    bandit_s = bandit_alone(files)
    ours_s, results = our_analysis(pkgs)
    in_process_s, in_worker_s = worker_overhead()
    lines = sum(r["lines"] for r in results)
    quarantined = [r for r in results if r["verdict"] == "quarantined"]
    warned = [r for r in results if r["verdict"] == "warned"]
    q_files = sum(len(r["quarantined_files"]) for r in results)
    total_files = sum(r["files"] for r in results)
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "packages": len(results), "files": total_files, "lines": lines,
        "quarantined_packages": len(quarantined), "quarantined_package_rate": len(quarantined) / len(results) if results else 0.0,
        "warned_packages": len(warned),
        "quarantined_files": q_files, "quarantined_file_rate": q_files / total_files if total_files else 0.0,
        "bandit_alone_s": round(bandit_s, 2), "full_analysis_s": round(ours_s, 2),
        "bandit_lines_per_s": round(lines / bandit_s) if bandit_s else None, "full_lines_per_s": round(lines / ours_s) if ours_s else None,
        "ratio_full_to_bandit": round(ours_s / bandit_s, 3) if bandit_s else None,
        "example_in_process_ms": round(in_process_s * 1000, 1), "example_in_worker_ms": round(in_worker_s * 1000, 1),
        "quarantined": [{k: r[k] for k in ("package", "quarantine_rules", "examples")} for r in quarantined],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"scanner over site-packages ({root}), {figures['machine']}")
    print(f"  {figures['packages']} packages, {total_files} Python files, {lines} lines")
    print(f"  quarantined: {len(quarantined)} packages ({figures['quarantined_package_rate']:.2%}; aim < 1%), "
          f"{q_files} files ({figures['quarantined_file_rate']:.3%}); warned: {len(warned)} packages")
    print(f"  bandit alone   {bandit_s:8.2f} s  {figures['bandit_lines_per_s']:>8} lines/s")
    print(f"  full analysis  {ours_s:8.2f} s  {figures['full_lines_per_s']:>8} lines/s   ratio {figures['ratio_full_to_bandit']}x bandit (aim <= 1.5x)")
    print(f"  one small plugin (examples/plugins/textkit): {figures['example_in_process_ms']} ms in process, "
          f"{figures['example_in_worker_ms']} ms through the limited worker process (its start-up is the difference)")
    for r in quarantined[: args.show]:
        print(f"  - {r['package']}: {', '.join(r['quarantine_rules'])}")
        for example in r["examples"]:
            print(f"      {example}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
