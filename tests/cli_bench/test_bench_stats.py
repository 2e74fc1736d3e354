"""The bench's statistics (pure): percentiles by nearest rank, the mean's t interval, the bootstrap interval of the
ratio of medians, and the verdict sentence."""

from __future__ import annotations

import random
import statistics

import pytest

from plugyard_cli.bench_stats import compare, mean_ci, nearest_rank, ratio_of_medians_ci, t_975, verdict, version_stats


def lognormal(median_ms: float, n: int, seed: int, sigma: float = 0.25) -> list[float]:
    rng = random.Random(seed)
    return [median_ms * rng.lognormvariate(0, sigma) for _ in range(n)]


@pytest.mark.parametrize(("q", "expected"), [(0.0, 1), (0.01, 1), (0.10, 10), (0.5, 50), (0.90, 90), (0.901, 91), (0.99, 99), (1.0, 100)])
def test_nearest_rank_is_the_smallest_value_with_q_of_them_at_or_below(q, expected):
    values = list(range(100, 0, -1))  # unsorted on purpose
    assert nearest_rank(values, q) == expected


def test_nearest_rank_of_few_values_is_one_of_them():
    assert nearest_rank([3.0, 1.0, 2.0], 0.9) == 3.0
    assert nearest_rank([5.0], 0.99) == 5.0
    with pytest.raises(ValueError):
        nearest_rank([], 0.5)


def test_t_quantiles_match_the_table_and_approach_the_normal():
    assert t_975(1) == 12.706 and t_975(30) == 2.042
    assert abs(t_975(31) - 2.0395) < 1e-3 and abs(t_975(120) - 1.9799) < 1e-3
    assert abs(t_975(1_000_000) - 1.95996) < 1e-4
    with pytest.raises(ValueError):
        t_975(0)


def test_mean_interval_is_students_and_none_for_one_sample():
    mean, low, high = mean_ci([10.0, 12.0, 14.0])
    assert mean == 12.0 and low == pytest.approx(12 - 4.303 * 2 / 3**0.5) and high == pytest.approx(12 + 4.303 * 2 / 3**0.5)
    assert mean_ci([7.0]) == (7.0, None, None)


def test_the_bootstrap_is_deterministic_for_a_seed_and_moves_with_it():
    a, b = lognormal(12.0, 80, 1), lognormal(10.0, 80, 2)
    assert ratio_of_medians_ci(a, b) == ratio_of_medians_ci(a, b)
    assert ratio_of_medians_ci(a, b, seed=1) != ratio_of_medians_ci(a, b, seed=2)
    ratio, low, high = ratio_of_medians_ci(a, b)
    assert ratio == statistics.median(a) / statistics.median(b) and low < ratio < high


@pytest.mark.parametrize("true_ratio", [0.5, 1.0, 1.3, 48.0])
def test_the_interval_contains_the_true_ratio_of_synthetic_data(true_ratio):
    misses = 0
    for seed in range(40):
        baseline = lognormal(10.0, 60, 1000 + seed)
        tested = lognormal(10.0 * true_ratio, 60, 2000 + seed)
        _, low, high = ratio_of_medians_ci(tested, baseline, resamples=400)
        misses += not low <= true_ratio <= high
    assert misses <= 6  # a 95% interval misses about 2 in 40; the percentile bootstrap of a median a little more


def test_the_baseline_must_have_positive_latencies_and_both_sides_samples():
    with pytest.raises(ValueError):
        ratio_of_medians_ci([1.0], [0.0])
    with pytest.raises(ValueError):
        ratio_of_medians_ci([], [1.0])


def test_verdict_wording_slower_faster_and_no_difference():
    assert verdict("0.2.0", "0.1.0", 48.2, 45.1, 51.0) == "0.2.0 is 48.2x slower than 0.1.0 (ratio of medians 48.2, 95% CI 45.1..51.0)"
    assert verdict("0.2.0", "0.1.0", 1.23, 1.1, 1.4) == "0.2.0 is 1.23x slower than 0.1.0 (ratio of medians 1.23, 95% CI 1.10..1.40)"
    assert verdict("0.3.0", "0.2.0", 0.5, 0.45, 0.55) == "0.3.0 is 2.00x faster than 0.2.0 (ratio of medians 0.50, 95% CI 0.45..0.55)"
    assert verdict("0.2.0", "0.1.0", 1.0, 0.97, 1.04) == "no difference detectable: the 95% CI of the ratio 0.97..1.04 contains 1"


def test_compare_reports_both_versions_and_the_slower_one():
    slow, fast = lognormal(32.0, 50, 5, sigma=0.1), lognormal(2.0, 50, 6, sigma=0.1)
    comparison = compare("0.2.0", "0.1.0", 52, {"0.2.0": slow, "0.1.0": fast}, {"0.2.0": {"timeout": 2}, "0.1.0": {"a": 1, "b": 1}})
    assert comparison.comparable and comparison.low > 1
    assert comparison.verdict.startswith("0.2.0 is ") and "x slower than 0.1.0" in comparison.verdict
    assert (comparison.version.calls, comparison.version.errors, comparison.against.errors) == (52, 2, 2)
    assert comparison.version.median_ms == statistics.median(slow)
    assert comparison.version.p99_ms == max(slow)  # nearest rank of 50 values at 0.99 is the 50th


def test_compare_without_a_successful_call_cannot_compare():
    comparison = compare("0.2.0", "0.1.0", 3, {"0.2.0": [], "0.1.0": [1.0, 2.0, 3.0]}, {"0.2.0": {"timeout": 3}})
    assert not comparison.comparable and comparison.ratio is None
    assert comparison.verdict == "cannot compare: no call of 0.2.0 succeeded"
    stats = version_stats("0.2.0", 3, [], {"timeout": 3})
    assert (stats.median_ms, stats.p90_ms, stats.mean_ms, stats.errors) == (None, None, None, 3)
