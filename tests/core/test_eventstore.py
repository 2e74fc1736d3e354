"""Persistence chosen by environment; tracking records written atomically with events."""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from plugyard_core.eventstore import SQLITE_LOCK_TIMEOUT_S, PlugyardApplication, application_env
from plugyard_core.loadgen import LoadGenerator, Shipment


def test_sqlite_file_per_service_by_default(sqlite_only: None, data_dir: Path) -> None:
    env = application_env("registry", data_dir)
    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(data_dir / "registry" / "events.sqlite"),
        "SQLITE_LOCK_TIMEOUT": str(SQLITE_LOCK_TIMEOUT_S),
    }
    assert (data_dir / "registry").is_dir()


@pytest.mark.parametrize("selector", [{"PERSISTENCE_MODULE": "eventsourcing.postgres"}, {"POSTGRES_DBNAME": "plugyard"}])
def test_postgres_when_the_environment_says_so(
    selector: dict[str, str], sqlite_only: None, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    for key, value in {**selector, "POSTGRES_HOST": "db.internal", "POSTGRES_USER": "registry"}.items():
        monkeypatch.setenv(key, value)
    env = application_env("registry", data_dir)
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_HOST"] == "db.internal"
    assert "SQLITE_DBNAME" not in env
    assert not (data_dir / "registry").exists()


@pytest.mark.parametrize("name", ["", "Registry", "plugin host", "a.b", "x" * 41])
def test_service_names_must_be_one_subject_token(name: str, sqlite_only: None, data_dir: Path) -> None:
    with pytest.raises(ValueError, match="invalid service name"):
        application_env(name, data_dir)


def test_application_without_a_service_name_is_refused(sqlite_only: None, data_dir: Path) -> None:
    class Nameless(PlugyardApplication):
        pass

    with pytest.raises(ValueError):
        Nameless(data_dir=data_dir)


def test_events_and_tracking_are_saved_together(persistence: str, data_dir: Path) -> None:
    app = LoadGenerator(data_dir=data_dir)
    try:
        assert isinstance(app.recorder, ProcessRecorder)
        shipment = Shipment(reference="S1", origin="Genoa")
        app.save_tracked(shipment, tracking=Tracking("consumer-a", 7))
        assert app.tracked_position("consumer-a") == 7
        assert app.tracked_position("consumer-b") == 0

        shipment.move(location="Gdansk", leg=1)
        with pytest.raises(IntegrityError):
            # A position that does not advance rolls the whole transaction back, events included.
            app.save_tracked(shipment, tracking=Tracking("consumer-a", 7))
        assert app.repository.get(shipment.id).version == 1
        assert app.tracked_position("consumer-a") == 7
    finally:
        app.close()


def test_a_position_alone_can_be_recorded(persistence: str, data_dir: Path) -> None:
    app = LoadGenerator(data_dir=data_dir)
    try:
        assert app.save_tracked(tracking=Tracking("consumer-a", 3)) == []
        assert app.tracked_position("consumer-a") == 3
        assert app.recorder.max_notification_id() is None
    finally:
        app.close()


def test_recorded_events_survive_a_new_instance(persistence: str, data_dir: Path) -> None:
    first = LoadGenerator(data_dir=data_dir)
    first.record(n_events=30, n_aggregates=4, per_save=7)
    first.close()
    second = LoadGenerator(data_dir=data_dir)
    try:
        notifications = second.recorder.select_notifications(start=1, limit=100)
        assert len(notifications) == 30
        assert [n.id for n in notifications] == sorted(n.id for n in notifications)
        assert {n.topic.rsplit(".", 1)[1] for n in notifications} == {"Created", "Moved"}
    finally:
        second.close()


def test_postgres_tables_are_prefixed_by_service(postgres_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in postgres_env.items():
        monkeypatch.setenv(key, value)
    app = LoadGenerator(service="loadgen_pg")
    try:
        app.record(n_events=3, n_aggregates=1, per_save=3)
        assert app.recorder.events_table_name == "loadgen_pg_events"
    finally:
        app.close()
