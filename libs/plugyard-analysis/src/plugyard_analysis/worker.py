"""Run the analysis in a separate process with time and memory limits, so that a hostile plugin (a parser
bomb, a huge file, an archive built to exhaust memory) costs a verdict, never the caller.

The parent writes one JSON request on the worker's stdin and reads one JSON report from its stdout. The
worker unpacks archives itself (safely, with limits), so even unpacking happens under the limits. When the
worker dies, exceeds its limits or answers nonsense, the caller gets a report with a SCAN-LIMIT finding,
which the default policy quarantines.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from plugyard_analysis.context import ScanContext
from plugyard_analysis.policy import Policy, default_policy_text, parse_policy

if TYPE_CHECKING:
    from plugyard_analysis.report import ScanReport

MiB = 1024 * 1024


@dataclass(frozen=True)
class WorkerLimits:
    wall_seconds: float = 120.0
    cpu_seconds: int = 120
    memory_bytes: int = 1536 * MiB
    file_seconds: float = 10.0


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    # Applied by the worker to itself before it reads the plugin: `preexec_fn` is unsafe in threaded callers.
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def analyse_in_worker(
    target: str | Path,
    *,
    scan: ScanContext | None = None,
    policy_text: str | None = None,
    policy_source: str = "the default policy",
    limits: WorkerLimits = WorkerLimits(),
) -> ScanReport:
    """Analyse a plugin directory or archive in a limited child process."""
    from plugyard_analysis.engine import failed_report
    from plugyard_analysis.report import ScanReport

    text = policy_text if policy_text is not None else default_policy_text()
    policy = parse_policy(text, policy_source)  # a bad policy is the caller's error, raised here
    request = {
        "target": str(Path(target).resolve()),
        "scan": (scan or ScanContext()).as_json(),
        "policy_text": text,
        "policy_source": policy_source,
        "file_seconds": limits.file_seconds,
        "memory_bytes": limits.memory_bytes,
        "cpu_seconds": limits.cpu_seconds,
    }
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")}
    env["PYTHONHASHSEED"] = "0"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "plugyard_analysis.worker"],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=limits.wall_seconds,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return failed_report(policy, f"the analysis did not finish within {limits.wall_seconds:g} s")
    if done.returncode != 0:
        return failed_report(policy, _describe_exit(done.returncode, done.stderr, limits))
    try:
        return ScanReport.from_json(json.loads(done.stdout))
    except (ValueError, TypeError, KeyError) as exc:
        return failed_report(policy, f"the analysis worker answered something unreadable ({type(exc).__name__})")


def _describe_exit(code: int, stderr: bytes, limits: WorkerLimits) -> str:
    tail = stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [""]
    if code < 0:
        name = signal.Signals(-code).name
        if name == "SIGXCPU":
            return f"the analysis used more than {limits.cpu_seconds} s of CPU"
        return f"the analysis worker was killed by {name}"
    if "MemoryError" in tail[0]:
        return f"the analysis needed more than {limits.memory_bytes // MiB} MiB of memory"
    return f"the analysis worker failed (exit {code}): {tail[0][:200]}"


def analyse_target(target: Path, scan: ScanContext, policy: Policy, file_seconds: float | None) -> ScanReport:
    """A directory as it is; an archive unpacked safely into a temporary directory first."""
    from plugyard_analysis.engine import AnalysisLimits, analyse_directory, failed_report
    from plugyard_artifacts.unpack import UnsafeArchive, safe_unpack

    limits = AnalysisLimits(file_seconds=file_seconds)
    if target.is_dir():
        return analyse_directory(target, scan=scan, policy=policy, limits=limits)
    with tempfile.TemporaryDirectory(prefix="plugyard-scan-") as tmp:
        try:
            safe_unpack(target, tmp)
        except UnsafeArchive as exc:
            return failed_report(policy, str(exc), "SCAN-ARCHIVE", getattr(exc, "member", None))
        return analyse_directory(tmp, scan=scan, policy=policy, limits=limits)


def main() -> int:
    request = json.loads(sys.stdin.buffer.read())
    _limit_resources(request["memory_bytes"], request["cpu_seconds"])
    policy = parse_policy(request["policy_text"], request["policy_source"])
    report = analyse_target(Path(request["target"]), ScanContext.from_json(request["scan"]), policy, request.get("file_seconds"))
    sys.stdout.write(json.dumps(report.as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
