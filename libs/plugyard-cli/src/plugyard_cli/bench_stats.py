"""What `plugyard bench` makes of the raw latencies: medians, percentiles, the mean with its confidence interval,
the ratio of medians with a bootstrap interval, and one verdict sentence. Pure, standard library only.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0
Z_975 = statistics.NormalDist().inv_cdf(0.975)
# Student's t, 0.975 quantile, for 1..30 degrees of freedom; above 30 the Cornish-Fisher expansion is within 1e-4.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The q-quantile by nearest rank: the smallest value with at least q of the values at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)), 1) - 1]


def t_975(df: int) -> float:
    if df < 1:
        raise ValueError("at least one degree of freedom")
    if df <= len(T_975):
        return T_975[df - 1]
    z = Z_975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(samples: Sequence[float]) -> tuple[float, float | None, float | None]:
    """(mean, low, high): the mean and its 95% Student-t interval; no interval for a single sample."""
    if not samples:
        raise ValueError("no samples")
    mean = math.fsum(samples) / len(samples)
    if len(samples) == 1:
        return mean, None, None
    half = t_975(len(samples) - 1) * statistics.stdev(samples) / math.sqrt(len(samples))
    return mean, mean - half, mean + half


def _quantile_of_sorted(values: Sequence[float], q: float) -> float:
    position = q * (len(values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (position - below)


def ratio_of_medians_ci(a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float, float]:
    """(ratio, low, high): median(a) / median(b) and its 95% percentile-bootstrap interval.

    Medians, so that one slow call (a GC pause, a noisy neighbour) does not move the verdict; seeded, so that the
    same latencies give the same report.
    """
    if not a or not b:
        raise ValueError("both sides need samples")
    if any(not x > 0 for x in b):
        raise ValueError("the baseline's latencies must all be positive: the ratio divides by their median")
    rng = random.Random(seed)
    a_list, b_list = list(a), list(b)
    ratios = sorted(
        statistics.median(rng.choices(a_list, k=len(a_list))) / statistics.median(rng.choices(b_list, k=len(b_list)))
        for _ in range(resamples)
    )
    tail = (1 - CONFIDENCE) / 2
    return statistics.median(a) / statistics.median(b), _quantile_of_sorted(ratios, tail), _quantile_of_sorted(ratios, 1 - tail)


@dataclass
class VersionStats:
    version: str
    calls: int
    errors: int
    error_codes: dict[str, int] = field(default_factory=dict)
    median_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    mean_low_ms: float | None = None
    mean_high_ms: float | None = None


def version_stats(version: str, calls: int, latencies_ms: Sequence[float], error_codes: dict[str, int]) -> VersionStats:
    stats = VersionStats(version=version, calls=calls, errors=sum(error_codes.values()), error_codes=dict(error_codes))
    if latencies_ms:
        stats.median_ms = statistics.median(latencies_ms)
        stats.p90_ms = nearest_rank(latencies_ms, 0.90)
        stats.p99_ms = nearest_rank(latencies_ms, 0.99)
        stats.mean_ms, stats.mean_low_ms, stats.mean_high_ms = mean_ci(latencies_ms)
    return stats


def fmt_ratio(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def verdict(version: str, against: str, ratio: float, low: float, high: float) -> str:
    """One sentence: slower, faster, or no difference detectable (the interval of the ratio contains 1)."""
    interval = f"95% CI {fmt_ratio(low)}..{fmt_ratio(high)}"
    if low > 1:
        return f"{version} is {fmt_ratio(ratio)}x slower than {against} (ratio of medians {fmt_ratio(ratio)}, {interval})"
    if high < 1:
        return f"{version} is {fmt_ratio(1 / ratio)}x faster than {against} (ratio of medians {fmt_ratio(ratio)}, {interval})"
    return f"no difference detectable: the 95% CI of the ratio {fmt_ratio(low)}..{fmt_ratio(high)} contains 1"


@dataclass
class Comparison:
    """`version` against `against`; ratio and interval are None when either side has no successful call."""

    version: VersionStats
    against: VersionStats
    ratio: float | None
    low: float | None
    high: float | None
    verdict: str

    @property
    def comparable(self) -> bool:
        return self.ratio is not None


def compare(version: str, against: str, calls: int, latencies_ms: dict[str, list[float]], error_codes: dict[str, dict[str, int]]) -> Comparison:
    mine, theirs = (version_stats(v, calls, latencies_ms.get(v, []), error_codes.get(v, {})) for v in (version, against))
    failed = [s.version for s in (mine, theirs) if s.median_ms is None]
    if failed:
        return Comparison(mine, theirs, None, None, None, f"cannot compare: no call of {' nor '.join(failed)} succeeded")
    ratio, low, high = ratio_of_medians_ci(latencies_ms[version], latencies_ms[against])
    return Comparison(mine, theirs, ratio, low, high, verdict(version, against, ratio, low, high))
