"""Detection and false-positive rates over the labelled corpus, per rule and overall; fails on a regression
against tests/corpus/baseline.json. `PLUGYARD_CORPUS_UPDATE=1` rewrites the baseline after an improvement."""

from __future__ import annotations

import os

import pytest

from plugyard_analysis.rulebook import REGISTRY, load_rules
from tests.scanner_corpus import corpus


def test_every_behaviour_rule_has_malicious_and_benign_samples() -> None:
    load_rules()
    behaviour = {rule for rule, info in REGISTRY.rules.items() if info.category == "behaviour"}
    table = corpus.rates()
    lacking = sorted(rule for rule in behaviour if table.get(rule) is None or table[rule].malicious < 2 or table[rule].benign < 2)
    assert not lacking, f"behaviour rules without 2 malicious and 2 benign corpus samples: {lacking}"


def test_corpus_samples_name_known_rules() -> None:
    load_rules()
    unknown = sorted({rule for _, rule, _ in corpus.samples()} - set(REGISTRY.rules))
    assert not unknown, f"corpus folders named after no rule: {unknown}"


def test_rates_do_not_regress() -> None:
    if os.environ.get("PLUGYARD_CORPUS_UPDATE") == "1":
        corpus.write_baseline()
    baseline = corpus.load_baseline()
    regressions = []
    for rule, rates in corpus.rates().items():
        before = baseline["rules"].get(rule)
        if before is None:
            regressions.append(f"{rule}: not in the baseline (run with PLUGYARD_CORPUS_UPDATE=1 once its rates are right)")
            continue
        if rates.detection is not None and before["detection"] is not None and rates.detection < before["detection"]:
            regressions.append(f"{rule}: detection {rates.detection:.0%} < baseline {before['detection']:.0%} (missed {rates.missed})")
        if rates.false_positive is not None and before["false_positive"] is not None and rates.false_positive > before["false_positive"]:
            regressions.append(f"{rule}: false positives {rates.false_positive:.0%} > baseline {before['false_positive']:.0%} (flagged {rates.flagged})")
    overall, before = corpus.overall(), baseline["overall"]
    if overall["detection"] < before.get("detection", 0):
        regressions.append(f"overall detection {overall['detection']:.1%} < baseline {before['detection']:.1%}")
    if overall["false_positive"] > before.get("false_positive", 1):
        regressions.append(f"overall false positives {overall['false_positive']:.1%} > baseline {before['false_positive']:.1%}")
    print("\n" + "\n".join(corpus.report_lines()))
    assert not regressions, "\n".join(regressions)


@pytest.mark.parametrize(("label", "wrong_verdict", "listed_as"), [("malicious", "cleared", "malicious_cleared"), ("benign", "quarantined", "benign_quarantined")])
def test_no_malicious_sample_is_cleared_and_no_benign_one_quarantined(label: str, wrong_verdict: str, listed_as: str) -> None:
    wrong = {f"{r.rule}/{r.name}" for r in corpus.results() if r.label == label and r.verdict == wrong_verdict}
    known = set(corpus.known_misses()[listed_as])
    assert not wrong - known, f"{label} samples the scanner judges {wrong_verdict}: {sorted(wrong - known)}"
    assert not known - wrong, f"no longer {wrong_verdict}, so remove them from known_misses.toml [{listed_as}]: {sorted(known - wrong)}"
