"""The judge: every few seconds, compares each new version with its predecessor and checks the alert rules.

Verdicts and alerts are recorded in the event store (and so published) once each: a verdict's id is derived
from the switch it judges, an alert's from its rule, plugin, host and raise time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from plugyard_core.env_numbers import env_number
from plugyard_telemetry.alert_metrics import Reading, readings
from plugyard_telemetry.alert_rules import ALERT_RULES_ENV, AlertBook, AlertKey, AlertRulesError, OpenAlert, Raise, Rule, rules_from_env
from plugyard_telemetry.application import TelemetryApplication
from plugyard_telemetry.domain import comparison_id
from plugyard_telemetry.statistics import compare
from plugyard_telemetry.version_switches import calls_by_action, switches
from plugyard_telemetry.warehouse import TelemetryWarehouse
from plugyard_telemetry.webhook import Webhook, WebhookConfigError

log = logging.getLogger("plugyard.telemetry.judge")

INTERVAL_ENV = "PLUGYARD_TELEMETRY_JUDGE_S"
MIN_CALLS_ENV = "PLUGYARD_REGRESSION_MIN_CALLS"
WINDOW_ENV = "PLUGYARD_ALERT_WINDOW_S"
LEAK_WINDOW_ENV = "PLUGYARD_LEAK_WINDOW_S"
DEFAULT_INTERVAL_S = 5.0
DEFAULT_MIN_CALLS = 100
DEFAULT_WINDOW_S = 60.0
EVENT_WINDOW_S = 600.0  # crash loops and violations are counted over this, unless a rule has its own window
DEFAULT_LEAK_WINDOW_S = 600.0
SETTLED = timedelta(minutes=1)  # samples of a worker arrive within this after its calls  # a worker's rss slope is taken over this; a leak needs half of it in samples


class JudgeConfigError(ValueError):
    """Alert rules that do not load, or a PLUGYARD_* judge setting that is not a usable number."""


@dataclass(frozen=True)
class JudgeSettings:
    interval_s: float = DEFAULT_INTERVAL_S
    min_calls: int = DEFAULT_MIN_CALLS
    window_s: float = DEFAULT_WINDOW_S
    leak_window_s: float = DEFAULT_LEAK_WINDOW_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> JudgeSettings:
        def seconds(name: str, default: float, least: float, most: float) -> float:
            return env_number(name, default, least=least, most=most, what="a number of seconds", error=JudgeConfigError, environ=environ)

        return cls(
            interval_s=seconds(INTERVAL_ENV, DEFAULT_INTERVAL_S, 0.1, 3600),
            min_calls=int(env_number(MIN_CALLS_ENV, DEFAULT_MIN_CALLS, least=2, what="a whole number of calls", whole=True,
                                     error=JudgeConfigError, environ=environ)),
            window_s=seconds(WINDOW_ENV, DEFAULT_WINDOW_S, 1, 86400),
            leak_window_s=seconds(LEAK_WINDOW_ENV, DEFAULT_LEAK_WINDOW_S, 2, 86400),
        )


class Judge:
    def __init__(
        self, warehouse: TelemetryWarehouse, app: TelemetryApplication, rules: list[Rule], settings: JudgeSettings | None = None,
        webhook: Webhook | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.webhook = webhook
        self.app = app
        self.rules = rules
        self.settings = settings or JudgeSettings()
        self._lock = threading.Lock()
        self._finished: set[int] = set()  # switches judged as far as they ever can be
        self.book = AlertBook.from_open(
            OpenAlert(a.alert_id, AlertKey(a.rule, a.name, a.host), a.metric, datetime.fromisoformat(a.raised_at).timestamp(), a.value, a.threshold)
            for a in app.open_alerts()
        )

    @classmethod
    def from_env(cls, warehouse: TelemetryWarehouse, app: TelemetryApplication) -> Judge:
        try:
            rules = rules_from_env()
        except AlertRulesError as exc:
            raise JudgeConfigError(f"{ALERT_RULES_ENV}: {exc}" if os.environ.get(ALERT_RULES_ENV, "").strip() else str(exc)) from None
        try:
            webhook = Webhook.from_env()
        except WebhookConfigError as exc:
            raise JudgeConfigError(str(exc)) from None
        return cls(warehouse, app, rules, JudgeSettings.from_env(), webhook)

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()

    @property
    def interval_s(self) -> float:
        return self.settings.interval_s

    def run_once(self, now: datetime | None = None) -> None:
        with self._lock:
            now = now or datetime.now(UTC)
            self.judge_versions(now)
            self.check_alerts(now)

    # ---- new versions against their predecessors

    def judge_versions(self, now: datetime) -> int:
        """Record a verdict for each switch and action with enough calls on both sides; returns how many.

        A switch followed by another has all the calls it will ever have once looked at after that; one older
        than the raw samples has none left to look at. Neither is looked at again."""
        decided = 0
        oldest = now - self.warehouse.retention.raw
        for switch in switches(self.warehouse):
            if switch.stream_seq in self._finished or switch.at < oldest:
                continue
            if switch.until is not None and switch.until < now - SETTLED:  # its last samples are in by now
                self._finished.add(switch.stream_seq)
            before = calls_by_action(self.warehouse, switch.host, switch.name, switch.previous_version, None, switch.at)
            after = calls_by_action(self.warehouse, switch.host, switch.name, switch.version, switch.at, switch.until)
            for action in sorted(set(before) & set(after)):
                key = (switch.host, switch.name, action, switch.previous_version, switch.version, switch.stream_seq)
                if self.app.decided(comparison_id(*key)):
                    continue
                b, a = before[action], after[action]
                result = compare(
                    b.buckets, a.buckets, b.errors, b.calls, a.errors, a.calls, min_calls=self.settings.min_calls,
                    cpu_ms_per_call_before=b.cpu_ms_per_call, cpu_ms_per_call_after=a.cpu_ms_per_call,
                )
                if result is None:
                    continue
                fields = dict(
                    host=switch.host, name=switch.name, action=action, previous_version=switch.previous_version,
                    version=switch.version, switch_seq=switch.stream_seq, **result.event_fields(),
                )
                if self.app.judge(result.regressed, reasons=list(result.reasons), **fields):
                    decided += 1
                    log.info("%s==%s on %s, %s: %s", switch.name, switch.version, switch.host, action,
                             "; ".join(result.reasons) or "no regression")
        return decided

    # ---- alert rules

    def check_alerts(self, now: datetime) -> None:
        window = timedelta(seconds=self.settings.window_s)
        found = readings(
            self.warehouse, now, window, timedelta(seconds=self._event_window_s()), timedelta(seconds=self.settings.leak_window_s)
        )
        regressed = self._serving_regressions(found)
        for key, reading in found.items():
            reading.regressed = 1.0 if key in regressed else 0.0
        keys = set(found) | {(alert.key.name, alert.key.host) for alert in self.book.open_alerts()}
        stamp = now.timestamp()
        for rule in self.rules:
            for name, host in sorted(keys):
                reading = found.get((name, host), Reading())
                value, action = _value(rule, reading)
                transition = self.book.observe(stamp, AlertKey(rule.name, name, host), rule, value, calls=reading.calls, action=action)
                if isinstance(transition, Raise):
                    if self.app.raise_alert(**_raised(transition, reading.version)):
                        self._tell("AlertRaised", transition.alert_id)
                elif transition is not None:
                    self.app.resolve_alert(transition.alert_id, transition.value, transition.clear_threshold)
                    self._tell("AlertResolved", transition.alert_id)

    def _tell(self, event: str, alert_id: str) -> None:
        if self.webhook is not None and alert_id in self.app.alerts:
            self.webhook.send(event, self.app.alerts[alert_id].model_dump())

    def _event_window_s(self) -> float:
        """Crashes and violations are counted over the longest window a rule on them asks for."""
        windows = [r.window_s for r in self.rules if r.metric in ("crash_count", "violations") and r.window_s]
        return max(windows, default=EVENT_WINDOW_S)

    def _serving_regressions(self, found: dict[tuple[str, str], Reading]) -> set[tuple[str, str]]:
        """Plugins whose version serving now was judged a regression against its predecessor on that host."""
        serving = {(name, host): reading.version for (name, host), reading in found.items()}
        return {
            (v.data["name"], v.data["host"])
            for v in list(self.app.verdicts.values())
            if v.event == "RegressionDetected" and serving.get((v.data["name"], v.data["host"])) == v.data["version"]
        }


def _value(rule: Rule, reading: Reading) -> tuple[float | None, str | None]:
    if rule.metric == "p99_ms":
        worst = rule.most_over_budget(reading.p99_ms_by_action)
        return (worst[1], worst[0]) if worst else (None, None)
    return getattr(reading, rule.metric), None


def _raised(transition: Raise, version: str | None) -> dict:
    fields = transition.event_fields()
    return {
        "alert_id": fields["alert_id"], "rule": fields["rule"], "name": fields["name"], "host": fields["host"], "version": version,
        "metric": fields["metric"], "value": fields["value"], "threshold": fields["threshold"], "for_s": fields["for_s"],
        "message": fields["message"],
    }

