"""What one analysis concluded, in the shape the CLI prints and the scanner records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from plugyard_schemas.scanner import Finding, Verdict

REASON_FINDINGS = 3


@dataclass
class ScanReport:
    verdict: Verdict
    reason: str
    findings: list[Finding]  # with the policy's action, deciding ones first
    capabilities: list[str]
    files: int
    python_files: int
    lines: int
    duration_ms: int
    scanner_version: str
    rules_version: str
    policy_sha256: str
    target: str | None = field(default=None)

    @property
    def exit_code(self) -> int:
        return {"cleared": 0, "warned": 1, "quarantined": 2}[self.verdict]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [f.model_dump(mode="json") for f in self.findings]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScanReport:
        fields = dict(data)
        fields["findings"] = [Finding.model_validate(f) for f in data["findings"]]
        return cls(**fields)


def where(finding: Finding) -> str:
    if finding.path is None:
        return "(plugin)"
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


def summarize(verdict: Verdict, findings: list[Finding]) -> str:
    """One line: the findings that decided the verdict."""
    deciding = [f for f in findings if f.action == ("quarantine" if verdict == "quarantined" else "warn")]
    if verdict == "cleared" or not deciding:
        return "no findings that matter under the policy"
    shown = "; ".join(f"{f.rule} at {where(f)}: {f.message}" for f in deciding[:REASON_FINDINGS])
    more = len(deciding) - REASON_FINDINGS
    return shown + (f" (+{more} more)" if more > 0 else "")
