"""The telemetry application: records verdicts on new versions and alerts, and keeps them in view for the RPCs.

Alerts and verdicts are few; the view of them is rebuilt from the event store when the service starts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Recording

from plugyard_core.eventstore import PlugyardApplication
from plugyard_schemas.telemetry import AlertView
from plugyard_telemetry.domain import Alert, NoRegressionFound, Regression

SERVICE = "telemetry"


@dataclass
class Verdict:
    event: str  # RegressionDetected or NoRegression
    at: str
    data: dict[str, Any]


class TelemetryApplication(PlugyardApplication):
    service = SERVICE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.write_lock = threading.RLock()
        self.alerts: dict[str, AlertView] = {}
        self.verdicts: dict[UUID, Verdict] = {}
        start = 0
        while notifications := self.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=False):
            self._apply([self.mapper.to_domain_event(n) for n in notifications])
            start = notifications[-1].id

    def cloudevent_subject(self, event: Any) -> str | None:
        name, version = getattr(event, "name", None), getattr(event, "version", None)
        return f"{name}=={version}" if name and version else name

    def _notify(self, recordings: list[Recording[Any]]) -> None:
        self._apply([recording.domain_event for recording in recordings])

    def _apply(self, events: list[Any]) -> None:
        for event in events:
            kind = type(event).__name__
            at = event.timestamp.isoformat()
            if kind in ("RegressionDetected", "NoRegression"):
                data = {k: v for k, v in vars(event).items() if not k.startswith("originator") and k != "timestamp"}
                self.verdicts[event.originator_id] = Verdict(kind, at, data)
            elif kind == "AlertRaised":
                self.alerts[event.alert_id] = AlertView(
                    alert_id=event.alert_id, rule=event.rule, name=event.name, host=event.host, version=event.version,
                    state="open", metric=event.metric, value=event.value, threshold=event.threshold,
                    message=event.message, raised_at=at,
                )
            elif kind == "AlertResolved" and event.alert_id in self.alerts:
                view = self.alerts[event.alert_id]
                self.alerts[event.alert_id] = view.model_copy(update={"state": "resolved", "resolved_at": at})

    def judge(self, regressed: bool, **fields: Any) -> bool:
        """Record a verdict once; False when this comparison was decided before."""
        aggregate = Regression(**fields) if regressed else NoRegressionFound(**{k: v for k, v in fields.items() if k != "reasons"})
        return self._save_once(aggregate)

    def raise_alert(self, **fields: Any) -> bool:
        return self._save_once(Alert(**fields))

    def resolve_alert(self, alert_id: str, value: float, clear_threshold: float) -> None:
        with self.write_lock:
            alert: Alert = self.repository.get(UUID(alert_id))
            if alert.resolved:
                return
            view = self.alerts[alert_id]
            alert.resolve(alert_id=alert_id, rule=view.rule, name=view.name, host=view.host, metric=view.metric, value=value, clear_threshold=clear_threshold)
            self.save(alert)

    def open_alerts(self) -> list[AlertView]:
        with self.write_lock:
            return [view for view in self.alerts.values() if view.state == "open"]

    def decided(self, comparison: UUID) -> bool:
        return comparison in self.verdicts

    def _save_once(self, aggregate: Any) -> bool:
        with self.write_lock:
            if aggregate.id in self.verdicts or str(aggregate.id) in self.alerts:
                return False
            try:
                self.save(aggregate)
            except IntegrityError:  # decided before this process's view was built: nothing new to say
                return False
            return True
