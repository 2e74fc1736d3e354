"""No message stops the line: a message that keeps failing becomes a recorded rejection; a stream that went behind
the consumer's position is reported and never skipped; health names what stopped moving."""

from __future__ import annotations

import threading
from pathlib import Path

from nats.js import JetStreamContext

from plugyard_core.consumer import ConsumerStats, Delivered, Rejected
from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.runtime_health import OutboxStats, problems
from plugyard_core.service import Service
from plugyard_core.streams import EVENTS_STREAM, ensure_streams
from plugyard_core.subscriptions import Subscription
from plugyard_core.tracking_es import EventSourcedTracker, RejectedMessage, rejection_id
from plugyard_schemas.rpc import HealthReply, HealthRequest
from plugyard_core.rpc import call
from tests.in_process import start_in_process

from .helpers import eventually
from .test_tracked_consumer import DURABLE, SUBJECT, ListTracker, consumer, publish


class FailingOn(ListTracker):
    """Raises on every attempt that includes `bad` (not a poison the handler recognises: a bug, a crash)."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.bad = bad
        self.rejected: list[tuple[int, str]] = []

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        if any(d.stream_seq == self.bad for d in batch):
            with self._lock:
                self.offered.extend(d.stream_seq for d in batch)
            raise KeyError("a handler bug")
        return super().process(batch)

    def reject(self, delivered: Delivered, reason: str) -> None:
        with self._lock:
            self.rejected.append((delivered.stream_seq, reason))
            self.position = delivered.stream_seq


async def test_a_message_that_keeps_failing_is_rejected_after_bounded_deliveries(js: JetStreamContext):
    await publish(js, [b"a", b"b", b"c", b"d", b"e"])
    tracker = FailingOn(bad=3)
    async with consumer(js, tracker, max_deliveries=3, max_backoff=0.2) as running:
        await eventually(lambda: tracker.applied == [1, 2, 4, 5], timeout=20)
    assert [seq for seq, _ in tracker.rejected] == [3]
    assert "failed 3 times" in tracker.rejected[0][1] and "KeyError" in tracker.rejected[0][1]
    assert tracker.offered.count(3) >= 3  # tried that often, then passed, never skipped silently
    assert running.stats.rejected == 1 and running.stats.processed == 5


class App(PlugyardApplication):
    service = "test"


async def test_the_event_sourced_tracker_records_the_rejection_with_stream_and_consumer(js: JetStreamContext, tmp_path: Path):
    app = App(data_dir=tmp_path)

    def handle(_app, _cloudevent, delivered):
        raise RuntimeError(f"cannot handle {delivered.stream_seq}")

    await publish(js, [b'{"specversion":"1.0","id":"x","source":"s","type":"t"}'])
    async with consumer(js, EventSourcedTracker(app, DURABLE, handle), max_deliveries=2, max_backoff=0.2):
        await eventually(lambda: app.recorder.max_tracking_id(DURABLE) == 1, timeout=20)
    rejected = app.repository.get(rejection_id(DURABLE, 1))
    assert isinstance(rejected, RejectedMessage)
    assert (rejected.stream, rejected.consumer, rejected.stream_seq, rejected.nats_subject) == (EVENTS_STREAM, DURABLE, 1, SUBJECT)
    assert "RuntimeError: cannot handle 1" in rejected.reason


async def test_a_recreated_stream_behind_the_position_is_reported_not_skipped(js: JetStreamContext):
    await publish(js, [b"1", b"2", b"3"])
    tracker = ListTracker()
    async with consumer(js, tracker, max_backoff=0.2) as running:
        await eventually(lambda: tracker.position == 3)
        await js.delete_stream(EVENTS_STREAM)
        await ensure_streams(js)
        await publish(js, [b"new-1"])
        await eventually(lambda: running.stats.blocked is not None, timeout=20)
    assert "behind this consumer's position 3" in running.stats.blocked and "deleted and recreated" in running.stats.blocked
    assert tracker.applied == [1, 2, 3]  # the new stream's first message was not taken for an old one
    assert problems({DURABLE: running.stats}, None, stall_after=60)[0].startswith(f"consumer {DURABLE}: stream {EVENTS_STREAM}")


def test_problems_name_what_stopped_moving_while_work_waits():
    now = 1000.0
    idle = ConsumerStats(pending=0, last_progress=0.0)
    moving = ConsumerStats(pending=50, last_progress=now - 5)
    stuck = ConsumerStats(pending=7, last_progress=now - 300, error="boom")
    assert problems({"idle": idle, "moving": moving}, OutboxStats(0, 0, 0.0, None), stall_after=120, now=now) == []
    found = problems({"stuck": stuck}, OutboxStats(3, 10, now - 500, "NATS disconnected"), stall_after=120, now=now)
    assert found == [
        "consumer stuck: 7 waiting, no progress for 300 s (last error: boom)",
        "outbox: 3 events not published, no progress for 500 s (last error: NATS disconnected)",
    ]


async def test_health_is_unhealthy_naming_a_stalled_consumer(nats_server, js: JetStreamContext, monkeypatch):
    release = threading.Event()

    class Hanging(ListTracker):
        def process(self, batch):
            release.wait(30)  # a handler that never returns
            return super().process(batch)

        def reject(self, delivered, reason):
            raise AssertionError("not reached")

    monkeypatch.setenv("PLUGYARD_STALL_AFTER_S", "1")
    subscription = Subscription(subject=SUBJECT, durable="hanging", producer="test", model=None, handler=lambda *a: None,
                                tracker=lambda _sub: Hanging())
    running = await start_in_process(Service(name="test", nats_url=nats_server.url, subscriptions=[subscription]))
    try:
        await publish(js, [b"x", b"y"])
        nc = js._nc

        async def unhealthy() -> bool:
            reply = await call(nc, "plugyard.rpc.test.health", HealthRequest(), HealthReply)
            return not reply.healthy and any(p.startswith("consumer hanging:") for p in reply.problems)

        await eventually(unhealthy, timeout=20)
        reply = await call(nc, "plugyard.rpc.test.health", HealthRequest(), HealthReply)
        assert reply.consumers["hanging"].pending >= 1
    finally:
        release.set()
        await running.close()
