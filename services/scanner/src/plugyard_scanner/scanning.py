"""One analysis of one archive, in a limited worker process, under the configured policy."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugyard_analysis.context import ScanContext
from plugyard_analysis.engine import failed_report
from plugyard_analysis.policy import PolicyError, default_policy_text, parse_policy
from plugyard_analysis.worker import WorkerLimits, analyse_in_worker

POLICY_ENV = "PLUGYARD_SCAN_POLICY"


@dataclass(frozen=True)
class ScanSettings:
    policy_text: str
    policy_source: str
    limits: WorkerLimits = WorkerLimits()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ScanSettings:
        """The policy named by PLUGYARD_SCAN_POLICY (a path), or the default; a bad file stops the start-up."""
        env = os.environ if environ is None else environ
        path = env.get(POLICY_ENV, "").strip()
        if not path:
            return cls(default_policy_text(), "the default policy")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{POLICY_ENV}={path}: cannot read the policy file: {exc}") from None
        parse_policy(text, path)
        return cls(text, path)


def scan_archive(data: bytes, context: ScanContext, settings: ScanSettings) -> dict[str, Any]:
    """The report (as JSON) of the archive's analysis; unsafe or unreadable archives become findings."""
    with tempfile.TemporaryDirectory(prefix="plugyard-scanner-") as tmp:
        archive = Path(tmp) / "plugin.tar.gz"
        archive.write_bytes(data)
        report = analyse_in_worker(
            archive, scan=context, policy_text=settings.policy_text, policy_source=settings.policy_source, limits=settings.limits
        )
    return report.as_json()


def missing_archive_report(detail: str, settings: ScanSettings) -> dict[str, Any]:
    """Fail closed when the archive cannot be had: a SCAN-ARCHIVE finding under the policy."""
    return failed_report(parse_policy(settings.policy_text, settings.policy_source), detail, "SCAN-ARCHIVE").as_json()


def mismatched_archive_report(detail: str, settings: ScanSettings) -> dict[str, Any]:
    """The store's bytes are not the version's content: a SCAN-ARCHIVE finding that quarantines whatever the policy
    says of the rule, since what was published was never judged (and a bad entry must not read as cleared)."""
    policy = parse_policy(settings.policy_text, settings.policy_source)
    quarantining = policy.model_copy(update={"rules": {**policy.rules, "SCAN-ARCHIVE": "quarantine"}})
    return failed_report(quarantining, f"not scanned: {detail}", "SCAN-ARCHIVE").as_json()
