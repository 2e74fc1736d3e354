"""The scanner application: records each version it receives and every scan of it."""

from __future__ import annotations

import threading
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Recording

from plugyard_core.eventstore import PlugyardApplication
from plugyard_scanner.domain import ScanRecord, record_id
from plugyard_scanner.index import ScanIndex

SERVICE = "scanner"


class ScannerApplication(PlugyardApplication):
    service = SERVICE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The consumer (a worker thread) and rescans (RPC worker threads) both write records and the index.
        self.write_lock = threading.RLock()
        self.index = ScanIndex()
        self.index.rebuild(self)

    def cloudevent_subject(self, event: Any) -> str | None:
        return f"{event.name}=={event.version}"

    def _notify(self, recordings: list[Recording[Any]]) -> None:
        self.index.apply([recording.domain_event for recording in recordings])

    def record(self, name: str, version: str) -> ScanRecord | None:
        try:
            return self.repository.get(record_id(name, version))
        except AggregateNotFoundError:
            return None
