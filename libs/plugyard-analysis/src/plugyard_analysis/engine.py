"""The analysis of one plugin directory: every file through its rules, bandit on Python, capabilities
against the manifest, then the policy's verdict. Whatever cannot be analysed becomes a finding."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from plugyard_analysis import SCANNER_VERSION
from plugyard_analysis.bandit_checks import bandit_findings
from plugyard_analysis.capabilities import infer_capabilities
from plugyard_analysis.context import PluginContext, ScanContext
from plugyard_analysis.policy import Policy, load_policy
from plugyard_analysis.report import ScanReport, summarize
from plugyard_analysis.rulebook import REGISTRY, Hit, RuleInfo, declare, finding, load_rules, rules_version
from plugyard_analysis.sources import PluginFile, SourceFile, Unanalysable, parse_python, read_plugin_file
from plugyard_artifacts.manifest import MANIFEST_NAME, ManifestError, parse_manifest
from plugyard_schemas.scanner import Finding


@dataclass(frozen=True)
class AnalysisLimits:
    max_files: int = 2_000
    max_python_bytes: int = 2 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    file_seconds: float | None = 10.0  # enforced with SIGALRM when analysing in a main thread


UNANALYSABLE = {
    rule: declare(RuleInfo(rule, "unanalysable", severity, text))
    for rule, severity, text in (
        ("SCAN-PARSE-ERROR", "high", "A Python file does not parse, so its code cannot be judged"),
        ("SCAN-ENCODING", "high", "A Python file does not decode as source text"),
        ("SCAN-NESTING", "high", "A Python file is nested too deeply to parse or analyse"),
        ("SCAN-TOO-LARGE", "high", "A file is too large to analyse"),
        ("SCAN-TIMEOUT", "high", "Analysing a file took longer than its time limit"),
        ("SCAN-TOO-MANY-FILES", "high", "The plugin has more files than the scanner analyses"),
        ("SCAN-RULE-ERROR", "high", "A rule failed on this file, so the file is not fully judged"),
        ("SCAN-ARCHIVE", "critical", "The archive is unsafe or corrupt and was not unpacked"),
        ("SCAN-LIMIT", "critical", "The analysis ran out of time or memory"),
        ("SCAN-MANIFEST", "high", "plugin.toml is missing or invalid"),
    )
}


class FileTimeLimit(BaseException):
    """Raised by the alarm in whatever the analysis is doing; a BaseException so no rule's `except Exception` eats it."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the analysis of one file after `seconds` (only possible in the main thread, via SIGALRM)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def expired(_signum: int, _frame: object) -> None:
        nonlocal fired
        fired = True
        raise FileTimeLimit()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except SystemError:
        # An exception raised by the alarm inside CPython's AST constructor surfaces as
        # "AST constructor recursion depth mismatch" (3.11); it is still the time limit.
        if fired:
            raise FileTimeLimit() from None
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def unanalysable(rule: str, detail: str, path: str | None = None, line: int | None = None) -> Finding:
    return finding(UNANALYSABLE[rule], Hit(detail, line=line), path)


def failed_report(policy: Policy, detail: str, rule: str = "SCAN-LIMIT", path: str | None = None) -> ScanReport:
    """The report of an analysis that could not run: one unanalysable finding, judged by the policy."""
    verdict, findings = policy.judge([unanalysable(rule, detail, path)])
    return ScanReport(
        verdict=verdict, reason=summarize(verdict, findings), findings=findings, capabilities=[], files=0, python_files=0, lines=0,
        duration_ms=0, scanner_version=SCANNER_VERSION, rules_version=rules_version(), policy_sha256=policy.source_sha256,
    )


def collect_files(root: Path, limits: AnalysisLimits, select: Callable[[str], bool] | None = None) -> tuple[list[PluginFile], list[Finding]]:
    files: list[PluginFile] = []
    problems: list[Finding] = []
    total = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(root).as_posix()
        if select is not None and not select(relative):
            continue
        if len(files) >= limits.max_files:
            problems.append(unanalysable("SCAN-TOO-MANY-FILES", f"only the first {limits.max_files} files were analysed"))
            break
        size = path.stat().st_size
        total += size
        if total > limits.max_total_bytes:
            problems.append(unanalysable("SCAN-TOO-LARGE", f"the plugin's files exceed {limits.max_total_bytes} bytes in all", relative))
            break
        files.append(read_plugin_file(relative, path.read_bytes()))
    return files, problems


def read_manifest(files: list[PluginFile]) -> tuple[dict | None, str | None]:
    manifest_file = next((f for f in files if f.path == MANIFEST_NAME), None)
    if manifest_file is None:
        return None, f"there is no {MANIFEST_NAME} at the plugin's root"
    try:
        return parse_manifest(manifest_file.data).model_dump(mode="json"), None
    except ManifestError as exc:
        return None, str(exc)


def analyse_directory(
    root: str | Path,
    *,
    scan: ScanContext | None = None,
    policy: Policy | None = None,
    limits: AnalysisLimits = AnalysisLimits(),
    progress: Callable[[str], None] | None = None,
    manifest: dict | None = None,
    select: Callable[[str], bool] | None = None,
) -> ScanReport:
    """Analyse the plugin folder `root`. `manifest` stands in for its plugin.toml and `select` picks the
    files to look at (both for code that is not a plugin, like the benchmark's site-packages)."""
    started = time.perf_counter()
    load_rules()
    policy = policy or load_policy()
    files, findings = collect_files(Path(root), limits, select)
    manifest_error = None
    if manifest is None:
        manifest, manifest_error = read_manifest(files)
    if manifest_error is not None:
        findings.append(unanalysable("SCAN-MANIFEST", manifest_error, MANIFEST_NAME))
    context = PluginContext(files=files, sources=[], manifest=manifest, manifest_error=manifest_error, scan=scan or ScanContext())
    lines = 0
    for file in files:
        if progress is not None:
            progress(file.path)
        try:
            with time_limit(limits.file_seconds):
                found, source = analyse_file(file, limits)
        except FileTimeLimit:
            found, source = [unanalysable("SCAN-TIMEOUT", f"analysis stopped after {limits.file_seconds:g} s", file.path)], None
        findings.extend(found)
        if source is not None:
            context.sources.append(source)
            lines += source.lines
            for capability, evidence in infer_capabilities(source).items():
                context.capabilities[capability].extend(evidence)
    findings.extend(run_plugin_rules(context))
    verdict, judged = policy.judge(findings)
    return ScanReport(
        verdict=verdict,
        reason=summarize(verdict, judged),
        findings=judged,
        capabilities=sorted(context.capabilities),
        files=len(files),
        python_files=len(context.sources),
        lines=lines,
        duration_ms=int((time.perf_counter() - started) * 1000),
        scanner_version=SCANNER_VERSION,
        rules_version=rules_version(),
        policy_sha256=policy.source_sha256,
    )


def analyse_file(file: PluginFile, limits: AnalysisLimits) -> tuple[list[Finding], SourceFile | None]:
    """The findings of one file, and the parsed source when it is Python that parsed."""
    findings = [f for rule_info, check in REGISTRY.files for f in _run(rule_info, check, file, file)]
    if not file.is_python:
        return findings, None
    if len(file.data) > limits.max_python_bytes:
        return findings + [unanalysable("SCAN-TOO-LARGE", f"{len(file.data)} bytes of Python (limit {limits.max_python_bytes})", file.path)], None
    try:
        source = parse_python(file.path, file.data)
    except Unanalysable as exc:
        return findings + [unanalysable(exc.rule, exc.detail, file.path, exc.line)], None
    for rule_info, check in REGISTRY.python:
        findings.extend(_run(rule_info, check, source, source))
    try:
        findings.extend(bandit_findings(source))
    except (RecursionError, MemoryError):
        findings.append(unanalysable("SCAN-NESTING", "nesting too deep for bandit", file.path))
    return findings, source


def _run(info: RuleInfo, check: Callable, subject: object, file: PluginFile) -> list[Finding]:
    try:
        return [finding(info, hit, file.path, file.line) for hit in check(subject)]
    except (RecursionError, MemoryError):
        return [unanalysable("SCAN-NESTING", f"nesting too deep for rule {info.id}", file.path)]
    except FileTimeLimit:
        raise
    except Exception as exc:  # a rule's bug must not clear a plugin: the file counts as not judged
        return [unanalysable("SCAN-RULE-ERROR", f"rule {info.id} failed: {type(exc).__name__}: {exc}", file.path)]


def run_plugin_rules(context: PluginContext) -> list[Finding]:
    found: list[Finding] = []
    for info, check in REGISTRY.plugin:
        try:
            for hit in check(context):
                file = context.file(hit.path) if hit.path else None
                found.append(finding(info, hit, hit.path, file.line if file is not None else None))
        except (RecursionError, MemoryError):
            found.append(unanalysable("SCAN-NESTING", f"nesting too deep for rule {info.id}"))
        except Exception as exc:
            found.append(unanalysable("SCAN-RULE-ERROR", f"rule {info.id} failed: {type(exc).__name__}: {exc}"))
    return found
