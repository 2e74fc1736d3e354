"""The scan policy: a TOML file that turns findings into actions and actions into a verdict."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugyard_schemas.scanner import SEVERITY_ORDER, Confidence, Finding, Verdict

Action = Literal["quarantine", "warn", "ignore"]
CONFIDENCE_ORDER: tuple[str, ...] = ("low", "medium", "high")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the problem."""


class SeverityActions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    critical: Action | None = None
    high: Action | None = None
    medium: Action | None = None
    low: Action | None = None
    info: Action | None = None


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_confidence: Confidence = "low"
    severity: SeverityActions = Field(default_factory=SeverityActions)
    categories: dict[Literal["bandit", "behaviour", "capability", "metadata", "unanalysable"], SeverityActions] = Field(default_factory=dict)
    rules: dict[str, Action] = Field(default_factory=dict)
    source_sha256: str = Field(default="", exclude=True)

    def action(self, finding: Finding) -> Action:
        if finding.rule in self.rules:
            return self.rules[finding.rule]
        if CONFIDENCE_ORDER.index(finding.confidence) < CONFIDENCE_ORDER.index(self.min_confidence):
            return "ignore"
        by_category = self.categories.get(finding.category)
        if by_category is not None and getattr(by_category, finding.severity) is not None:
            return getattr(by_category, finding.severity)
        return getattr(self.severity, finding.severity) or "warn"

    def judge(self, findings: list[Finding]) -> tuple[Verdict, list[Finding]]:
        """The verdict and the findings with their actions, deciding ones first, then by severity."""
        judged = [f.model_copy(update={"action": self.action(f)}) for f in findings]
        judged.sort(key=sort_key)
        actions = {f.action for f in judged}
        verdict: Verdict = "quarantined" if "quarantine" in actions else "warned" if "warn" in actions else "cleared"
        return verdict, judged


ACTION_ORDER = {"quarantine": 0, "warn": 1, "ignore": 2, None: 3}


def sort_key(finding: Finding) -> tuple[int, int, str, int, str]:
    return (ACTION_ORDER[finding.action], -SEVERITY_ORDER.index(finding.severity), finding.path or "", finding.line or 0, finding.rule)


def parse_policy(text: str, source: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()[:5])
        raise PolicyError(f"{source}: {problems}") from None
    return policy.model_copy(update={"source_sha256": hashlib.sha256(text.encode()).hexdigest()})


def default_policy_text() -> str:
    return resources.files("plugyard_analysis").joinpath("default_policy.toml").read_text(encoding="utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy at `path`, or the default one shipped with Plugyard."""
    if path is None:
        return parse_policy(default_policy_text(), "the default policy")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file {file}: {exc}") from None
    return parse_policy(text, str(file))
