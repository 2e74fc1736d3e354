"""The tracked consumer: in order from the tracker's position, poison terminated and recorded, failures resumed."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import BaseModel

from plugyard_core.consumer import Delivered, Rejected, TrackedConsumer
from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.streams import EVENTS_STREAM, ensure_streams
from plugyard_core.tracking_es import EventSourcedTracker, Reject, RejectedMessage, rejection_id
from plugyard_schemas.cloudevent import CloudEvent

from .helpers import eventually

SUBJECT = "plugyard.evt.test.Ping"
DURABLE = "test-consumer"


class ListTracker:
    """Records applied stream sequences in memory; fails once on `fail_at`; rejects bodies equal to b"poison"."""

    def __init__(self, start: int = 0, fail_at: int | None = None) -> None:
        self.position = start
        self.applied: list[int] = []
        self.offered: list[int] = []
        self.fail_at = fail_at
        self._lock = threading.Lock()

    def last_processed(self) -> int:
        return self.position

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        with self._lock:
            self.offered.extend(d.stream_seq for d in batch)
            if self.fail_at is not None and any(d.stream_seq == self.fail_at for d in batch):
                self.fail_at = None
                raise OSError("disk full")
            self.applied.extend(d.stream_seq for d in batch if d.data != b"poison")
            self.position = batch[-1].stream_seq
            return [Rejected(d, "poison") for d in batch if d.data == b"poison"]


class Running:
    """A TrackedConsumer running in the background until the context ends."""

    def __init__(self, consumer: TrackedConsumer) -> None:
        self.consumer = consumer
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> TrackedConsumer:
        self.task = asyncio.create_task(self.consumer.run(self.stop))
        return self.consumer

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)


def consumer(js: JetStreamContext, tracker: Any, **options: Any) -> Running:
    settings = {"batch_size": 10, "fetch_timeout": 0.2, **options}
    return Running(TrackedConsumer(js, stream=EVENTS_STREAM, durable=DURABLE, filter_subject=SUBJECT, tracker=tracker, **settings))


async def publish(js: JetStreamContext, bodies: Iterable[bytes], subject: str = SUBJECT) -> None:
    for body in bodies:
        await js.publish(subject, body)


async def test_delivers_in_order_from_the_recorded_position(js: JetStreamContext) -> None:
    await publish(js, [f"m{i}".encode() for i in range(1, 31)])
    tracker = ListTracker(start=10)
    async with consumer(js, tracker) as running:
        await eventually(lambda: tracker.position == 30)
    assert tracker.applied == list(range(11, 31))
    assert running.stats.processed == 20

    async with consumer(js, tracker):  # a restart delivers only what is new
        await publish(js, [b"late"] * 5)
        await eventually(lambda: tracker.position == 35)
    assert tracker.applied == list(range(11, 36))
    assert tracker.offered == list(range(11, 36))


async def test_other_subjects_in_the_stream_are_not_delivered(js: JetStreamContext) -> None:
    await publish(js, [b"a"], subject="plugyard.evt.other.Thing")
    await publish(js, [b"b"])
    tracker = ListTracker()
    async with consumer(js, tracker):
        await eventually(lambda: tracker.position == 2)
    assert tracker.applied == [2]


async def test_a_failed_batch_is_retried_and_nothing_after_it_skipped(js: JetStreamContext) -> None:
    await publish(js, [f"m{i}".encode() for i in range(1, 41)])
    tracker = ListTracker(fail_at=17)
    async with consumer(js, tracker, batch_size=5) as running:
        await eventually(lambda: tracker.position == 40)
    assert tracker.applied == list(range(1, 41))
    assert running.stats.failures == 1


async def test_poison_is_terminated_and_never_redelivered(js: JetStreamContext) -> None:
    await publish(js, [b"ok", b"poison", b"ok", b"poison", b"ok"])
    tracker = ListTracker()
    async with consumer(js, tracker, ack_wait=0.5) as running:
        await eventually(lambda: tracker.position == 5)
        await asyncio.sleep(1.0)  # twice the ack wait: a redelivery would have come by now
        info = await js.consumer_info(EVENTS_STREAM, DURABLE)
    assert tracker.offered == [1, 2, 3, 4, 5]
    assert tracker.applied == [1, 3, 5]
    assert (running.stats.processed, running.stats.rejected) == (5, 2)
    assert info.num_ack_pending == 0 and info.num_redelivered == 0
    assert info.ack_floor.stream_seq == 5


async def test_keeps_consuming_across_a_nats_restart(nats_server, nc) -> None:
    js = nc.jetstream()
    await ensure_streams(js)
    tracker = ListTracker()
    async with consumer(js, tracker):
        await publish(js, [b"before"] * 20)
        await eventually(lambda: tracker.position == 20)
        nats_server.stop()
        await asyncio.sleep(0.5)
        nats_server.start()
        await eventually(lambda: nc.is_connected, timeout=10)
        await publish(js, [b"after"] * 20)
        await eventually(lambda: tracker.position == 40, timeout=15)
    assert tracker.applied == list(range(1, 41))


class LossyPuller:
    """Delivers stream messages 1, 2 and 4 under consumer sequences 1, 2 and 4: delivery 3 was lost."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.served = False

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        if self.served:
            raise asyncio.TimeoutError
        self.served = True
        return [
            Msg(_client=self.nc, subject=SUBJECT, data=b"m", reply=f"$JS.ACK.{EVENTS_STREAM}.{DURABLE}.1.{seq}.{seq}.0.0")
            for seq in (1, 2, 4)
        ]

    async def close(self) -> None:
        pass


async def test_a_lost_delivery_is_not_skipped(js: JetStreamContext, monkeypatch: pytest.MonkeyPatch) -> None:
    await publish(js, [b"m"] * 5)
    tracker = ListTracker()
    running = consumer(js, tracker)
    subscribe = running.consumer._subscribe_from_position
    lossy = LossyPuller(js._nc)

    async def first_lossy_then_real() -> Any:
        if not lossy.served:
            running.consumer.position = tracker.last_processed()
            return lossy
        return await subscribe()

    monkeypatch.setattr(running.consumer, "_subscribe_from_position", first_lossy_then_real)
    async with running:
        await eventually(lambda: tracker.position == 5)
    assert tracker.applied == [1, 2, 3, 4, 5]
    assert running.consumer.stats.failures == 1


# The eventsourcing tracker.


class Tally(Aggregate):
    @staticmethod
    def create_id(subject: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"tally:{subject}")

    @event("Opened")
    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.seqs: list[int] = []

    @event("Counted")
    def count(self, stream_seq: int) -> None:
        self.seqs.append(stream_seq)


class Tallies(PlugyardApplication):
    service = "tallies"


class Strict(BaseModel):
    amount: int


def handle(app: PlugyardApplication, cloudevent: CloudEvent, delivered: Delivered) -> list[Tally]:
    if cloudevent.type.endswith(".Refused"):
        raise Reject("refused by policy")
    if "amount" in (cloudevent.data or {}):
        Strict.model_validate(cloudevent.data)
    assert cloudevent.subject is not None
    try:
        tally = app.repository.get(Tally.create_id(cloudevent.subject))
    except AggregateNotFoundError:
        tally = Tally(cloudevent.subject)
    tally.count(delivered.stream_seq)
    return [tally]


def cloudevent(subject: str, type_: str = "dev.plugyard.test.Ping", **data: Any) -> bytes:
    return json.dumps(
        {"specversion": "1.0", "id": f"{subject}:{type_}:{data}", "source": "plugyard/test", "type": type_,
         "subject": subject, "data": data}
    ).encode()


@pytest.fixture
async def tallies(persistence: str, data_dir: Path) -> AsyncIterator[Tallies]:
    app = Tallies(data_dir=data_dir)
    yield app
    app.close()


async def test_event_sourced_tracker_records_effects_and_rejections_together(js: JetStreamContext, tallies: Tallies) -> None:
    bodies = {
        1: cloudevent("a"),
        2: b"{not json",
        3: b"[1, 2]",
        4: json.dumps({"specversion": "1.0", "source": "plugyard/test"}).encode(),
        5: json.dumps({"specversion": 2, "id": 7, "source": "x", "type": "t"}).encode(),
        6: cloudevent("a", padding="x" * 3000),
        7: cloudevent("a", type_="dev.plugyard.test.Refused"),
        8: cloudevent("a", amount="lots"),
        9: b"\xff\xfe",
        10: cloudevent("a", amount=3),
        11: cloudevent("b"),
    }
    await publish(js, bodies.values())
    tracker = EventSourcedTracker(tallies, DURABLE, handle, max_bytes=2048)
    async with consumer(js, tracker, batch_size=100) as running:
        await eventually(lambda: tracker.last_processed() == 11)
    assert (running.stats.processed, running.stats.rejected) == (11, 8)

    assert tallies.repository.get(Tally.create_id("a")).seqs == [1, 10]
    assert tallies.repository.get(Tally.create_id("b")).seqs == [11]
    reasons = {}
    for seq in range(2, 10):
        rejected = tallies.repository.get(rejection_id(DURABLE, seq))
        assert isinstance(rejected, RejectedMessage)
        assert (rejected.consumer, rejected.stream_seq, rejected.nats_subject) == (DURABLE, seq, SUBJECT)
        assert rejected.raw_excerpt == bodies[seq][:512].decode("utf-8", errors="replace")
        reasons[seq] = rejected.reason
    assert reasons[2].startswith("not JSON")
    assert reasons[3] == "not a CloudEvent: a JSON list, not an object"
    assert "id: Field required" in reasons[4] and "type: Field required" in reasons[4]
    assert "specversion" in reasons[5]
    assert "exceeds the 2048-byte limit" in reasons[6]
    assert reasons[7] == "refused by policy"
    assert reasons[8].startswith("invalid data: amount")
    assert reasons[9].startswith("not JSON")

    # One transaction per batch: every event of the batch, then nothing more on a restart.
    notifications = tallies.recorder.select_notifications(start=1, limit=100)
    topics = [n.topic.rsplit(".", 1)[1] for n in notifications]
    assert topics.count("MessageRejected") == 8
    async with consumer(js, EventSourcedTracker(tallies, DURABLE, handle)):
        await asyncio.sleep(0.5)
    assert len(tallies.recorder.select_notifications(start=1, limit=100)) == len(notifications)


async def test_messages_of_one_batch_may_touch_the_same_aggregate(js: JetStreamContext, tallies: Tallies) -> None:
    await publish(js, [cloudevent("same")] * 6)
    tracker = EventSourcedTracker(tallies, DURABLE, handle)
    async with consumer(js, tracker, batch_size=100):
        await eventually(lambda: tracker.last_processed() == 6)
    assert tallies.repository.get(Tally.create_id("same")).seqs == [1, 2, 3, 4, 5, 6]
