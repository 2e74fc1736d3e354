"""The scanner's read model, rebuilt from its own events at start: which versions it knows, who published
each plugin (for typosquatting checks) and what each version could do (for capability drift)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from plugyard_analysis.context import ScanContext


@dataclass
class VersionState:
    name: str
    version: str
    cid: str
    publisher: str
    verdict: str | None = None
    reason: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    capabilities: list[str] | None = None
    scans: int = 0


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(text))
    except InvalidVersion:
        return (0, text)


class ScanIndex:
    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], VersionState] = {}
        self.by_name: dict[str, dict[str, VersionState]] = {}
        self.publishers: dict[str, str] = {}  # plugin name -> its first publisher

    def rebuild(self, app: Any) -> None:
        start = 0
        while notifications := app.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=False):
            self.apply([app.mapper.to_domain_event(n) for n in notifications])
            start = notifications[-1].id

    def apply(self, events: list[Any]) -> None:
        for event in events:
            kind = type(event).__name__
            if kind == "VersionReceived":
                state = VersionState(event.name, event.version, event.cid, event.publisher)
                self.versions[(event.name, event.version)] = state
                self.by_name.setdefault(event.name, {})[event.version] = state
                self.publishers.setdefault(event.name, event.publisher)
            elif kind == "ScanCompleted":
                state = self.versions[(event.name, event.version)]
                state.verdict, state.reason, state.findings = event.verdict, event.reason, event.findings
                state.capabilities, state.scans = event.capabilities, event.scan_no

    def get(self, name: str, version: str) -> VersionState | None:
        return self.versions.get((name, version))

    def of_plugin(self, name: str) -> list[VersionState]:
        return sorted(self.by_name.get(name, {}).values(), key=lambda s: _version_key(s.version))

    def context_for(self, name: str, version: str, publisher: str) -> ScanContext:
        """What the analysis should know around `name==version`: other plugins' names and the previous version."""
        earlier = [s for s in self.of_plugin(name) if _version_key(s.version) < _version_key(version) and s.capabilities is not None]
        previous = earlier[-1] if earlier else None
        return ScanContext(
            known_plugins={n: p for n, p in self.publishers.items() if n != name},
            publisher=publisher,
            previous_version=previous.version if previous else None,
            previous_capabilities=frozenset(previous.capabilities or ()) if previous else None,
        )
