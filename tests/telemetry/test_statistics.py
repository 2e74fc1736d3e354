"""plugyard_telemetry.statistics against hand-computed values, brute force and a few properties."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS, NoRegression, RegressionDetected
from plugyard_telemetry import statistics as stats
from plugyard_telemetry.statistics import (
    compare,
    leak_verdict,
    mann_whitney_binned,
    merge,
    percentile,
    theil_sen_slope,
    to_histogram,
    two_proportion_test,
)


def hist(**counts: int) -> list[int]:
    """A histogram from counts by bucket index, e.g. hist(b3=6)."""
    out = [0] * LATENCY_BUCKET_COUNT
    for key, count in counts.items():
        out[int(key[1:])] = count
    return out


histograms = st.lists(st.integers(0, 1000), min_size=LATENCY_BUCKET_COUNT, max_size=LATENCY_BUCKET_COUNT)


# --- merge ----------------------------------------------------------------------------------------------------


def test_merge_adds_bucket_by_bucket() -> None:
    assert merge([hist(b0=1, b3=2), hist(b3=5, b15=1)]) == hist(b0=1, b3=7, b15=1)
    assert merge([]) == [0] * LATENCY_BUCKET_COUNT


@pytest.mark.parametrize(
    "bad", [[1] * (LATENCY_BUCKET_COUNT - 1), [1] * (LATENCY_BUCKET_COUNT + 1), [], [-1] + [0] * 15, [0.5] * 16]
)
def test_merge_refuses_wrong_histograms(bad: list[int]) -> None:
    with pytest.raises(ValueError):
        merge([hist(b0=1), bad])


@given(histograms, histograms, histograms)
def test_merge_is_associative_and_commutative(a: list[int], b: list[int], c: list[int]) -> None:
    assert merge([merge([a, b]), c]) == merge([a, merge([b, c])]) == merge([c, b, a])


def test_whole_numbers_of_other_types_are_counts() -> None:
    from decimal import Decimal

    assert merge([[Decimal(2)] * 16, [3.0] * 16]) == [5] * 16
    for bad in (1.5, True, "1", None):
        with pytest.raises(ValueError):
            merge([[bad] + [0] * 15])


def test_to_histogram_bounds_are_inclusive_upper_bounds() -> None:
    assert to_histogram([0.0, 0.5, 0.51, 30000, 30000.1, 1e9]) == hist(b0=2, b1=1, b14=1, b15=2)


# --- percentile -----------------------------------------------------------------------------------------------


def test_percentile_interpolates_inside_its_bucket() -> None:
    # 10 calls in (10, 25] ms: the median's rank 5 is halfway through the bucket
    assert percentile(hist(b5=10), 0.5) == pytest.approx(17.5)
    assert percentile(hist(b5=10), 0.9) == pytest.approx(10 + 15 * 9 / 10)
    # 4 calls in (0, 0.5], 6 in (2.5, 5]: rank 5 is the first of the 6 -> 2.5 + 2.5 * 1/6
    assert percentile(hist(b0=4, b3=6), 0.5) == pytest.approx(2.5 + 2.5 / 6)
    # the first bucket starts at 0 ms
    assert percentile(hist(b0=4), 0.25) == pytest.approx(0.125)


def test_percentile_in_the_overflow_bucket_is_the_last_bound() -> None:
    assert percentile(hist(b15=3), 0.5) == LATENCY_BUCKETS_MS[-1]
    assert percentile(hist(b2=99, b15=1), 0.999) == LATENCY_BUCKETS_MS[-1]


def test_percentile_of_nothing_is_none_and_q_must_be_inside_0_1() -> None:
    assert percentile([0] * LATENCY_BUCKET_COUNT, 0.5) is None
    for q in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError):
            percentile(hist(b1=1), q)
    with pytest.raises(ValueError):
        percentile([1, 2, 3], 0.5)


@given(histograms, st.floats(0.001, 0.999), st.floats(0.001, 0.999))
def test_percentile_is_monotone_in_q_and_inside_the_used_buckets(h: list[int], q1: float, q2: float) -> None:
    if sum(h) == 0:
        assert percentile(h, q1) is None
        return
    low_q, high_q = sorted((q1, q2))
    low, high = percentile(h, low_q), percentile(h, high_q)
    assert low is not None and high is not None
    assert low <= high + 1e-9
    first = next(i for i, c in enumerate(h) if c)
    last = max(i for i, c in enumerate(h) if c)
    bounds = (0.0, *LATENCY_BUCKETS_MS, LATENCY_BUCKETS_MS[-1])
    assert bounds[first] - 1e-9 <= low and high <= bounds[last + 1] + 1e-9


# --- Mann-Whitney ---------------------------------------------------------------------------------------------


def brute_force(before: list[int], after: list[int]) -> tuple[float, float, float]:
    """U, Cliff's delta and the tie-corrected normal p-value, from the expanded samples and their midranks."""
    xs = [i for i, c in enumerate(before) for _ in range(c)]
    ys = [i for i, c in enumerate(after) for _ in range(c)]
    greater = sum(1 for y in ys for x in xs if y > x)
    ties = sum(1 for y in ys for x in xs if y == x)
    less = sum(1 for y in ys for x in xs if y < x)
    u = greater + 0.5 * ties
    delta = (greater - less) / (len(xs) * len(ys))
    combined = sorted(xs + ys)
    n = len(combined)
    midrank = {v: (combined.index(v) + 1 + n - combined[::-1].index(v)) / 2 for v in set(combined)}
    # Var(U) = Var(rank sum of `after`) = n_a n_b / (N (N - 1)) * sum of squared deviations of all midranks
    deviations = sum((midrank[v] - (n + 1) / 2) ** 2 for v in combined)
    variance = len(xs) * len(ys) / (n * (n - 1)) * deviations
    z = (u - len(xs) * len(ys) / 2 - 0.5) / math.sqrt(variance)
    return u, 1 - NormalDist().cdf(z), delta


def test_mann_whitney_matches_a_pairwise_count_on_small_binned_data() -> None:
    before, after = [3, 5, 2, 0], [1, 2, 4, 3]
    u, p, delta = mann_whitney_binned(before, after)
    # by hand: after's 1 in bin 0 ties 3 -> 1.5; 2 in bin 1 beat 3, tie 5 -> 2*(3+2.5)=11; 4 in bin 2 beat 8, tie 2
    # -> 4*(8+1)=36; 3 in bin 3 beat all 10 -> 30. u = 78.5 of 100 pairs
    assert u == 78.5
    assert delta == pytest.approx(2 * 78.5 / 100 - 1)
    expected_u, expected_p, expected_delta = brute_force(before, after)
    assert (u, delta) == (expected_u, pytest.approx(expected_delta))
    assert p == pytest.approx(expected_p, rel=1e-9)
    assert p < 0.05


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=2, max_size=5))
def test_mann_whitney_agrees_with_brute_force(bins: list[tuple[int, int]]) -> None:
    before, after = [b for b, _ in bins], [a for _, a in bins]
    u, p, delta = mann_whitney_binned(before, after)
    if sum(before) == 0 or sum(after) == 0 or sum(1 for b, a in bins if a + b) == 1:
        assert (p, delta) == (1.0, 0.0)
        return
    expected_u, expected_p, expected_delta = brute_force(before, after)
    assert u == expected_u
    assert delta == pytest.approx(expected_delta)
    assert p == pytest.approx(expected_p, rel=1e-9, abs=1e-12)


def test_mann_whitney_degenerate_cases_carry_no_evidence() -> None:
    assert mann_whitney_binned([0, 0, 0], [1, 2, 3])[1:] == (1.0, 0.0)
    assert mann_whitney_binned([1, 2, 3], [0, 0, 0])[1:] == (1.0, 0.0)
    assert mann_whitney_binned([0, 40, 0], [0, 70, 0]) == (40 * 70 / 2, 1.0, 0.0)
    with pytest.raises(ValueError):
        mann_whitney_binned([1, 2], [1, 2, 3])


def test_mann_whitney_direction() -> None:
    slower = mann_whitney_binned(hist(b3=100), hist(b6=100))
    faster = mann_whitney_binned(hist(b6=100), hist(b3=100))
    assert slower[1] < 1e-30 and slower[2] == 1.0
    assert faster[1] > 0.999 and faster[2] == -1.0


# --- two proportions ------------------------------------------------------------------------------------------


def test_two_proportion_test_by_hand() -> None:
    # 10/100 against 20/100: pooled 0.15, se = sqrt(0.15 * 0.85 * (1/100 + 1/100)) = 0.050498, z = 1.9803
    p, diff = two_proportion_test(10, 100, 20, 100)
    assert diff == pytest.approx(0.1)
    assert p == pytest.approx(0.02384, rel=1e-3)
    assert two_proportion_test(20, 100, 10, 100)[0] == pytest.approx(1 - 0.02384, rel=1e-3)


def test_two_proportion_test_degenerate_cases() -> None:
    assert two_proportion_test(0, 100, 0, 100) == (1.0, 0.0)
    assert two_proportion_test(100, 100, 50, 50) == (1.0, 0.0)
    assert two_proportion_test(0, 0, 5, 10) == (1.0, 0.0)
    with pytest.raises(ValueError):
        two_proportion_test(11, 10, 0, 10)


# --- compare --------------------------------------------------------------------------------------------------


def latencies(seed: int, n: int, shift_ms: float = 0.0) -> list[int]:
    rng = random.Random(seed)
    return to_histogram(rng.uniform(2, 20) + shift_ms for _ in range(n))


def test_compare_waits_for_enough_calls() -> None:
    assert compare(latencies(1, 99), latencies(2, 300), 0, 99, 0, 300) is None
    assert compare(latencies(1, 300), latencies(2, 99), 0, 300, 0, 99) is None
    assert compare(latencies(1, 50), latencies(2, 50), 0, 50, 0, 50, min_calls=50) is not None


def test_same_distribution_is_no_regression() -> None:
    result = compare(latencies(1, 300), latencies(2, 300), 3, 300, 4, 300)
    assert result is not None
    assert not result.regressed and result.reasons == []
    assert 0.05 < result.latency_p_value < 0.95 and abs(result.latency_effect) < 0.2
    assert result.error_p_value > 0.1
    identical = compare(latencies(1, 300), latencies(1, 300), 3, 300, 3, 300)
    assert identical is not None and identical.latency_p_value == pytest.approx(0.5, abs=0.01)
    NoRegression(name="p", host="h", action="a", version="2", previous_version="1", **result.event_fields())


def test_a_50ms_shift_over_300_calls_is_a_latency_regression_naming_p99() -> None:
    before, after = latencies(1, 300), latencies(2, 300, shift_ms=50)
    result = compare(before, after, 3, 300, 3, 300)
    assert result is not None and result.regressed
    assert result.latency_regressed and not result.errors_regressed and not result.cpu_regressed
    assert result.p99_ms_after > 2 * result.p99_ms_before  # type: ignore[operator]
    assert result.latency_p_value < 1e-30 and result.latency_effect > 0.95
    [reason] = result.reasons
    assert reason.startswith(f"p99 latency {result.p99_ms_after:.1f} ms against {result.p99_ms_before:.1f} ms before")
    assert "Mann-Whitney p=" in reason and "Cliff's delta 1.00" in reason
    event = RegressionDetected(
        name="p", host="h", action="a", version="2", previous_version="1", reasons=result.reasons,
        **result.event_fields(),
    )
    assert event.latency_effect == result.latency_effect


def test_a_significant_slowdown_with_a_small_effect_is_not_a_regression() -> None:
    # 5000 calls each; after, 15% more of them in (500, 1000] than in (250, 500]: overwhelming evidence, p50 grows
    # 1.23x, but Cliff's delta is only 0.65 * 0.5 - 0.35 * 0.5 = 0.15 < min_effect
    before, after = hist(b9=2500, b10=2500), hist(b9=1750, b10=3250)
    result = compare(before, after, 0, 5000, 0, 5000)
    assert result is not None and result.latency_p_value < 1e-20
    assert result.latency_effect == pytest.approx(0.15)
    assert result.p50_ms_after >= 1.2 * result.p50_ms_before  # type: ignore[operator]
    assert not result.regressed


def test_a_slowdown_under_min_ratio_is_not_a_regression() -> None:
    before, after = latencies(1, 300), latencies(2, 300, shift_ms=50)
    result = compare(before, after, 0, 300, 0, 300, min_ratio=10.0)
    assert result is not None and result.latency_p_value < 1e-30 and result.latency_effect > 0.95
    assert not result.regressed


def test_more_errors_is_a_regression_with_both_rates() -> None:
    result = compare(latencies(1, 300), latencies(2, 300), 3, 300, 36, 300)
    assert result is not None and result.errors_regressed and not result.latency_regressed
    assert (result.error_rate_before, result.error_rate_after) == (0.01, 0.12)
    [reason] = result.reasons
    assert reason.startswith("error rate 12.0% against 1.0% before (36 of 300 calls against 3 of 300; z test p=")


def test_cpu_per_call_growth_is_a_regression() -> None:
    same = latencies(1, 300)
    result = compare(same, same, 0, 300, 0, 300, cpu_ms_per_call_before=2.0, cpu_ms_per_call_after=3.0)
    assert result is not None and result.cpu_regressed
    assert result.reasons == ["cpu per call 3.0 ms against 2.0 ms before (1.5x, over 300 calls)"]
    small = compare(same, same, 0, 300, 0, 300, cpu_ms_per_call_before=2.0, cpu_ms_per_call_after=2.3)
    assert small is not None and not small.regressed


# --- Theil-Sen and leaks --------------------------------------------------------------------------------------


def test_theil_sen_ignores_a_single_outlier() -> None:
    points = [(float(x), 3.0 * x + 2.0) for x in range(20)]
    points[7] = (7.0, 1e9)
    assert theil_sen_slope(points) == 3.0
    # least squares follows the outlier far away
    mean_x = sum(x for x, _ in points) / 20
    mean_y = sum(y for _, y in points) / 20
    ols = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    assert abs(ols - 3.0) > 1e6


def test_theil_sen_needs_two_distinct_times() -> None:
    assert theil_sen_slope([]) is None
    assert theil_sen_slope([(1.0, 5.0)]) is None
    assert theil_sen_slope([(1.0, 5.0), (1.0, 9.0)]) is None
    assert theil_sen_slope([(1.0, 5.0), (3.0, 9.0)]) == 2.0


def test_theil_sen_subsamples_pairs_deterministically(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "THEIL_SEN_ALL_PAIRS_MAX_POINTS", 100)
    monkeypatch.setattr(stats, "THEIL_SEN_SAMPLED_PAIRS", 5000)
    rng = random.Random(5)
    points = [(float(t), 7.0 * t + rng.gauss(0, 20)) for t in range(1000)]
    first = theil_sen_slope(points)
    assert first == theil_sen_slope(points)
    assert first == pytest.approx(7.0, abs=0.05)


def test_leak_verdict() -> None:
    rng = random.Random(3)
    times = range(0, 601, 5)
    leaking = [(float(t), 100e6 + 200e3 * t + rng.gauss(0, 2e6)) for t in times]
    slope, is_leak = leak_verdict(leaking, min_span_s=300, min_slope_bytes_per_s=100e3)
    assert is_leak and slope == pytest.approx(200e3, rel=0.05)
    # the same growth over too short a span says nothing yet
    assert leak_verdict(leaking[:40], min_span_s=300, min_slope_bytes_per_s=100e3)[1] is False
    flat = [(float(t), 100e6 + rng.gauss(0, 2e6)) for t in times]
    assert leak_verdict(flat, 300, 100e3)[1] is False
    # one step of 60 MB in the middle: the window's slope passes the minimum, but neither half grows
    step = [(float(t), 100e6 + (60e6 if t >= 300 else 0.0)) for t in times]
    slope, is_leak = leak_verdict(step, 300, 100e3)
    assert slope is not None and slope >= 100e3 and not is_leak
    assert leak_verdict([], 300, 100e3) == (None, False)


# --- Confidence intervals -------------------------------------------------------------------------------------
