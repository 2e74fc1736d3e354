"""Which plugins this host had loaded, so that a restarted loader loads them again."""

from __future__ import annotations

import json
import os
from pathlib import Path


class LoadedList:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def remember(self, name: str, version: str) -> None:
        self._write({**self.entries(), name: version})

    def forget(self, name: str) -> None:
        entries = self.entries()
        if entries.pop(name, None) is not None:
            self._write(entries)

    def _write(self, entries: dict[str, str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, sort_keys=True))
        os.replace(tmp, self.path)
