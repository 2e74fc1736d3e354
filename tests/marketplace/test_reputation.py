"""Reputation from observed facts: each term's direction, the bounds, missing telemetry, the prior, and the docs."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from plugyard_marketplace import reputation as rep
from plugyard_marketplace.reputation import PluginFacts, Telemetry, plugin_reputation, publisher_reputation
from plugyard_schemas.marketplace import Reputation, Review

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reputation.md"
CLEAN = PluginFacts(name="weather", versions_published=2, cleared=2, telemetry=Telemetry(calls=50_000, errors=10, crashes=0))


def review(n: int, stars: int, use: str = "purchase", *, minute: int = 0, name: str = "weather", version: str = "1.0.0") -> Review:
    return Review(
        name=name, version=version, account=f"0x{n:040x}", stars=stars, text="", issued_at=f"2026-11-25T10:{minute:02d}:00Z",
        verified_by=use,  # type: ignore[arg-type]
    )


def term(reputation: Reputation, name: str):
    return next(t for t in reputation.terms if t.term == name)


def score(facts: PluginFacts) -> float:
    return plugin_reputation(facts).score


def assert_adds_up(reputation: Reputation) -> None:
    assert sum(t.contribution for t in reputation.terms) == pytest.approx(reputation.score, abs=1e-9)
    assert sum(t.weight for t in reputation.terms) == pytest.approx(100.0)
    for t in reputation.terms:
        assert 0.0 <= t.value <= 1.0
        assert t.contribution == pytest.approx(t.value * t.weight)
        assert t.evidence
    assert 0.0 <= reputation.score <= 100.0


# --- direction of each term ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["quarantined_by_scanner", "runtime_quarantines", "yanks"])
def test_more_incidents_lower_the_score(field: str) -> None:
    scores = [score(replace(CLEAN, **{field: count})) for count in range(4)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4


def test_a_quarantine_weighs_more_than_a_yank_and_is_not_diluted_by_more_versions() -> None:
    assert score(replace(CLEAN, runtime_quarantines=1)) < score(replace(CLEAN, yanks=1))
    few = replace(CLEAN, runtime_quarantines=1)
    many = replace(few, versions_published=100, cleared=100)
    assert term(plugin_reputation(few), "incidents").value == term(plugin_reputation(many), "incidents").value == 0.5


def test_warned_and_quarantined_verdicts_lower_the_verdicts_term() -> None:
    values = [term(plugin_reputation(replace(CLEAN, **f)), "verdicts").value
              for f in ({}, {"cleared": 1, "warned": 1}, {"cleared": 1, "quarantined_by_scanner": 1})]
    assert values == [1.0, 0.75, 0.5]


def test_more_errors_and_crashes_lower_stability() -> None:
    values = [term(plugin_reputation(replace(CLEAN, telemetry=Telemetry(calls=10_000, errors=e, crashes=c))), "stability").value
              for e, c in ((0, 0), (50, 0), (100, 0), (100, 5))]
    assert values[0] == 1.0 and values == sorted(values, reverse=True) and len(set(values)) == 4
    # 10 failures per 1000 calls is the half-way point; a crash counts as 10 errors
    assert values[2] == pytest.approx(0.5)
    assert values[3] == pytest.approx(1 / (1 + 15 / 10))


def test_better_reviews_raise_and_worse_lower_the_score() -> None:
    good = replace(CLEAN, reviews=tuple(review(i, 5) for i in range(10)))
    bad = replace(CLEAN, reviews=tuple(review(i, 1) for i in range(10)))
    assert score(bad) < score(CLEAN) < score(good)


# --- reviews: the prior, the weights by use, one voice per account ------------------------------------------------


def test_no_reviews_is_the_neutral_prior() -> None:
    t = term(plugin_reputation(CLEAN), "reviews")
    assert t.value == 0.5 and "prior of 3 stars" in t.evidence


def test_few_reviews_are_pulled_toward_the_prior() -> None:
    one = term(plugin_reputation(replace(CLEAN, reviews=(review(1, 5),))), "reviews").value
    many = term(plugin_reputation(replace(CLEAN, reviews=tuple(review(i, 5) for i in range(100)))), "reviews").value
    assert one == pytest.approx(((5 + 5 * 3) / 6 - 1) / 4)  # one five-star review: 3.33 stars
    assert 0.5 < one < many < 1.0 and many > 0.95
    # five purchase-verified reviews weigh as much as the prior: half-way from 3 to their average
    five = term(plugin_reputation(replace(CLEAN, reviews=tuple(review(i, 5) for i in range(5)))), "reviews").value
    assert five == pytest.approx((4.0 - 1) / 4)


def test_an_install_weighs_half_a_purchase() -> None:
    purchases = replace(CLEAN, reviews=tuple(review(i, 5) for i in range(4)))
    installs = replace(CLEAN, reviews=tuple(review(i, 5, "install") for i in range(8)))
    half = replace(CLEAN, reviews=tuple(review(i, 5, "install") for i in range(4)))
    assert term(plugin_reputation(purchases), "reviews").value == pytest.approx(term(plugin_reputation(installs), "reviews").value)
    assert term(plugin_reputation(half), "reviews").value < term(plugin_reputation(purchases), "reviews").value


def test_one_voice_per_account_over_all_versions_its_newest() -> None:
    same_account = tuple(review(1, 5, minute=m, version=f"1.0.{m}") for m in range(9)) + (review(1, 2, minute=30, version="2.0.0"),)
    t = term(plugin_reputation(replace(CLEAN, reviews=same_account)), "reviews")
    assert t.value == pytest.approx(((2 + 15) / 6 - 1) / 4)
    assert t.evidence.startswith("1 reviewer ")


def test_reviews_without_verified_use_are_not_counted_and_said_so() -> None:
    t = term(plugin_reputation(replace(CLEAN, reviews=(review(1, 5, "publisher"),))), "reviews")
    assert t.value == 0.5 and "1 review without a verified purchase or install not counted" in t.evidence


# --- missing telemetry and the floor of calls ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("telemetry", "said"),
    [(None, "telemetry service did not answer"), (Telemetry(calls=999, errors=0, crashes=0), "999 calls observed")],
)
def test_stability_left_out_and_its_weight_shared(telemetry: Telemetry | None, said: str) -> None:
    reputation = plugin_reputation(replace(CLEAN, telemetry=telemetry))
    stability = term(reputation, "stability")
    assert (stability.weight, stability.contribution) == (0.0, 0.0)
    assert said in stability.evidence and "shared among reviews, verdicts, incidents" in stability.evidence
    assert term(reputation, "reviews").weight == pytest.approx(43.75)
    assert term(reputation, "verdicts").weight == pytest.approx(18.75)
    assert term(reputation, "incidents").weight == pytest.approx(37.5)
    assert_adds_up(reputation)


def test_stability_counts_from_the_floor_of_calls() -> None:
    t = term(plugin_reputation(replace(CLEAN, telemetry=Telemetry(calls=1000, errors=10, crashes=0))), "stability")
    assert t.weight == 20.0 and t.value == pytest.approx(0.5) and "10.00 failures per 1000 calls" in t.evidence


# --- bounds and sums ----------------------------------------------------------------------------------------------


def test_best_and_worst_plugins_reach_the_bounds_and_contributions_add_up() -> None:
    best = replace(CLEAN, telemetry=Telemetry(calls=10**9, errors=0, crashes=0), reviews=tuple(review(i, 5) for i in range(10**4)))
    worst = PluginFacts(
        name="weather", versions_published=40, quarantined_by_scanner=40, runtime_quarantines=40, yanks=40,
        telemetry=Telemetry(calls=1000, errors=1000, crashes=10**6), reviews=tuple(review(i, 1) for i in range(10**4)),
    )
    assert score(best) == pytest.approx(100.0, abs=0.1) and score(worst) == pytest.approx(0.0, abs=0.1)
    for facts in (best, worst, CLEAN, PluginFacts(name="weather"), replace(CLEAN, telemetry=None, warned=3, yanks=2)):
        assert_adds_up(plugin_reputation(facts))


def test_the_examples_in_the_docs() -> None:
    new = PluginFacts(name="weather", versions_published=1, cleared=1)
    assert score(new) == pytest.approx(78.125)
    assert score(PluginFacts(name="weather", versions_published=2, cleared=1, quarantined_by_scanner=1)) == pytest.approx(50.0)
    loved = PluginFacts(
        name="weather", versions_published=3, cleared=3, telemetry=Telemetry(calls=50_000, errors=100, crashes=0),
        reviews=tuple(review(i, 5) for i in range(10)),
    )
    assert score(loved) == pytest.approx(90.83, abs=0.01)


def test_counts_must_be_non_negative() -> None:
    with pytest.raises(ValueError, match="yanks must be a count"):
        PluginFacts(name="weather", yanks=-1)
    with pytest.raises(ValueError, match="calls must be a count"):
        Telemetry(calls=-5, errors=0, crashes=0)


# --- publishers ---------------------------------------------------------------------------------------------------


def test_publisher_is_a_usage_weighted_average_plus_a_record() -> None:
    popular = replace(CLEAN, name="popular", purchases=98, installs=1)  # usage 100
    obscure = replace(CLEAN, name="obscure", reviews=tuple(review(i, 1, name="obscure") for i in range(20)))  # usage 1
    reputation = publisher_reputation("0x" + "aa" * 20, [obscure, popular])
    assert [t.term for t in reputation.terms] == ["plugin:popular", "plugin:obscure", "record"]
    assert term(reputation, "plugin:popular").weight == pytest.approx(70 * 100 / 101)
    assert term(reputation, "plugin:popular").value == pytest.approx(score(popular) / 100)
    assert term(reputation, "record").value == 1.0
    assert_adds_up(reputation)
    assert reputation.score > (score(popular) * 0.7 + 30) - 1


def test_a_quarantined_plugin_nobody_uses_still_costs_its_publisher() -> None:
    popular = replace(CLEAN, name="popular", purchases=10_000)
    clean = publisher_reputation("pub", [popular])
    bad = publisher_reputation("pub", [popular, PluginFacts(name="malware", versions_published=1, quarantined_by_scanner=1)])
    assert term(bad, "record").value == 0.5 and "1 quarantine" in term(bad, "record").evidence
    assert bad.score < clean.score - 14


def test_publisher_with_no_plugins_is_neutral() -> None:
    reputation = publisher_reputation("pub", [])
    assert reputation.score == 50.0
    assert_adds_up(reputation)


# --- the docs state the code's constants --------------------------------------------------------------------------


def test_docs_state_the_constants_of_the_code() -> None:
    text = DOCS.read_text()
    stated = dict(re.findall(r"^\| `([A-Z_]+)` \| ([0-9.]+) \|", text, flags=re.MULTILINE))
    assert set(stated) == set(rep.DOCUMENTED_CONSTANTS)
    for name, value in stated.items():
        assert float(value) == getattr(rep, name), name
    weights = (rep.REVIEWS_WEIGHT, rep.VERDICTS_WEIGHT, rep.INCIDENTS_WEIGHT, rep.STABILITY_WEIGHT)
    assert sum(weights) == 100.0 and rep.PUBLISHER_PLUGINS_WEIGHT + rep.PUBLISHER_RECORD_WEIGHT == 100.0
    formula = "score = reviews × {:g} + verdicts × {:g} + incidents × {:g} + stability × {:g}".format(*weights)
    assert formula in text
    for name, weight in zip(("reviews", "verdicts", "incidents", "stability"), weights, strict=True):
        assert re.search(rf"^\| {name} \| {weight:g} \|", text, flags=re.MULTILINE), name
    for line in (f"R = (Σ wᵢ × starsᵢ + {rep.REVIEW_PRIOR_WEIGHT:g} × {rep.REVIEW_PRIOR_STARS:g}) / (Σ wᵢ + {rep.REVIEW_PRIOR_WEIGHT:g})",
                 f"{rep.QUARANTINE_FACTOR:g} ^ quarantines × {rep.YANK_FACTOR:g} ^ yanks"):
        assert line in text
