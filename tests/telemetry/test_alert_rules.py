"""plugyard_telemetry.alert_rules: loading and checking rules, and the raise/resolve state machine."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from plugyard_schemas.telemetry import AlertRaised, AlertResolved
from plugyard_telemetry.alert_rules import (
    ALERT_RULES_ENV,
    METRICS,
    AlertBook,
    AlertKey,
    AlertRulesError,
    OpenAlert,
    Raise,
    Resolve,
    Rule,
    load_rules,
    parse_duration,
    parse_rules,
    rules_from_env,
)

GOOD_RULE = """
[[rule]]
name = "first"
metric = "error_rate"
above = 0.1
clear_below = 0.05
for = "30s"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return path


# --- Loading --------------------------------------------------------------------------------------------------


def test_shipped_defaults() -> None:
    rules = {rule.name: rule for rule in load_rules()}
    assert {rule.metric for rule in rules.values()} == METRICS
    by_metric = {rule.metric: rule for rule in rules.values()}
    error_rate = by_metric["error_rate"]
    assert (error_rate.above, error_rate.clear_below, error_rate.for_s, error_rate.min_calls) == (0.05, 0.02, 60, 20)
    p99 = by_metric["p99_ms"]
    assert p99.for_s == 60 and p99.thresholds() == (1000.0, 800.0) and p99.thresholds("any") == (1000.0, 800.0)
    rss = by_metric["rss_fraction"]
    assert (rss.above, rss.clear_below, rss.for_s) == (0.9, 0.8, 30)
    crashes = by_metric["crash_count"]
    assert (crashes.above, crashes.clear_below, crashes.for_s, crashes.window_s) == (2, 0.5, 0, 600)
    leak = by_metric["leak_bytes_per_s"]
    assert (leak.above, leak.clear_below, leak.for_s) == (100_000, 10_000, 0)
    violations = by_metric["violations"]
    assert (violations.clear_below, violations.for_s) == (0.5, 0) and violations.above < 1  # raised at the first one
    for rule in rules.values():
        assert rule.clear_below <= rule.above
        rule.render(AlertKey(rule.name, "plug", "host-1"), 3.0, 2.0, "act")


def test_rules_from_env(tmp_path: Path) -> None:
    assert rules_from_env({}) == load_rules()
    assert rules_from_env({ALERT_RULES_ENV: ""}) == load_rules()
    path = write(tmp_path, GOOD_RULE)
    [rule] = rules_from_env({ALERT_RULES_ENV: str(path)})
    assert rule == Rule(name="first", metric="error_rate", above=0.1, clear_below=0.05, for_s=30.0)
    missing = tmp_path / "nope.toml"
    with pytest.raises(AlertRulesError, match="nope.toml"):
        rules_from_env({ALERT_RULES_ENV: str(missing)})


def test_budget_table(tmp_path: Path) -> None:
    [rule] = load_rules(write(tmp_path, """
[[rule]]
name = "slow"
metric = "p99_ms"
above = 1.0
clear_below = 0.8
[rule.budget_ms]
default = 1000
resize = 5000
"""))
    assert rule.thresholds("resize") == (5000.0, 4000.0)
    assert rule.thresholds("other") == rule.thresholds(None) == (1000.0, 800.0)
    # resize at 4000 ms is 80% of its budget, thumbnail at 900 ms 90% of the default: the worst is thumbnail
    assert rule.most_over_budget({"resize": 4000.0, "thumbnail": 900.0}) == ("thumbnail", 900.0)
    assert rule.most_over_budget({"resize": 6000.0, "thumbnail": 900.0}) == ("resize", 6000.0)
    assert rule.most_over_budget({}) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(0, 0.0), (90, 90.0), (1.5, 1.5), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1m30s", 90.0),
     ("250ms", 0.25), ("2d", 172800.0), (" 10s ", 10.0)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "30", "5 minutes", "-5s", "1x", -1, True, None, float("inf"), [1]])
def test_parse_duration_refuses(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


BAD_RULES = {
    "unknown metric": ('metric = "latency"', "metric", "unknown metric 'latency'"),
    "clear_below above above": ("clear_below = 0.5", "clear_below", "above `above`"),
    "bad duration": ('for = "5 minutes"', "for", "bad duration"),
    "unknown key": ("threshold = 3", "threshold", "unknown key"),
    "missing above": (None, "above", "missing"),
    "above not a number": ('above = "high"', "above", "not a finite number"),
    "clear_below unreachable": ('metric = "crash_count"\nclear_below = 0', "clear_below", "never resolve"),
    "min_calls on a non-rate metric": ('metric = "rss_fraction"\nmin_calls = 5', "min_calls", "only for"),
    "min_calls negative": ("min_calls = -1", "min_calls", "whole number"),
    "window on an instant metric": ('metric = "rss_fraction"\nwindow = "5m"', "window", "reading at one moment"),
    "bad window": ('window = "soon"', "window", "bad duration"),
    "budget on the wrong metric": ("budget_ms = { default = 100 }", "budget_ms", "only for p99_ms"),
    "budget without default": ('metric = "p99_ms"\nbudget_ms = { resize = 100 }', "budget_ms", "default"),
    "budget not positive": ('metric = "p99_ms"\nbudget_ms = { default = 100, resize = 0 }', "budget_ms.resize",
                            "positive"),
    "bad severity": ('severity = "page"', "severity", "one of info, warning, critical"),
    "bad message": ('message = "{plugin} is broken"', "message", "cannot be filled in"),
    "message format spec": ('message = "{name:.1%}"', "message", "cannot be filled in"),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_every_problem_names_the_file_the_rule_and_the_field(tmp_path: Path, case: str) -> None:
    change, field, problem = BAD_RULES[case]
    lines = ['[[rule]]', 'name = "second"', 'metric = "error_rate"', "above = 0.2", "clear_below = 0.1"]
    if change is None:
        lines.remove("above = 0.2")
    else:
        for line in change.splitlines():
            key = line.split("=")[0].strip()
            lines = [existing for existing in lines if existing.split("=")[0].strip() != key] + [line]
    path = write(tmp_path, GOOD_RULE + "\n" + "\n".join(lines) + "\n")
    with pytest.raises(AlertRulesError) as caught:
        load_rules(path)
    error = caught.value
    assert (error.source, error.index, error.rule, error.field) == (str(path), 2, "second", field)
    message = str(error)
    assert message.startswith(f"{path}: rule #2 ('second'), field '{field}': ")
    assert problem in message


def test_duplicate_names_and_missing_names(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_RULE + GOOD_RULE)
    with pytest.raises(AlertRulesError) as caught:
        load_rules(path)
    assert (caught.value.index, caught.value.rule, caught.value.field) == (2, "first", "name")
    assert "duplicate rule name (first at rule #1)" in str(caught.value)

    path = write(tmp_path, GOOD_RULE + '[[rule]]\nmetric = "error_rate"\n')
    with pytest.raises(AlertRulesError, match=r"rule #2 \(no name\), field 'name': missing") as caught:
        load_rules(path)
    assert str(path) in str(caught.value)


def test_file_level_problems_name_the_file(tmp_path: Path) -> None:
    cases = {
        "[[rule]\n": (None, "not valid TOML"),
        "[rule]\nname = 'x'\n": ("rule", "write [[rule]]"),
        "colour = 'red'\n" + GOOD_RULE: ("colour", "unknown top-level key"),
    }
    for text, (field, problem) in cases.items():
        path = write(tmp_path, text)
        with pytest.raises(AlertRulesError) as caught:
            load_rules(path)
        assert str(caught.value).startswith(str(path)) and problem in str(caught.value)
        assert caught.value.field == field
    assert parse_rules("", "empty.toml") == []


# --- The state machine ----------------------------------------------------------------------------------------


ERRORS = Rule(name="errors", metric="error_rate", above=0.05, clear_below=0.02, for_s=60.0, min_calls=20,
              message="{name} on {host}: {value:.0%} > {threshold:.0%}")
KEY = AlertKey("errors", "plug", "host-1")


def run(book: AlertBook, rule: Rule, sequence: list[tuple[float, float | None]], key: AlertKey = KEY) -> list:
    return [book.observe(now, key, rule, value) for now, value in sequence]


def test_raised_after_holding_for_then_resolved_below_clear_with_hysteresis() -> None:
    book = AlertBook()
    out = run(book, ERRORS, [(0, 0.1), (30, 0.2), (60, 0.1), (90, 0.2), (120, 0.03), (150, 0.05), (180, 0.01)])
    assert out[:2] == [None, None]
    raised = out[2]
    assert isinstance(raised, Raise)
    assert (raised.key, raised.value, raised.threshold, raised.for_s) == (KEY, 0.1, 0.05, 60.0)
    assert (raised.pending_since, raised.raised_at, raised.message) == (0, 60, "plug on host-1: 10% > 5%")
    assert out[3:6] == [None, None, None]  # still above: no second alert; 0.03 and 0.05 are in the band: stays open
    resolved = out[6]
    assert isinstance(resolved, Resolve)
    assert (resolved.alert_id, resolved.value, resolved.clear_threshold) == (raised.alert_id, 0.01, 0.02)
    assert (resolved.raised_at, resolved.resolved_at) == (60, 180)
    assert book.open_alerts() == []
    # free again: a new condition waits its `for` afresh and gets a new id
    again = run(book, ERRORS, [(200, 0.5), (260, 0.5)])
    assert again[0] is None and isinstance(again[1], Raise) and again[1].alert_id != raised.alert_id


def test_a_pending_condition_that_drops_resets() -> None:
    book = AlertBook()
    out = run(book, ERRORS, [(0, 0.1), (30, 0.05), (60, 0.1), (119, 0.1), (120, 0.1)])
    assert out[:4] == [None] * 4  # 0.05 is not above 0.05: the wait restarts at 60
    assert isinstance(out[4], Raise) and out[4].pending_since == 60
    assert book.pending_since(KEY) is None


def test_missing_data_and_too_few_calls_are_no_evidence() -> None:
    book = AlertBook()
    assert run(book, ERRORS, [(0, 0.5), (30, None)]) == [None, None]
    assert book.pending_since(KEY) is None
    assert book.observe(40, KEY, ERRORS, 0.5, calls=19) is None and book.pending_since(KEY) is None
    assert book.observe(50, KEY, ERRORS, 0.5, calls=20) is None and book.pending_since(KEY) == 50
    assert isinstance(book.observe(110, KEY, ERRORS, 0.5, calls=200), Raise)
    # an open alert is neither resolved by a gap nor by a window of too few calls
    assert book.observe(120, KEY, ERRORS, None) is None
    assert book.observe(130, KEY, ERRORS, 0.0, calls=3) is None
    assert book.open_alert(KEY) is not None
    assert isinstance(book.observe(140, KEY, ERRORS, 0.0, calls=30), Resolve)


def test_for_zero_raises_at_once_and_counts_clear_at_zero() -> None:
    crashes = Rule(name="crash-loop", metric="crash_count", above=2, clear_below=0.5, window_s=600.0)
    key = AlertKey("crash-loop", "plug", "host-1")
    book = AlertBook()
    out = run(book, crashes, [(0, 2), (10, 3), (20, 5), (30, 1), (40, 0)], key)
    assert out[0] is None and isinstance(out[1], Raise) and out[2:4] == [None, None] and isinstance(out[4], Resolve)


def test_one_open_alert_per_rule_plugin_and_host() -> None:
    book = AlertBook()
    other_host, other_plugin = AlertKey("errors", "plug", "host-2"), AlertKey("errors", "other", "host-1")
    for key in (KEY, other_host, other_plugin):
        out = run(book, ERRORS, [(0, 0.5), (60, 0.5), (120, 0.9)], key)
        assert out[0] is None and isinstance(out[1], Raise) and out[2] is None
    assert [alert.key for alert in book.open_alerts()] == sorted([KEY, other_host, other_plugin])
    assert len({alert.alert_id for alert in book.open_alerts()}) == 3
    with pytest.raises(ValueError, match="rule"):
        book.observe(0, AlertKey("other-rule", "plug", "host-1"), ERRORS, 0.5)


def test_alert_ids_are_deterministic_uuid5() -> None:
    first = run(AlertBook(), ERRORS, [(1000.5, 0.5), (1060.5, 0.5)])[1]
    second = run(AlertBook(), ERRORS, [(1000.5, 0.5), (1060.5, 0.5)])[1]
    later = run(AlertBook(), ERRORS, [(1000.5, 0.5), (1061.0, 0.5)])[1]
    assert first.alert_id == second.alert_id != later.alert_id
    assert uuid.UUID(first.alert_id).version == 5


def test_the_book_is_rebuilt_from_its_open_alerts() -> None:
    book = AlertBook()
    raised = run(book, ERRORS, [(0, 0.5), (60, 0.5)])[1]
    # as a store gives them back: the key a plain tuple
    persisted = [
        OpenAlert(a.alert_id, tuple(a.key), a.metric, a.raised_at, a.value, a.threshold)  # type: ignore[arg-type]
        for a in book.open_alerts()
    ]
    rebuilt = AlertBook.from_open(persisted)
    assert rebuilt.open_alerts() == book.open_alerts()
    assert rebuilt.observe(100, KEY, ERRORS, 0.9) is None  # still open: no second raise
    resolved = rebuilt.observe(120, KEY, ERRORS, 0.0)
    assert isinstance(resolved, Resolve) and resolved.alert_id == raised.alert_id and resolved.raised_at == 60
    with pytest.raises(ValueError, match="two open alerts"):
        AlertBook.from_open(persisted + persisted)


def test_p99_budget_thresholds_per_action() -> None:
    rule = Rule(name="slow", metric="p99_ms", above=1.0, clear_below=0.8, for_s=0.0,
                budget_ms=(("default", 1000.0), ("resize", 5000.0)), message="{action} p99 {value:.0f} ms")
    key = AlertKey("slow", "plug", "host-1")
    book = AlertBook()
    assert book.observe(0, key, rule, 4500.0, action="resize") is None
    raised = book.observe(10, key, rule, 1200.0, action="thumbnail")
    assert isinstance(raised, Raise) and raised.threshold == 1000.0 and raised.message == "thumbnail p99 1200 ms"
    assert book.observe(20, key, rule, 900.0, action="thumbnail") is None  # in the band: 800..1000
    resolved = book.observe(30, key, rule, 700.0, action="thumbnail")
    assert isinstance(resolved, Resolve) and resolved.clear_threshold == 800.0


def test_transitions_fill_the_alert_events() -> None:
    book = AlertBook()
    raised = run(book, ERRORS, [(0, 0.5), (60, 0.5)])[1]
    event = AlertRaised(version="1.2.0", **raised.event_fields())
    assert (event.alert_id, event.rule, event.name, event.host) == (raised.alert_id, "errors", "plug", "host-1")
    assert (event.metric, event.value, event.threshold, event.for_s) == ("error_rate", 0.5, 0.05, 60.0)
    resolved = book.observe(90, KEY, ERRORS, 0.0)
    assert isinstance(resolved, Resolve)
    back = AlertResolved(**resolved.event_fields())
    assert (back.alert_id, back.value, back.clear_threshold) == (raised.alert_id, 0.0, 0.02)
