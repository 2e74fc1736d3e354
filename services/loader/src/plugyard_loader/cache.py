"""The loader's cache on disk: unpacked versions, their dependencies, each plugin's writable state, run files.

    <root>/plugins/<name>/<version>/files/      the unpacked archive (read-only to the worker)
    <root>/plugins/<name>/<version>/deps/       its PyPI dependencies (read-only to the worker)
    <root>/plugins/<name>/<version>/installed.json   written last: a version without it is not installed
    <root>/state/<name>/                        the plugin's own writable folder, kept across versions
    <root>/run/<name>/                          sockets the host serves the worker (the egress proxy)
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

MARKER = "installed.json"


@dataclass(frozen=True)
class CachedVersion:
    name: str
    version: str
    root: Path
    record: dict[str, Any]

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def deps(self) -> Path:
        return self.root / "deps"

    @property
    def manifest(self) -> dict[str, Any]:
        return self.record["manifest"]


def _version_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


class PluginCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        for part in ("plugins", "state", "run", "staging"):
            (root / part).mkdir(parents=True, exist_ok=True)

    def version_dir(self, name: str, version: str) -> Path:
        return self.root / "plugins" / name / version

    def get(self, name: str, version: str) -> CachedVersion | None:
        root = self.version_dir(name, version)
        try:
            record = json.loads((root / MARKER).read_text())
        except (OSError, ValueError):
            return None
        return CachedVersion(name=name, version=version, root=root, record=record)

    def versions(self, name: str) -> list[str]:
        """Installed versions of `name`, oldest first."""
        base = self.root / "plugins" / name
        found = [entry.name for entry in base.iterdir() if (entry / MARKER).is_file()] if base.is_dir() else []
        return sorted(found, key=_version_key)

    def newest(self, name: str) -> CachedVersion | None:
        versions = self.versions(name)
        return self.get(name, versions[-1]) if versions else None

    def staging_dir(self, name: str, version: str) -> Path:
        """A fresh folder to build an installation in before it is moved into place."""
        path = self.root / "staging" / f"{name}-{version}-{os.getpid()}-{os.urandom(4).hex()}"
        path.mkdir(parents=True)
        return path

    def commit(self, staged: Path, name: str, version: str, record: dict[str, Any]) -> CachedVersion:
        """Move a fully built installation into place; the marker is written last, so a crash leaves no half install."""
        target = self.version_dir(name, version)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        tmp = target / (MARKER + ".tmp")
        tmp.write_text(json.dumps(record, sort_keys=True))
        os.replace(tmp, target / MARKER)
        return CachedVersion(name=name, version=version, root=target, record=record)

    def state_dir(self, name: str) -> Path:
        path = self.root / "state" / name
        (path / "tmp").mkdir(parents=True, exist_ok=True)
        return path

    def run_dir(self, name: str) -> Path:
        path = self.root / "run" / name
        path.mkdir(parents=True, exist_ok=True)
        return path
