"""Reputation per plugin and per publisher, from facts the platform observed. Rules only; no I/O.

The formula, its reasons and its constants are written out in `docs/reputation.md`; a test checks that the constants
stated there are the ones below. In short: a score from 0 to 100 is the sum of terms, each a value from 0 to 1 times a
weight, the weights adding up to 100:

    score = Σ value_t × weight_t

    reviews    35  Bayesian average of the stars, one voice per account, a purchase weighing 1, an install 0.5,
                   pulled toward 3 stars by a prior worth 5 purchases; mapped 1..5 stars -> 0..1
    verdicts   15  (cleared + 0.5 × warned) / judged versions (a scanner quarantine counts 0)
    incidents  30  0.5 ^ quarantines × 0.8 ^ yanks (scanner and run-time quarantines alike; absolute counts, so
                   publishing more versions does not dilute them)
    stability  20  1 / (1 + failures per 1000 calls / 10), failures = errors + 10 × crashes; counted from 1000 calls

A term with nothing to go on is either neutral (0.5: no reviews, no judged version) or, for stability when the
telemetry service did not answer or saw too few calls, left out: it is listed with weight 0 and its weight is shared
among the others in proportion to theirs, so the score stays on the same 0-100 scale.

A publisher's score is 70 points of their plugins' scores, averaged with weights by usage (1 + purchases + installs),
and 30 points of their record over every version of every plugin (the incidents value over all of them, not weighted
by usage, so an unused plugin that was quarantined still counts in full).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from plugyard_schemas.marketplace import Reputation, ReputationTerm, Review

# --- the constants (each stated in docs/reputation.md; a test compares) ------------------------------------------

REVIEWS_WEIGHT = 35.0
VERDICTS_WEIGHT = 15.0
INCIDENTS_WEIGHT = 30.0
STABILITY_WEIGHT = 20.0

NEUTRAL = 0.5  # the value of a term with nothing observed yet

REVIEW_PRIOR_STARS = 3.0  # where the average starts: the middle of 1..5
REVIEW_PRIOR_WEIGHT = 5.0  # how much the prior weighs, in purchase-verified reviews
PURCHASE_REVIEW_WEIGHT = 1.0
INSTALL_REVIEW_WEIGHT = 0.5

WARNED_CREDIT = 0.5  # a warned version counts half a cleared one
QUARANTINE_FACTOR = 0.5  # each quarantine multiplies the incidents value by this
YANK_FACTOR = 0.8  # each yank multiplies the incidents value by this

STABILITY_MIN_CALLS = 1000  # fewer observed calls than this: the stability term is left out
CRASH_AS_ERRORS = 10  # a crash counts as this many errors
STABILITY_HALF_RATE = 10.0  # failures per 1000 calls at which the stability value is 0.5

PUBLISHER_PLUGINS_WEIGHT = 70.0
PUBLISHER_RECORD_WEIGHT = 30.0

DOCUMENTED_CONSTANTS = (
    "REVIEWS_WEIGHT", "VERDICTS_WEIGHT", "INCIDENTS_WEIGHT", "STABILITY_WEIGHT", "NEUTRAL", "REVIEW_PRIOR_STARS",
    "REVIEW_PRIOR_WEIGHT", "PURCHASE_REVIEW_WEIGHT", "INSTALL_REVIEW_WEIGHT", "WARNED_CREDIT", "QUARANTINE_FACTOR",
    "YANK_FACTOR", "STABILITY_MIN_CALLS", "CRASH_AS_ERRORS", "STABILITY_HALF_RATE", "PUBLISHER_PLUGINS_WEIGHT",
    "PUBLISHER_RECORD_WEIGHT",
)
REVIEW_WEIGHTS = {"purchase": PURCHASE_REVIEW_WEIGHT, "install": INSTALL_REVIEW_WEIGHT}


# --- the facts the service gathers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Telemetry:
    """What the telemetry service counted for a plugin, over all its versions and hosts."""

    calls: int
    errors: int
    crashes: int

    def __post_init__(self) -> None:
        _non_negative(self, ("calls", "errors", "crashes"))


@dataclass(frozen=True)
class PluginFacts:
    """Observed facts about one plugin.

    `cleared`, `warned` and `quarantined_by_scanner` count versions by the scanner's verdict (versions still pending
    are in `versions_published` only); `runtime_quarantines` counts quarantines imposed after release (permission
    violations, an admin); `yanks` yanked versions. `telemetry` is None when the telemetry service did not answer.
    `reviews` are the reviews held (`ReviewBook.reviews(name)`); `purchases` and `installs` count distinct accounts.
    """

    name: str
    versions_published: int = 0
    cleared: int = 0
    warned: int = 0
    quarantined_by_scanner: int = 0
    runtime_quarantines: int = 0
    yanks: int = 0
    telemetry: Telemetry | None = None
    reviews: tuple[Review, ...] = field(default=())
    purchases: int = 0
    installs: int = 0

    def __post_init__(self) -> None:
        _non_negative(
            self,
            ("versions_published", "cleared", "warned", "quarantined_by_scanner", "runtime_quarantines", "yanks", "purchases", "installs"),
        )
        object.__setattr__(self, "reviews", tuple(self.reviews))

    @property
    def quarantines(self) -> int:
        return self.quarantined_by_scanner + self.runtime_quarantines

    @property
    def usage(self) -> int:
        """What a publisher's average weighs this plugin by: 1 + purchases + installs (an unused plugin still counts)."""
        return 1 + self.purchases + self.installs


def _non_negative(facts: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(facts, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a count (an int >= 0), not {value!r}")


# --- the terms ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    term: str
    value: float | None  # None: left out
    weight: float
    evidence: str


def reviews_term(facts: PluginFacts) -> _Term:
    voices = one_voice_per_account(review for review in facts.reviews if review.name == facts.name)
    counted = [review for review in voices if review.verified_by in REVIEW_WEIGHTS]
    ignored = len(voices) - len(counted)
    total_weight = sum(REVIEW_WEIGHTS[review.verified_by] for review in counted)
    weighted_stars = sum(REVIEW_WEIGHTS[review.verified_by] * review.stars for review in counted)
    rating = (weighted_stars + REVIEW_PRIOR_WEIGHT * REVIEW_PRIOR_STARS) / (total_weight + REVIEW_PRIOR_WEIGHT)
    value = (rating - 1.0) / 4.0
    if not counted:
        evidence = f"no reviews from verified users: the neutral prior of {REVIEW_PRIOR_STARS:g} stars"
    else:
        purchases = sum(1 for review in counted if review.verified_by == "purchase")
        installs = len(counted) - purchases
        evidence = (
            f"{len(counted)} reviewer{'s' if len(counted) != 1 else ''} ({purchases} by purchase at weight {PURCHASE_REVIEW_WEIGHT:g},"
            f" {installs} by install at {INSTALL_REVIEW_WEIGHT:g}) average {weighted_stars / total_weight:.2f} stars over weight"
            f" {total_weight:g}; with the prior of {REVIEW_PRIOR_STARS:g} stars at weight {REVIEW_PRIOR_WEIGHT:g}: {rating:.2f} stars"
        )
    if ignored:
        evidence += f"; {ignored} review{'s' if ignored != 1 else ''} without a verified purchase or install not counted"
    return _Term("reviews", value, REVIEWS_WEIGHT, evidence)


def one_voice_per_account(reviews: Iterable[Review]) -> list[Review]:
    """Each account's newest review of the plugin (over all its versions): reviewing every version does not multiply a voice."""
    newest: dict[str, tuple[datetime, Review]] = {}
    for review in reviews:
        moment = datetime.fromisoformat(review.issued_at)
        account = review.account.lower()
        if account not in newest or moment > newest[account][0]:
            newest[account] = (moment, review)
    return [review for _, review in newest.values()]


def verdicts_term(facts: PluginFacts) -> _Term:
    judged = facts.cleared + facts.warned + facts.quarantined_by_scanner
    pending = max(0, facts.versions_published - judged)
    pending_note = f"; {pending} pending" if pending else ""
    if judged == 0:
        return _Term("verdicts", NEUTRAL, VERDICTS_WEIGHT, f"no version judged by the scanner yet{pending_note}: neutral")
    value = (facts.cleared + WARNED_CREDIT * facts.warned) / judged
    return _Term(
        "verdicts", value, VERDICTS_WEIGHT,
        f"of {judged} version{'s' if judged != 1 else ''} the scanner judged, {facts.cleared} cleared, {facts.warned} warned"
        f" (counting {WARNED_CREDIT:g}) and {facts.quarantined_by_scanner} quarantined (counting 0){pending_note}",
    )


def incidents_value(quarantines: int, yanks: int) -> float:
    return QUARANTINE_FACTOR**quarantines * YANK_FACTOR**yanks


def incidents_term(facts: PluginFacts) -> _Term:
    return _Term(
        "incidents", incidents_value(facts.quarantines, facts.yanks), INCIDENTS_WEIGHT,
        f"{facts.quarantined_by_scanner} quarantine{'s' if facts.quarantined_by_scanner != 1 else ''} by the scanner,"
        f" {facts.runtime_quarantines} at run time and {facts.yanks} yank{'s' if facts.yanks != 1 else ''}"
        f" ({QUARANTINE_FACTOR:g} per quarantine, {YANK_FACTOR:g} per yank)",
    )


def stability_term(facts: PluginFacts) -> _Term:
    seen = facts.telemetry
    if seen is None:
        return _Term("stability", None, STABILITY_WEIGHT, "left out: the telemetry service did not answer")
    if seen.calls < STABILITY_MIN_CALLS:
        return _Term(
            "stability", None, STABILITY_WEIGHT,
            f"left out: {seen.calls} calls observed ({seen.errors} errors, {seen.crashes} crashes), fewer than the"
            f" {STABILITY_MIN_CALLS} it takes to judge",
        )
    failures = seen.errors + CRASH_AS_ERRORS * seen.crashes
    per_thousand = 1000.0 * failures / seen.calls
    value = 1.0 / (1.0 + per_thousand / STABILITY_HALF_RATE)
    return _Term(
        "stability", value, STABILITY_WEIGHT,
        f"{seen.errors} errors and {seen.crashes} crashes (each counting {CRASH_AS_ERRORS}) in {seen.calls} calls:"
        f" {per_thousand:.2f} failures per 1000 calls",
    )


def _reputation(subject: str, terms: list[_Term]) -> Reputation:
    present = sum(term.weight for term in terms if term.value is not None)
    scale = 100.0 / present if present else 0.0
    out: list[ReputationTerm] = []
    for term in terms:
        if term.value is None:
            others = ", ".join(other.term for other in terms if other.value is not None)
            out.append(
                ReputationTerm(
                    term=term.term, value=0.0, weight=0.0, contribution=0.0,
                    evidence=f"{term.evidence}; its weight of {term.weight:g} is shared among {others} in proportion to theirs",
                )
            )
            continue
        weight = term.weight * scale
        out.append(ReputationTerm(term=term.term, value=term.value, weight=weight, contribution=term.value * weight, evidence=term.evidence))
    score = min(100.0, max(0.0, sum(term.contribution for term in out)))
    return Reputation(subject=subject, score=score, terms=out)


def plugin_reputation(facts: PluginFacts) -> Reputation:
    """The plugin's score, 0 to 100, with each term: value (0..1) × weight = contribution, the contributions adding up to it."""
    return _reputation(facts.name, [reviews_term(facts), verdicts_term(facts), incidents_term(facts), stability_term(facts)])


def publisher_reputation(publisher: str, plugins: Sequence[PluginFacts]) -> Reputation:
    """The publisher's score from their plugins: a usage-weighted average of their scores and their record of incidents."""
    if not plugins:
        return _reputation(publisher, [_Term("plugins", NEUTRAL, 100.0, "no plugins published yet: neutral")])
    total_usage = sum(plugin.usage for plugin in plugins)
    terms: list[ReputationTerm] = []
    for plugin in sorted(plugins, key=lambda p: (-p.usage, p.name)):
        score = plugin_reputation(plugin).score
        weight = PUBLISHER_PLUGINS_WEIGHT * plugin.usage / total_usage
        terms.append(
            ReputationTerm(
                term=f"plugin:{plugin.name}", value=score / 100.0, weight=weight, contribution=score / 100.0 * weight,
                evidence=(
                    f"{plugin.name} scores {score:.1f}; used by {plugin.purchases} purchasers and {plugin.installs} installers"
                    f" (usage {plugin.usage} of {total_usage})"
                ),
            )
        )
    quarantines = sum(plugin.quarantines for plugin in plugins)
    yanks = sum(plugin.yanks for plugin in plugins)
    versions = sum(plugin.versions_published for plugin in plugins)
    record = incidents_value(quarantines, yanks)
    terms.append(
        ReputationTerm(
            term="record", value=record, weight=PUBLISHER_RECORD_WEIGHT, contribution=record * PUBLISHER_RECORD_WEIGHT,
            evidence=(
                f"over {len(plugins)} plugin{'s' if len(plugins) != 1 else ''} and {versions} versions: {quarantines}"
                f" quarantine{'s' if quarantines != 1 else ''} and {yanks} yank{'s' if yanks != 1 else ''}, whatever their usage"
                f" ({QUARANTINE_FACTOR:g} per quarantine, {YANK_FACTOR:g} per yank)"
            ),
        )
    )
    score = min(100.0, max(0.0, sum(term.contribution for term in terms)))
    return Reputation(subject=publisher, score=score, terms=terms)
