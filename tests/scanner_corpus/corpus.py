"""The labelled corpus under tests/corpus: each sample analysed as a one-file plugin, rates per rule.

`malicious/<RULE>/<sample>` must make RULE fire (with an action the policy does not ignore);
`benign/<RULE>/<sample>` is a look-alike that must not. A sample is a `.py` file or a folder of files.
Samples are analysed with every permission declared, so capability rules stay out of the measurement.
"""

from __future__ import annotations

import json
import shutil
import tomllib
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from plugyard_analysis.engine import analyse_directory
from plugyard_analysis.policy import load_policy

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
BASELINE = CORPUS / "baseline.json"
MANIFEST = """\
[plugin]
name = "corpus-sample"
version = "1.0.0"
summary = "A corpus sample analysed by the scanner's tests"
description = "Never run: parsed only."
authors = ["Plugyard tests"]
license = "MIT"
entry = "sample:Plugin"
host = ">=1.0"

[permissions]
network = ["*"]
subprocess = true
native = true
env = ["HOME", "PATH"]
filesystem = [{ path = "/", mode = "write" }]
"""


@dataclass
class SampleResult:
    label: str  # malicious | benign
    rule: str
    name: str
    fired: bool
    verdict: str
    rules_fired: list[str]


@dataclass
class RuleRates:
    malicious: int = 0
    detected: int = 0
    benign: int = 0
    false_positives: int = 0
    missed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)

    @property
    def detection(self) -> float | None:
        return self.detected / self.malicious if self.malicious else None

    @property
    def false_positive(self) -> float | None:
        return self.false_positives / self.benign if self.benign else None


def samples() -> list[tuple[str, str, Path]]:
    found = []
    for label in ("malicious", "benign"):
        for rule_dir in sorted((CORPUS / label).glob("*")):
            if rule_dir.is_dir():
                for sample in sorted(rule_dir.iterdir()):
                    if sample.suffix == ".py" or sample.is_dir() or sample.suffix in (".pth", ".txt"):
                        found.append((label, rule_dir.name, sample))
    return found


def analyse_sample(sample: Path) -> tuple[str, list[str]]:
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        root = Path(tmp)
        (root / "plugin.toml").write_text(MANIFEST)
        package = root / "sample"
        package.mkdir()
        (package / "__init__.py").write_text("")
        if sample.is_dir():
            shutil.copytree(sample, root, dirs_exist_ok=True)
        else:
            shutil.copy(sample, package / sample.name)
        report = analyse_directory(root, policy=load_policy())
    return report.verdict, sorted({f.rule for f in report.findings if f.action != "ignore"})


@cache
def results() -> tuple[SampleResult, ...]:
    out = []
    for label, rule, sample in samples():
        verdict, fired = analyse_sample(sample)
        out.append(SampleResult(label, rule, sample.name, rule in fired, verdict, fired))
    return tuple(out)


def rates() -> dict[str, RuleRates]:
    table: dict[str, RuleRates] = {}
    for r in results():
        entry = table.setdefault(r.rule, RuleRates())
        if r.label == "malicious":
            entry.malicious += 1
            entry.detected += r.fired
            if not r.fired:
                entry.missed.append(r.name)
        else:
            entry.benign += 1
            entry.false_positives += r.fired
            if r.fired:
                entry.flagged.append(r.name)
    return table


def overall() -> dict[str, float]:
    malicious = [r for r in results() if r.label == "malicious"]
    benign = [r for r in results() if r.label == "benign"]
    return {
        "detection": sum(r.fired for r in malicious) / len(malicious) if malicious else 0.0,
        "false_positive": sum(r.fired for r in benign) / len(benign) if benign else 0.0,
        "malicious_quarantined": sum(r.verdict == "quarantined" for r in malicious) / len(malicious) if malicious else 0.0,
        "benign_quarantined": sum(r.verdict == "quarantined" for r in benign) / len(benign) if benign else 0.0,
        "malicious_samples": float(len(malicious)),
        "benign_samples": float(len(benign)),
    }


def known_misses() -> dict[str, dict[str, str]]:
    """`malicious_cleared` and `benign_quarantined`: `RULE/sample` -> why (tests/corpus/known_misses.toml)."""
    path = CORPUS / "known_misses.toml"
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    return {"malicious_cleared": data.get("malicious_cleared", {}), "benign_quarantined": data.get("benign_quarantined", {})}


def load_baseline() -> dict:
    return json.loads(BASELINE.read_text()) if BASELINE.exists() else {"rules": {}, "overall": {}}


def write_baseline() -> None:
    data = {
        "rules": {rule: {"detection": r.detection, "false_positive": r.false_positive} for rule, r in sorted(rates().items())},
        "overall": overall(),
    }
    BASELINE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def report_lines() -> list[str]:
    lines = [f"{'rule':<28}{'malicious':>10}{'detected':>10}{'benign':>8}{'false pos':>11}"]
    for rule, r in sorted(rates().items()):
        detection = f"{r.detection:.0%}" if r.detection is not None else "-"
        false_positive = f"{r.false_positive:.0%}" if r.false_positive is not None else "-"
        lines.append(f"{rule:<28}{r.malicious:>10}{detection:>10}{r.benign:>8}{false_positive:>11}")
    o = overall()
    lines.append(
        f"overall: detection {o['detection']:.1%} of {int(o['malicious_samples'])} malicious, false positives {o['false_positive']:.1%} of "
        f"{int(o['benign_samples'])} benign; quarantined: {o['malicious_quarantined']:.1%} of malicious, {o['benign_quarantined']:.1%} of benign"
    )
    return lines
