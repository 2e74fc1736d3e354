"""Where a service's events are stored: an SQLite file by default, PostgreSQL when the environment says so."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import OperationalError, ProcessRecorder, RecordConflictError, Recording, Tracking
from eventsourcing.utils import EnvType

from plugyard_core import settings

SQLITE_MODULE = "eventsourcing.sqlite"
POSTGRES_MODULE = "eventsourcing.postgres"
# Seconds a writer waits for the file lock: the producer and its relay (two processes) share one SQLite file.
SQLITE_LOCK_TIMEOUT_S = 30
# How long opening the event store keeps retrying a locked or racing schema creation.
RECORDER_START_S = 15.0
# Short enough that "<service>_tracking" stays within PostgreSQL's 63-byte identifiers.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def check_service_name(service: str) -> str:
    """A service name is one NATS subject token and a table-name prefix: lower case, digits, `_` and `-`."""
    if not SERVICE_NAME.match(service):
        raise ValueError(f"invalid service name {service!r}: use lower case letters, digits, '_' or '-'")
    return service


def persistence_module() -> str:
    explicit = os.environ.get("PERSISTENCE_MODULE", "").strip()
    if explicit:
        return explicit
    return POSTGRES_MODULE if os.environ.get("POSTGRES_DBNAME") else SQLITE_MODULE


def application_env(service: str, data_dir: Path | None = None) -> dict[str, str]:
    """The eventsourcing environment for `service`.

    PostgreSQL settings (`POSTGRES_*`, or `<SERVICE>_POSTGRES_*` for one service) are read by eventsourcing
    from os.environ itself; only the SQLite default needs a path made up here.
    """
    check_service_name(service)
    module = persistence_module()
    env = {"PERSISTENCE_MODULE": module}
    if module == SQLITE_MODULE:
        env["SQLITE_DBNAME"] = str(settings.service_dir(service, data_dir) / "events.sqlite")
        env["SQLITE_LOCK_TIMEOUT"] = str(SQLITE_LOCK_TIMEOUT_S)
    elif module == POSTGRES_MODULE:
        env.update({key: value for key, value in os.environ.items() if key.startswith("POSTGRES_")})
    return env


class PlugyardApplication(Application):
    """An eventsourcing application configured for a Plugyard service.

    Its recorder is a process recorder, so that tracking records (an outbox position, a consumed stream
    sequence) are written in the same transaction as events. The application's name is the service name,
    which prefixes PostgreSQL tables and per-service environment overrides (`REGISTRY_POSTGRES_DBNAME`).
    """

    service: str = ""  # subclasses name their service; an instance may be given another
    recorder: ProcessRecorder

    def __init__(self, env: EnvType | None = None, *, service: str | None = None, data_dir: Path | None = None) -> None:
        self.service = check_service_name(service or type(self).service)
        self.name = self.service
        merged: dict[str, Any] = application_env(self.service, data_dir)
        merged.update(env or {})
        super().__init__(merged)

    def construct_recorder(self) -> ProcessRecorder:
        # Two processes opening a new SQLite file at once can race on creating the tables, and one that opens it
        # while the other writes a burst can find it locked ("database is locked" while creating the schema):
        # retry for a while rather than fail the service's start.
        deadline = time.monotonic() + RECORDER_START_S
        delay = 0.05
        while True:
            try:
                return self.factory.process_recorder()
            except (RecordConflictError, OperationalError):
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def cloudevent_subject(self, event: DomainEventProtocol[Any]) -> str | None:
        """What a published event is about (CloudEvents `subject`); services override this."""
        return str(event.originator_id)

    def save_tracked(
        self, *objs: MutableOrImmutableAggregate[Any] | DomainEventProtocol[Any] | None, tracking: Tracking
    ) -> list[Recording[Any]]:
        """Save the aggregates' new events and the tracking record in one transaction."""
        processing_event: ProcessingEvent[Any] = ProcessingEvent(tracking=tracking)
        processing_event.collect_events(*objs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def tracked_position(self, application_name: str) -> int:
        """The highest notification id or stream sequence recorded under `application_name`; 0 if none."""
        return self.recorder.max_tracking_id(application_name) or 0
