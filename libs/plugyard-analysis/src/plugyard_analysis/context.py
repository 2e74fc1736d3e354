"""What a whole-plugin rule sees: every file, the manifest, the inferred capabilities and what the registry
knows around this version (other plugins' names, the previous version's capabilities)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from plugyard_analysis.sources import PluginFile, SourceFile


@dataclass(frozen=True)
class Evidence:
    """Why the analysis believes the code has a capability: a file, a line and what is there."""

    path: str
    line: int | None
    what: str  # e.g. "calls socket.create_connection", "imports requests"


@dataclass(frozen=True)
class ScanContext:
    """What the registry knows around the version being scanned; empty for an offline `plugyard scan`."""

    known_plugins: dict[str, str] = field(default_factory=dict)  # other plugins' names -> their publisher
    publisher: str | None = None
    previous_version: str | None = None
    previous_capabilities: frozenset[str] | None = None  # None when there is no earlier scanned version

    def as_json(self) -> dict[str, Any]:
        return {
            "known_plugins": self.known_plugins,
            "publisher": self.publisher,
            "previous_version": self.previous_version,
            "previous_capabilities": sorted(self.previous_capabilities) if self.previous_capabilities is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScanContext:
        previous = data.get("previous_capabilities")
        return cls(
            known_plugins=dict(data.get("known_plugins") or {}),
            publisher=data.get("publisher"),
            previous_version=data.get("previous_version"),
            previous_capabilities=frozenset(previous) if previous is not None else None,
        )


@dataclass
class PluginContext:
    files: list[PluginFile]
    sources: list[SourceFile]  # the Python files that parsed
    manifest: dict[str, Any] | None  # the parsed plugin.toml (None when missing or invalid)
    manifest_error: str | None
    scan: ScanContext
    capabilities: dict[str, list[Evidence]] = field(default_factory=lambda: defaultdict(list))

    def file(self, path: str) -> PluginFile | None:
        return next((f for f in self.files if f.path == path), None)

    @property
    def permissions(self) -> dict[str, Any]:
        return (self.manifest or {}).get("permissions") or {}

    @property
    def info(self) -> dict[str, Any]:
        return (self.manifest or {}).get("plugin") or {}
