"""The relay publishes every event an application records, also those its subject rule was not written for
(the library's MessageRejected): such an event is about its aggregate. Only what would fail again on every
attempt falls back; a failure that may pass (the database) is retried."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate, event
from nats.js import JetStreamContext

from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.outbox import CloudEventEncoder, OutboxRelay
from plugyard_core.tracking_es import RejectedMessage

from .helpers import stream_messages


class Version(Aggregate):
    @staticmethod
    def create_id(name: str, version: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"version:{name}=={version}")

    @event("Scanned")
    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version


class Scanner(PlugyardApplication):
    """A subject rule written, like the scanner's, for its own events only."""

    service = "scanner"

    def cloudevent_subject(self, domain_event: Any) -> str | None:
        return f"{domain_event.name}=={domain_event.version}"


class Flaky(PlugyardApplication):
    service = "flaky"
    failures = 1

    def cloudevent_subject(self, domain_event: Any) -> str | None:
        if Flaky.failures:
            Flaky.failures -= 1
            raise ConnectionError("database unreachable")
        return "fine"


def rejected() -> RejectedMessage:
    return RejectedMessage(consumer="scanner", stream_seq=7, nats_subject="plugyard.evt.registry.VersionPublished",
                           reason="the scanner consumes dev.plugyard.registry.VersionPublished, not x", raw_excerpt="{}")


async def test_an_event_the_subject_rule_cannot_name_is_published_about_its_aggregate(
    sqlite_only: None, data_dir: Path, js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    app = Scanner(data_dir=data_dir)
    refusal = rejected()
    app.save(Version(name="before", version="1.0"))
    app.save(refusal)
    app.save(Version(name="after", version="2.0"))

    assert await OutboxRelay(app, js, service="scanner").run_once() == 3

    before, refused, after = await stream_messages(js)
    assert json.loads(before.data)["subject"] == "before==1.0"
    assert refused.subject == "plugyard.evt.scanner.MessageRejected"
    body = json.loads(refused.data)
    assert body["type"] == "dev.plugyard.scanner.MessageRejected"
    assert body["subject"] == body["aggregateid"] == str(refusal.id)
    assert body["data"]["stream_seq"] == 7 and body["data"]["reason"].startswith("the scanner consumes")
    assert json.loads(after.data)["subject"] == "after==2.0"
    assert "cloudevent_subject failed on RejectedMessage.MessageRejected" in caplog.text
    app.close()


def test_the_fallback_is_logged_once_per_event_class(sqlite_only: None, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = Scanner(data_dir=data_dir)
    encoder = CloudEventEncoder(app, "scanner")
    for _ in range(3):
        refusal = rejected()
        assert encoder.envelope(refusal.collect_events()[0])["subject"] == str(refusal.id)
    assert caplog.text.count("cloudevent_subject failed") == 1
    app.close()


def test_a_failure_that_may_pass_is_not_taken_for_an_unnamed_event(sqlite_only: None, data_dir: Path) -> None:
    app = Flaky(data_dir=data_dir)
    encoder = CloudEventEncoder(app, "flaky")
    domain_event = Version(name="x", version="1").collect_events()[0]
    with pytest.raises(ConnectionError):
        encoder.envelope(domain_event)
    assert encoder.envelope(domain_event)["subject"] == "fine"
    app.close()
