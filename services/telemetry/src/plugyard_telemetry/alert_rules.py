"""Alert rules (TOML) and the pure state machine that raises and resolves alerts from observed values.

The shipped rules are `default_alerts.toml` next to this module; `PLUGYARD_ALERT_RULES` names a file that replaces
them. Each rule watches one metric per (plugin name, host): an alert is raised once the value has stayed above
`above` for `for` seconds, and resolved once it drops below `clear_below` (hysteresis: in between, an open alert
stays open). Loading checks everything and raises `AlertRulesError` naming the file, the rule and the field.

`AlertBook` holds the states and turns observations into `Raise` / `Resolve` transitions. It does no I/O and
reads no clock: the caller passes `now`, persists the open alerts and rebuilds the book with `AlertBook.from_open`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "ALERT_RULES_ENV",
    "DEFAULT_RULES_PATH",
    "METRICS",
    "SEVERITIES",
    "AlertBook",
    "AlertKey",
    "AlertRulesError",
    "OpenAlert",
    "Raise",
    "Resolve",
    "Rule",
    "Transition",
    "load_rules",
    "parse_duration",
    "parse_rules",
    "rules_from_env",
]

ALERT_RULES_ENV = "PLUGYARD_ALERT_RULES"
DEFAULT_RULES_PATH = Path(__file__).with_name("default_alerts.toml")

METRICS: frozenset[str] = frozenset(
    {"error_rate", "p99_ms", "rss_fraction", "crash_count", "leak_bytes_per_s", "violations", "regressed"}
)
# Metrics read off a number of calls, where too few calls say nothing (`min_calls`).
RATE_METRICS: frozenset[str] = frozenset({"error_rate", "p99_ms"})
# Metrics that are a reading at one moment, not a figure over a window (`window` makes no sense for them).
INSTANT_METRICS: frozenset[str] = frozenset({"rss_fraction", "regressed"})
# Metrics that can go negative (memory shrinking); every other one is >= 0, so `clear_below` must be > 0 for it or
# its alerts could never resolve (a value is never strictly below 0).
SIGNED_METRICS: frozenset[str] = frozenset({"leak_bytes_per_s"})
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")

DEFAULT_MESSAGE = "{rule}: {metric} of {name} on {host} is {value:g}, above {threshold:g} for {for_s:g}s"
_RULE_KEYS = frozenset(
    {"name", "metric", "above", "clear_below", "for", "min_calls", "window", "budget_ms", "severity", "message"}
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ALERT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "plugyard:telemetry:alert")


class AlertRulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule (number from 1 and name), the field."""

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        index: int | None = None,
        rule: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source, self.problem, self.index, self.rule, self.field = source, problem, index, rule, field
        where = source
        if index is not None:
            where += f": rule #{index} " + (f"({rule!r})" if rule is not None else "(no name)")
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a string such as "30s", "5m", "1h", "1m30s", "250ms"; ValueError else."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        parts = list(_DURATION_PART.finditer(text))
        if not text or "".join(part.group(0) for part in parts) != text:
            raise ValueError(f"{value!r} is not a duration: a number of seconds, or e.g. \"30s\", \"5m\", \"1h30m\"")
        seconds = sum(float(part.group(1)) * _DURATION_UNITS[part.group(2)] for part in parts)
    else:
        raise ValueError(f"{value!r} is not a duration")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration: it must be finite and >= 0")
    return seconds


# --- Rules ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One alert rule, as loaded and checked.

    For `p99_ms` with a budget table (`budget_ms`, action -> ms, with a "default"), `above` and `clear_below` are
    fractions of the action's budget; `thresholds(action)` turns them into ms. Without one, and for every other
    metric, they are in the metric's own unit (a fraction for rates, ms, bytes/s, a count).
    """

    name: str
    metric: str
    above: float
    clear_below: float
    for_s: float = 0.0
    min_calls: int | None = None
    window_s: float | None = None
    budget_ms: tuple[tuple[str, float], ...] = ()
    severity: str = "warning"
    message: str = DEFAULT_MESSAGE

    def budget_for(self, action: str | None) -> float | None:
        """The action's p99 budget in ms (the "default" one for an action without its own); None without a table."""
        if not self.budget_ms:
            return None
        budgets = dict(self.budget_ms)
        if action is not None and action in budgets:
            return budgets[action]
        return budgets["default"]

    def thresholds(self, action: str | None = None) -> tuple[float, float]:
        """(raise above, clear below) in the metric's unit, for the given action where there is a budget table."""
        budget = self.budget_for(action)
        if budget is None:
            return self.above, self.clear_below
        return self.above * budget, self.clear_below * budget

    def most_over_budget(self, p99_ms_by_action: Mapping[str, float]) -> tuple[str, float] | None:
        """The action whose p99 is the largest fraction of its threshold, with that p99: the one to observe.

        Alerts are kept per (rule, plugin, host), not per action, so a plugin is judged by its worst action.
        None for no actions.
        """
        best: tuple[float, str, float] | None = None
        for action, p99 in sorted(p99_ms_by_action.items()):
            above, _ = self.thresholds(action)
            share = p99 / above if above > 0 else math.inf
            if best is None or share > best[0]:
                best = (share, action, p99)
        return None if best is None else (best[1], best[2])

    def render(self, key: AlertKey, value: float, threshold: float, action: str | None = None) -> str:
        """The rule's message for one alert."""
        return self.message.format_map(_template_fields(self, key, value, threshold, action))


def _template_fields(rule: Rule, key: AlertKey, value: float, threshold: float, action: str | None) -> dict[str, Any]:
    return {
        "rule": rule.name,
        "name": key.name,
        "host": key.host,
        "action": action if action is not None else "",
        "metric": rule.metric,
        "value": value,
        "threshold": threshold,
        "for_s": rule.for_s,
        "severity": rule.severity,
    }


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _parse_rule(raw: object, index: int, source: str) -> Rule:
    def fail(problem: str, field: str | None = None, rule: str | None = None) -> AlertRulesError:
        return AlertRulesError(source, problem, index=index, rule=rule, field=field)

    if not isinstance(raw, dict):
        raise fail("a rule is a table ([[rule]])")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("missing or not a non-empty string", "name")
    name = name.strip()

    def bad(problem: str, field: str) -> AlertRulesError:
        return fail(problem, field, name)

    for key in sorted(raw):
        if key not in _RULE_KEYS:
            raise bad(f"unknown key; a rule has {', '.join(sorted(_RULE_KEYS))}", key)

    metric = raw.get("metric")
    if metric not in METRICS:
        raise bad(f"unknown metric {metric!r}; one of {', '.join(sorted(METRICS))}", "metric")

    thresholds: dict[str, float] = {}
    for field in ("above", "clear_below"):
        if field not in raw:
            raise bad("missing", field)
        number = _number(raw[field])
        if number is None:
            raise bad(f"{raw[field]!r} is not a finite number", field)
        thresholds[field] = number
    above, clear_below = thresholds["above"], thresholds["clear_below"]
    if clear_below > above:
        raise bad(f"{clear_below:g} is above `above` ({above:g}): a value between them would raise and resolve "
                  "an alert by turns", "clear_below")
    if metric not in SIGNED_METRICS and clear_below <= 0:
        raise bad(f"{metric} is never below 0, so an alert clearing below {clear_below:g} would never resolve",
                  "clear_below")

    try:
        for_s = parse_duration(raw.get("for", 0))
    except ValueError as exc:
        raise bad(f"bad duration: {exc}", "for") from None

    min_calls = raw.get("min_calls")
    if min_calls is not None:
        if metric not in RATE_METRICS:
            raise bad(f"only for {' and '.join(sorted(RATE_METRICS))}, not {metric}", "min_calls")
        if isinstance(min_calls, bool) or not isinstance(min_calls, int) or min_calls < 0:
            raise bad(f"{min_calls!r} is not a whole number >= 0", "min_calls")

    window_s = None
    if "window" in raw:
        if metric in INSTANT_METRICS:
            raise bad(f"{metric} is a reading at one moment, not a figure over a window", "window")
        try:
            window_s = parse_duration(raw["window"])
        except ValueError as exc:
            raise bad(f"bad duration: {exc}", "window") from None
        if window_s <= 0:
            raise bad("a window must be longer than 0", "window")

    budget_ms: tuple[tuple[str, float], ...] = ()
    if "budget_ms" in raw:
        if metric != "p99_ms":
            raise bad(f"only for p99_ms, not {metric}", "budget_ms")
        table = raw["budget_ms"]
        if not isinstance(table, dict):
            raise bad("a table of action = ms ([rule.budget_ms])", "budget_ms")
        if "default" not in table:
            raise bad("needs a `default` budget for the actions not listed", "budget_ms")
        budgets = []
        for action, ms in sorted(table.items()):
            number = _number(ms)
            if number is None or number <= 0:
                raise bad(f"{ms!r} is not a positive number of ms", f"budget_ms.{action}")
            budgets.append((action, number))
        budget_ms = tuple(budgets)
        if above <= 0:
            raise bad("with a budget table, `above` is a fraction of the budget and must be > 0", "above")

    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        raise bad(f"{severity!r}; one of {', '.join(SEVERITIES)}", "severity")

    message = raw.get("message", DEFAULT_MESSAGE)
    if not isinstance(message, str) or not message.strip():
        raise bad("not a non-empty string", "message")
    rule = Rule(
        name=name, metric=metric, above=above, clear_below=clear_below, for_s=for_s, min_calls=min_calls,
        window_s=window_s, budget_ms=budget_ms, severity=severity, message=message,
    )
    try:  # a template that cannot be filled in is found now, not when the first alert is raised
        rule.render(AlertKey(name, "plugin", "host"), 1.0, 2.0, "action")
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise bad(f"cannot be filled in ({type(exc).__name__}: {exc}); placeholders are "
                  "{rule} {name} {host} {action} {metric} {value} {threshold} {for_s} {severity}", "message") from None
    return rule


def parse_rules(text: str, source: str = "<rules>") -> list[Rule]:
    """The rules in a TOML text; `source` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AlertRulesError(source, f"not valid TOML: {exc}") from None
    for key in data:
        if key != "rule":
            raise AlertRulesError(source, "unknown top-level key; the file holds [[rule]] tables only", field=key)
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise AlertRulesError(source, "rules are an array of tables: write [[rule]], not [rule]", field="rule")
    rules: list[Rule] = []
    first_at: dict[str, int] = {}
    for index, raw in enumerate(raw_rules, start=1):
        rule = _parse_rule(raw, index, source)
        if rule.name in first_at:
            raise AlertRulesError(
                source, f"duplicate rule name (first at rule #{first_at[rule.name]})", index=index, rule=rule.name,
                field="name",
            )
        first_at[rule.name] = index
        rules.append(rule)
    return rules


def load_rules(path: Path | None = None) -> list[Rule]:
    """The rules in a TOML file; None for the shipped defaults (`default_alerts.toml` beside this module)."""
    path = DEFAULT_RULES_PATH if path is None else Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise AlertRulesError(str(path), f"cannot read the rules: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise AlertRulesError(str(path), f"not UTF-8: {exc}") from None
    return parse_rules(text, str(path))


def rules_from_env(environ: Mapping[str, str] | None = None) -> list[Rule]:
    """The rules of the file `PLUGYARD_ALERT_RULES` names, or the shipped defaults when it is unset or empty."""
    environ = os.environ if environ is None else environ
    path = environ.get(ALERT_RULES_ENV, "").strip()
    return load_rules(Path(path) if path else None)


# --- The state machine ----------------------------------------------------------------------------------------


class AlertKey(NamedTuple):
    """What an alert is about: one rule, one plugin, one host. At most one open alert per key."""

    rule: str
    name: str
    host: str


@dataclass(frozen=True)
class OpenAlert:
    """An alert that is open: what the service persists and `AlertBook.from_open` takes back."""

    alert_id: str
    key: AlertKey
    metric: str
    raised_at: float
    value: float
    threshold: float


@dataclass(frozen=True)
class Raise:
    """The value stayed above the rule's threshold for its `for`: a new alert."""

    alert_id: str
    key: AlertKey
    metric: str
    value: float
    threshold: float
    for_s: float
    pending_since: float
    raised_at: float
    severity: str
    message: str
    action: str | None = None

    def event_fields(self) -> dict[str, Any]:
        """The fields of the AlertRaised event (the caller adds the version); severity and action as extras."""
        fields: dict[str, Any] = {
            "alert_id": self.alert_id, "rule": self.key.rule, "name": self.key.name, "host": self.key.host,
            "metric": self.metric, "value": self.value, "threshold": self.threshold, "for_s": self.for_s,
            "message": self.message, "severity": self.severity,
        }
        if self.action is not None:
            fields["action"] = self.action
        return fields


@dataclass(frozen=True)
class Resolve:
    """An open alert's value fell below the rule's `clear_below`."""

    alert_id: str
    key: AlertKey
    metric: str
    value: float
    clear_threshold: float
    raised_at: float
    resolved_at: float

    def event_fields(self) -> dict[str, Any]:
        """The fields of the AlertResolved event."""
        return {
            "alert_id": self.alert_id, "rule": self.key.rule, "name": self.key.name, "host": self.key.host,
            "metric": self.metric, "value": self.value, "clear_threshold": self.clear_threshold,
        }


Transition = Raise | Resolve


def alert_id_for(key: AlertKey, raised_at: float) -> str:
    """The same id for the same alert on every replica and restart: uuid5 of rule, plugin, host and raise time."""
    return str(uuid.uuid5(_ALERT_ID_NAMESPACE, f"{key.rule}\x00{key.name}\x00{key.host}\x00{raised_at!r}"))


class AlertBook:
    """Per (rule, plugin, host): nothing, pending since a time, or open. Pure: the caller supplies `now`.

    Pending states are not persisted: after a restart (`from_open`) a condition that was pending starts its wait
    again, which can only delay an alert by `for`, never raise a wrong one.
    """

    def __init__(self) -> None:
        self._pending: dict[AlertKey, float] = {}
        self._open: dict[AlertKey, OpenAlert] = {}

    @classmethod
    def from_open(cls, alerts: Iterable[OpenAlert]) -> AlertBook:
        """A book holding these open alerts (as persisted) and nothing pending; ValueError on two for one key."""
        book = cls()
        for alert in alerts:
            key = AlertKey(*alert.key)
            if key in book._open:
                raise ValueError(f"two open alerts for {key}: {book._open[key].alert_id} and {alert.alert_id}")
            book._open[key] = alert if isinstance(alert.key, AlertKey) else OpenAlert(
                alert.alert_id, key, alert.metric, alert.raised_at, alert.value, alert.threshold
            )
        return book

    def open_alerts(self) -> list[OpenAlert]:
        return sorted(self._open.values(), key=lambda alert: (alert.raised_at, alert.key))

    def open_alert(self, key: AlertKey) -> OpenAlert | None:
        return self._open.get(key)

    def pending_since(self, key: AlertKey) -> float | None:
        return self._pending.get(key)

    def observe(
        self,
        now: float,
        key: AlertKey,
        rule: Rule,
        value: float | None,
        *,
        calls: int | None = None,
        action: str | None = None,
    ) -> Transition | None:
        """One observation of the rule's metric for a key; the transition it causes, if any.

        - open, value < clear_below: Resolve (and the key is free again);
        - open otherwise: stays open (between clear_below and above is the hysteresis band);
        - not open, value > above: pending from now (if not already); Raise once pending for `for_s` (at once for 0);
        - not open, value <= above: a pending condition resets.
        A value of None (no data), or `calls` below the rule's `min_calls`, is no evidence: it resets a pending
        condition and leaves an open alert open. `action` picks the budget of a p99 rule with a budget table.
        """
        if key.rule != rule.name:
            raise ValueError(f"the key is for rule {key.rule!r}, not {rule.name!r}")
        if value is not None and (isinstance(value, bool) or not math.isfinite(value)):
            raise ValueError(f"{value!r} is not a finite number")
        if rule.min_calls is not None and calls is not None and calls < rule.min_calls:
            value = None
        above, clear_below = rule.thresholds(action)
        alert = self._open.get(key)
        if alert is not None:
            if value is not None and value < clear_below:
                del self._open[key]
                return Resolve(alert.alert_id, key, rule.metric, value, clear_below, alert.raised_at, now)
            return None
        if value is None or value <= above:
            self._pending.pop(key, None)
            return None
        since = self._pending.setdefault(key, now)
        if now - since < rule.for_s:
            return None
        del self._pending[key]
        alert_id = alert_id_for(key, now)
        self._open[key] = OpenAlert(alert_id, key, rule.metric, now, value, above)
        return Raise(
            alert_id=alert_id, key=key, metric=rule.metric, value=value, threshold=above, for_s=rule.for_s,
            pending_since=since, raised_at=now, severity=rule.severity,
            message=rule.render(key, value, above, action), action=action,
        )
