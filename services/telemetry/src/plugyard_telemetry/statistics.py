"""The telemetry service's statistics: pure functions over latency histograms, counts and samples.

Latency arrives as counts per bucket (`LATENCY_BUCKETS_MS`, upper bounds in ms, plus one overflow bucket), so
everything latency-related here works on those counts and never on raw latencies: a percentile is interpolated
inside its bucket, and the Mann-Whitney test treats the calls of one bucket as tied.

Standard library only (`math`, `statistics`, `random`): the service must not pull in numpy or scipy for this.
"""

from __future__ import annotations

import bisect
import math
import random
import statistics as _stats
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS

__all__ = [
    "Comparison",
    "bucket_index",
    "compare",
    "leak_verdict",
    "mann_whitney_binned",
    "merge",
    "percentile",
    "percentiles",
    "theil_sen_slope",
    "to_histogram",
    "two_proportion_test",
]

# Up to this many points Theil-Sen looks at every pair (about 2 million pairs, under a second); above it, at a
# fixed-seed sample of `THEIL_SEN_SAMPLED_PAIRS` pairs, so the cost stays bounded and the answer reproducible.
THEIL_SEN_ALL_PAIRS_MAX_POINTS = 2000
THEIL_SEN_SAMPLED_PAIRS = 400_000
_THEIL_SEN_SEED = 0x7E15E9


# --- Histograms -----------------------------------------------------------------------------------------------


def _counts(values: Sequence[Any], what: str) -> list[int]:
    """The counts as ints; a whole float or Decimal (as SQL sums may return) is fine, anything else a ValueError."""
    counts = []
    for value in values:
        try:
            count = int(value)
            whole = not isinstance(value, bool) and count == value
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole or count < 0:
            raise ValueError(f"{what} holds {value!r}: counts are whole numbers >= 0")
        counts.append(count)
    return counts


def _histogram(hist: Sequence[Any], what: str = "histogram") -> list[int]:
    if len(hist) != LATENCY_BUCKET_COUNT:
        raise ValueError(f"{what} has {len(hist)} buckets, expected {LATENCY_BUCKET_COUNT}")
    return _counts(hist, what)


def bucket_index(latency_ms: float) -> int:
    """The bucket a latency falls in: the first whose upper bound is >= it (bounds inclusive), else the overflow."""
    return bisect.bisect_left(LATENCY_BUCKETS_MS, latency_ms)


def to_histogram(latencies_ms: Iterable[float]) -> list[int]:
    """Counts per bucket of raw latencies (what a worker does before it reports)."""
    hist = [0] * LATENCY_BUCKET_COUNT
    for latency in latencies_ms:
        hist[bucket_index(latency)] += 1
    return hist


def merge(histograms: Iterable[Sequence[int]]) -> list[int]:
    """The element-wise sum of latency histograms (workers, hosts, minutes); all zeros for none."""
    total = [0] * LATENCY_BUCKET_COUNT
    for number, hist in enumerate(histograms):
        for index, count in enumerate(_histogram(hist, f"histogram #{number}")):
            total[index] += count
    return total


def percentile(hist: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of a latency histogram, in ms; None when it holds no calls.

    The rank q * total is located in its bucket and interpolated linearly between the bucket's bounds (the first
    bucket starts at 0 ms), as Prometheus' histogram_quantile does. The overflow bucket has no upper bound, so a
    quantile that lands there is reported as the last bound (`LATENCY_BUCKETS_MS[-1]`): a floor, not an estimate.
    """
    return percentiles(hist, (q,))[0]


def percentiles(hist: Sequence[int], qs: Sequence[float]) -> list[float | None]:
    """`percentile` for each of `qs`, the histogram checked once."""
    for q in qs:
        if not 0 < q < 1:
            raise ValueError(f"q must lie strictly between 0 and 1, not {q!r}")
    hist = _histogram(hist)
    total = sum(hist)
    return [None if total == 0 else _quantile(hist, q * total) for q in qs]


def _quantile(hist: list[int], rank: float) -> float:
    below = 0
    for index, count in enumerate(hist):
        if count and below + count >= rank:
            if index == len(LATENCY_BUCKETS_MS):
                return float(LATENCY_BUCKETS_MS[-1])
            lower = 0.0 if index == 0 else float(LATENCY_BUCKETS_MS[index - 1])
            upper = float(LATENCY_BUCKETS_MS[index])
            return lower + (upper - lower) * (rank - below) / count
        below += count
    return float(LATENCY_BUCKETS_MS[-1])  # unreachable: rank <= total; kept for floating-point safety


# --- Tests ----------------------------------------------------------------------------------------------------


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z, accurate far into the tail (erfc, not 1 - cdf)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_binned(before: Sequence[int], after: Sequence[int]) -> tuple[float, float, float]:
    """The Mann-Whitney U test on two binned samples: (u, one-sided p that `after` is greater, Cliff's delta).

    Each argument is a count per ordered bin (any number of bins, the same for both). Calls in one bin are ties:
    u counts the pairs (a, b) with a from `after` in a higher bin than b from `before`, plus half of the pairs in
    the same bin. The p-value comes from the normal approximation with the tie correction of the variance (binned
    latencies are nothing but ties) and a continuity correction of 0.5. Cliff's delta, P(a > b) - P(a < b), is
    2u / (n_after * n_before) - 1: in -1..1, > 0 when `after` tends to be slower.

    Degenerate inputs (either side empty, or every call in one bin) carry no evidence: p = 1 and delta = 0.
    """
    if len(before) != len(after):
        raise ValueError(f"the histograms differ in length: {len(before)} against {len(after)}")
    before, after = _counts(before, "before"), _counts(after, "after")
    n_before, n_after = sum(before), sum(after)
    if n_before == 0 or n_after == 0:
        return 0.0, 1.0, 0.0
    u = 0.0
    before_below = 0
    for count_before, count_after in zip(before, after):
        u += count_after * (before_below + 0.5 * count_before)
        before_below += count_before
    pairs = n_after * n_before
    delta = 2.0 * u / pairs - 1.0
    n = n_before + n_after
    ties = sum((b + a) ** 3 - (b + a) for b, a in zip(before, after))
    variance = pairs / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:  # every call in one bin
        return u, 1.0, 0.0
    z = (u - pairs / 2.0 - 0.5) / math.sqrt(variance)
    return u, _normal_sf(z), delta


def two_proportion_test(
    errors_before: int, calls_before: int, errors_after: int, calls_after: int
) -> tuple[float, float]:
    """The two-proportion z test (pooled): (one-sided p that the error rate after is higher, rate after - before).

    With no calls on a side, or a pooled rate of 0 or 1 (no variance), there is no evidence: p = 1.
    """
    for errors, calls, side in ((errors_before, calls_before, "before"), (errors_after, calls_after, "after")):
        if calls < 0 or errors < 0 or errors > calls:
            raise ValueError(f"{side}: {errors} errors in {calls} calls")
    if calls_before == 0 or calls_after == 0:
        return 1.0, 0.0
    rate_before, rate_after = errors_before / calls_before, errors_after / calls_after
    diff = rate_after - rate_before
    pooled = (errors_before + errors_after) / (calls_before + calls_after)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / calls_before + 1.0 / calls_after))
    if se == 0:
        return 1.0, diff
    return _normal_sf(diff / se), diff


# --- Trends ---------------------------------------------------------------------------------------------------


def theil_sen_slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The Theil-Sen slope of (x, y) points: the median of the slopes of all pairs with distinct x.

    A single outlier (a spike in rss) moves only the slopes of the pairs it is in, so it barely moves the median,
    where a least-squares fit would follow it. Above `THEIL_SEN_ALL_PAIRS_MAX_POINTS` points a fixed-seed sample
    of `THEIL_SEN_SAMPLED_PAIRS` pairs stands in for all of them (same answer every time). None for fewer than two
    distinct x.
    """
    n = len(points)
    if n < 2:
        return None
    slopes: list[float] = []
    if n <= THEIL_SEN_ALL_PAIRS_MAX_POINTS:
        for i, (x1, y1) in enumerate(points):
            slopes.extend([(y2 - y1) / (x2 - x1) for x2, y2 in points[i + 1 :] if x2 != x1])
    else:
        rng = random.Random(_THEIL_SEN_SEED)
        for _ in range(THEIL_SEN_SAMPLED_PAIRS):
            (x1, y1), (x2, y2) = points[rng.randrange(n)], points[rng.randrange(n)]
            if x2 != x1:
                slopes.append((y2 - y1) / (x2 - x1))
    if not slopes:
        return None
    return float(_stats.median(slopes))


def leak_verdict(
    points: Sequence[tuple[float, float]], min_span_s: float, min_slope_bytes_per_s: float
) -> tuple[float | None, bool]:
    """Whether (time s, rss bytes) samples show a memory leak: (Theil-Sen slope in bytes/s, is_leak).

    A leak needs samples spanning at least `min_span_s`, an overall slope of at least `min_slope_bytes_per_s`, and
    growth in both halves of the window (split at its middle time), each half's own slope at least half the
    minimum. The last check is what tells a leak from one step: a cache filled once lifts the whole window's
    slope, but leaves one half flat, while a leak keeps climbing in both. (Half the minimum rather than just > 0,
    so that noise on a flat half cannot pass by chance.)
    """
    slope = theil_sen_slope(points)
    if slope is None:
        return None, False
    times = [x for x, _ in points]
    start, end = min(times), max(times)
    if end - start < min_span_s or slope < min_slope_bytes_per_s or slope <= 0:
        return slope, False
    middle = start + (end - start) / 2.0
    first = theil_sen_slope([p for p in points if p[0] <= middle])
    second = theil_sen_slope([p for p in points if p[0] >= middle])
    half_minimum = max(min_slope_bytes_per_s / 2.0, 0.0)
    grows_in_both = all(s is not None and s > 0 and s >= half_minimum for s in (first, second))
    return slope, grows_in_both


# --- Before/after comparison of two versions ------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Every number of a before/after comparison of two versions, and why it is a regression (if it is).

    `reasons` is empty when nothing regressed. `event_fields()` gives the numeric fields of the
    RegressionDetected / NoRegression events (the caller adds name, host, action and the versions).
    """

    calls_before: int
    calls_after: int
    errors_before: int
    errors_after: int
    p50_ms_before: float | None
    p50_ms_after: float | None
    p99_ms_before: float | None
    p99_ms_after: float | None
    error_rate_before: float
    error_rate_after: float
    latency_u: float
    latency_p_value: float
    latency_effect: float
    error_p_value: float
    cpu_ms_per_call_before: float | None = None
    cpu_ms_per_call_after: float | None = None
    latency_regressed: bool = False
    errors_regressed: bool = False
    cpu_regressed: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.reasons)

    def event_fields(self) -> dict[str, float | int | None]:
        """The fields the telemetry comparison events carry, under their names there (no reasons, no identity)."""
        return {
            "calls_before": self.calls_before,
            "calls_after": self.calls_after,
            "p50_ms_before": self.p50_ms_before,
            "p50_ms_after": self.p50_ms_after,
            "p99_ms_before": self.p99_ms_before,
            "p99_ms_after": self.p99_ms_after,
            "error_rate_before": self.error_rate_before,
            "error_rate_after": self.error_rate_after,
            "latency_p_value": self.latency_p_value,
            "latency_effect": self.latency_effect,
            "error_p_value": self.error_p_value,
            "cpu_ms_per_call_before": self.cpu_ms_per_call_before,
            "cpu_ms_per_call_after": self.cpu_ms_per_call_after,
        }


def _fmt_ms(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fmt_p(p: float) -> str:
    return "p<1e-300" if p <= 0 else f"p={p:.2g}"


def _fmt_rate(rate: float) -> str:
    percent = rate * 100.0
    return f"{percent:.1f}%" if percent >= 1 or percent == 0 else f"{percent:.2g}%"


def _grew(before: float | None, after: float | None, min_ratio: float) -> bool:
    if before is None or after is None:
        return False
    if before <= 0:
        return after > 0
    return after >= min_ratio * before


def compare(
    before_hist: Sequence[int],
    after_hist: Sequence[int],
    errors_before: int,
    calls_before: int,
    errors_after: int,
    calls_after: int,
    *,
    min_calls: int = 100,
    alpha: float = 0.01,
    min_effect: float = 0.2,
    min_ratio: float = 1.2,
    cpu_ms_per_call_before: float | None = None,
    cpu_ms_per_call_after: float | None = None,
) -> Comparison | None:
    """Compares a version's calls (after) with the previous version's (before); None until both have `min_calls`.

    It regressed when any of these holds (each one adds a sentence to `reasons`):
    - latency: Mann-Whitney p < alpha, Cliff's delta >= min_effect, and p50 or p99 grew at least min_ratio-fold.
      The test alone would flag a 1% slowdown over enough calls; the effect size and ratio keep it to ones that
      matter;
    - errors: the z test's p < alpha and the error rate grew at least min_ratio-fold (same reason: a large volume
      makes a tiny increase significant);
    - cpu: cpu ms per call grew at least min_ratio-fold (both figures given, the previous one > 0).
    """
    before_hist, after_hist = _histogram(before_hist, "before histogram"), _histogram(after_hist, "after histogram")
    if calls_before < min_calls or calls_after < min_calls:
        return None
    p50_before, p50_after = percentile(before_hist, 0.5), percentile(after_hist, 0.5)
    p99_before, p99_after = percentile(before_hist, 0.99), percentile(after_hist, 0.99)
    u, latency_p, effect = mann_whitney_binned(before_hist, after_hist)
    error_p, _ = two_proportion_test(errors_before, calls_before, errors_after, calls_after)
    rate_before, rate_after = errors_before / calls_before, errors_after / calls_after

    reasons: list[str] = []
    p99_grew, p50_grew = _grew(p99_before, p99_after, min_ratio), _grew(p50_before, p50_after, min_ratio)
    latency_regressed = latency_p < alpha and effect >= min_effect and (p99_grew or p50_grew)
    if latency_regressed:
        grown = (("p99", p99_before, p99_after, p99_grew), ("p50", p50_before, p50_after, p50_grew))
        parts = [
            f"{label} latency {_fmt_ms(after)} ms against {_fmt_ms(before)} ms before"
            for label, before, after, grew in grown
            if grew and before is not None and after is not None
        ]
        reasons.append(f"{', '.join(parts)} (Mann-Whitney {_fmt_p(latency_p)}, Cliff's delta {effect:.2f})")

    errors_regressed = error_p < alpha and _grew(rate_before, rate_after, min_ratio)
    if errors_regressed:
        reasons.append(
            f"error rate {_fmt_rate(rate_after)} against {_fmt_rate(rate_before)} before "
            f"({errors_after} of {calls_after} calls against {errors_before} of {calls_before}; "
            f"z test {_fmt_p(error_p)})"
        )

    cpu_regressed = False
    if cpu_ms_per_call_before is not None and cpu_ms_per_call_after is not None and cpu_ms_per_call_before > 0:
        cpu_regressed = cpu_ms_per_call_after >= min_ratio * cpu_ms_per_call_before
        if cpu_regressed:
            reasons.append(
                f"cpu per call {_fmt_ms(cpu_ms_per_call_after)} ms against {_fmt_ms(cpu_ms_per_call_before)} ms before "
                f"({cpu_ms_per_call_after / cpu_ms_per_call_before:.1f}x, over {calls_after} calls)"
            )

    return Comparison(
        calls_before=calls_before,
        calls_after=calls_after,
        errors_before=errors_before,
        errors_after=errors_after,
        p50_ms_before=p50_before,
        p50_ms_after=p50_after,
        p99_ms_before=p99_before,
        p99_ms_after=p99_after,
        error_rate_before=rate_before,
        error_rate_after=rate_after,
        latency_u=u,
        latency_p_value=latency_p,
        latency_effect=effect,
        error_p_value=error_p,
        cpu_ms_per_call_before=cpu_ms_per_call_before,
        cpu_ms_per_call_after=cpu_ms_per_call_after,
        latency_regressed=latency_regressed,
        errors_regressed=errors_regressed,
        cpu_regressed=cpu_regressed,
        reasons=reasons,
    )
