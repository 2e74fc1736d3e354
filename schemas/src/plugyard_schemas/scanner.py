"""The scanner's findings, verdicts, its `ScanCompleted` event and its RPCs (`plugyard.rpc.scanner.<verb>`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["cleared", "warned", "quarantined"]
Severity = Literal["info", "low", "medium", "high", "critical"]
Confidence = Literal["low", "medium", "high"]
# bandit: bandit's own tests; behaviour: our malicious-behaviour rules; capability: what the code can do against
# what the manifest declares; metadata: names, descriptions, bundled binaries; unanalysable: what could not be judged.
Category = Literal["bandit", "behaviour", "capability", "metadata", "unanalysable"]
Capability = Literal["network", "filesystem_read", "filesystem_write", "subprocess", "env", "dynamic_code", "native"]
Trigger = Literal["published", "rescan"]

MAX_FINDINGS_IN_EVENT = 200
SEVERITY_ORDER: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


class Finding(BaseModel):
    """One thing the scanner found, located in the plugin's files (paths relative to its root, '/'-separated)."""

    model_config = ConfigDict(frozen=True)

    rule: str = Field(description="Rule id: bandit's test id (B602) or ours (PY-EXEC-DECODED, CAP-UNDECLARED-NETWORK, META-TYPOSQUAT, SCAN-PARSE-ERROR, …)")
    category: Category
    severity: Severity
    confidence: Confidence = "high"
    message: str = Field(description="What was found and why it matters, one or two sentences")
    path: str | None = Field(default=None, description="File, relative to the plugin root; None for whole-plugin findings")
    line: int | None = Field(default=None, ge=1)
    column: int | None = Field(default=None, ge=0)
    cwe: int | None = Field(default=None, description="CWE id where the rule maps to one")
    snippet: str | None = Field(default=None, max_length=300, description="The offending line, trimmed")
    action: Literal["quarantine", "warn", "ignore"] | None = Field(default=None, description="What the policy made of it")


class ScanCompleted(BaseModel):
    """The scanner judged a published version (on publish or on a rescan)."""

    model_config = ConfigDict(extra="allow")  # the relay adds eventsourcing's bookkeeping fields

    name: str
    version: str
    cid: str
    verdict: Verdict
    reason: str = Field(description="One line a person can read: the findings that decided the verdict")
    findings: list[dict[str, Any]] = Field(description=f"Finding objects, most severe first, at most {MAX_FINDINGS_IN_EVENT}")
    findings_total: int
    capabilities: list[Capability]
    scanner_version: str
    rules_version: str
    policy_sha256: str
    duration_ms: int
    trigger: Trigger
    scan_no: int = Field(description="1 for the scan on publish, then one more per rescan of this version")


SCANNER_EVENTS: dict[str, type[BaseModel]] = {"ScanCompleted": ScanCompleted}


class RescanRequest(BaseModel):
    """Rescan stored versions: one (`name` and `version`), every version of `name`, or `all`."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    version: str | None = Field(default=None, min_length=1, max_length=64)
    all: bool = False


class RescanTarget(BaseModel):
    name: str
    version: str
    cid: str


class RescanPlanReply(BaseModel):
    targets: list[RescanTarget]


class RescanReply(BaseModel):
    name: str
    version: str
    verdict: Verdict
    previous: Verdict | None
    reason: str
    findings_total: int


class ScanStatusRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=64)


class ScanStatusReply(BaseModel):
    name: str
    version: str
    cid: str
    verdict: Verdict | None = Field(description="None while the first scan is pending")
    reason: str | None
    findings: list[dict[str, Any]]
    scans: int
