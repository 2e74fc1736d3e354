"""The outbox relay against a real nats-server: every event once, deterministic ids, resumable, crash-safe."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate, event
from nats.js import JetStreamContext

from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.loadgen import LoadGenerator, Shipment
from plugyard_core.outbox import OutboxRelay, RelayError
from plugyard_core.streams import EVENTS_STREAM, ensure_streams
from plugyard_schemas.cloudevent import CloudEvent

from .helpers import eventually, stream_count, stream_messages


class Plugin(Aggregate):
    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"plugin:{name}")

    @event("Registered")
    def __init__(self, name: str, summary: str) -> None:
        self.name = name
        self.summary = summary

    class Yanked(Aggregate.Event):
        reason: str

    def yank(self, reason: str) -> None:
        self.trigger_event(self.Yanked, reason=reason)


class Registry(PlugyardApplication):
    service = "registry"

    def cloudevent_subject(self, domain_event: Any) -> str | None:
        return f"plugin/{self.repository.get(domain_event.originator_id).name}"


async def test_each_event_published_once_as_a_cloudevent(persistence: str, data_dir: Path, js: JetStreamContext) -> None:
    app = LoadGenerator(data_dir=data_dir)
    app.record(n_events=250, n_aggregates=5, per_save=40)
    relay = OutboxRelay(app, js, service="loadgen", batch_size=100)

    assert await relay.run_once() == 250
    assert await relay.run_once() == 0
    assert relay.position() == app.recorder.max_notification_id()

    msgs = await stream_messages(js)
    assert len(msgs) == 250
    versions: dict[str, list[int]] = defaultdict(list)
    for msg in msgs:
        body = json.loads(msg.data)
        cloudevent = CloudEvent.model_validate(body)
        name = msg.subject.rsplit(".", 1)[1]
        assert msg.subject == f"plugyard.evt.loadgen.{name}"
        assert cloudevent.type == f"dev.plugyard.loadgen.{name}"
        assert cloudevent.source == "plugyard/loadgen"
        assert cloudevent.id == f"{body['aggregateid']}:{body['aggregateversion']}"
        assert msg.headers["Nats-Msg-Id"] == cloudevent.id
        assert cloudevent.subject == body["aggregateid"]
        assert cloudevent.datacontenttype == "application/json"
        assert cloudevent.time is not None and cloudevent.time.tzinfo is not None
        expected_fields = {"reference", "origin"} if name == "Created" else {"location", "leg"}
        assert set(cloudevent.data) == expected_fields
        versions[body["aggregateid"]].append(body["aggregateversion"])
    assert len(versions) == 5
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    app.close()


async def test_event_names_data_and_subject_hook(sqlite_only: None, data_dir: Path, js: JetStreamContext) -> None:
    app = Registry(data_dir=data_dir)
    plugin = Plugin(name="weather", summary="Forecasts")
    plugin.yank(reason="CVE-2026-1")
    app.save(plugin)

    assert await OutboxRelay(app, js, service="registry").run_once() == 2

    registered, yanked = await stream_messages(js)
    assert registered.subject == "plugyard.evt.registry.Registered"
    assert yanked.subject == "plugyard.evt.registry.Yanked"
    body = json.loads(registered.data)
    assert body["type"] == "dev.plugyard.registry.Registered"
    assert body["id"] == f"{plugin.id}:1"
    assert body["subject"] == "plugin/weather"
    assert body["data"] == {"name": "weather", "summary": "Forecasts"}
    assert json.loads(yanked.data)["data"] == {"reason": "CVE-2026-1"}
    assert json.loads(yanked.data)["aggregateversion"] == 2
    app.close()


async def test_batches_larger_than_the_pipeline_are_confirmed_in_parts(
    sqlite_only: None, data_dir: Path, js: JetStreamContext
) -> None:
    app = LoadGenerator(data_dir=data_dir)
    app.save(*[Shipment(reference=f"S{i}-" + "x" * 8000, origin="Genoa") for i in range(400)])  # ~3.3 MB
    assert await OutboxRelay(app, js, service="loadgen", batch_size=400).run_once() == 400
    msgs = await stream_messages(js)
    assert [json.loads(m.data)["data"]["reference"].split("-")[0] for m in msgs] == [f"S{i}" for i in range(400)]
    app.close()


async def test_a_new_relay_resumes_from_the_recorded_position(sqlite_only: None, data_dir: Path, js: JetStreamContext) -> None:
    app = LoadGenerator(data_dir=data_dir)
    app.record(n_events=120, n_aggregates=3, per_save=50)
    assert await OutboxRelay(app, js, service="loadgen", batch_size=50).run_once() == 120
    app.record(n_events=30, n_aggregates=3, per_save=50)
    app.close()

    reopened = LoadGenerator(data_dir=data_dir)
    relay = OutboxRelay(reopened, js, service="loadgen", batch_size=50)
    assert relay.position() == 120
    assert await relay.run_once() == 30
    assert await stream_count(js) == 150
    reopened.close()


async def test_crash_between_publish_and_record_leaves_no_duplicate(
    sqlite_only: None, data_dir: Path, js: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = LoadGenerator(data_dir=data_dir)
    app.record(n_events=300, n_aggregates=10, per_save=100)
    crashing = OutboxRelay(app, js, service="loadgen", batch_size=100)

    def crash(position: int) -> None:
        raise KeyboardInterrupt("killed after publishing, before recording")

    monkeypatch.setattr(crashing, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        await crashing.run_once()
    assert await stream_count(js) == 100
    assert crashing.position() == 0

    restarted = OutboxRelay(app, js, service="loadgen", batch_size=100)
    assert await restarted.run_once() == 300  # republished from the recorded position...
    msgs = await stream_messages(js)
    assert len(msgs) == 300  # ...and the duplicate window kept one copy of each
    assert len({m.headers["Nats-Msg-Id"] for m in msgs}) == 300
    app.close()


async def test_refused_publishes_are_not_recorded(sqlite_only: None, data_dir: Path, js: JetStreamContext) -> None:
    app = LoadGenerator(data_dir=data_dir)
    app.record(n_events=10, n_aggregates=1, per_save=10)
    relay = OutboxRelay(app, js, service="loadgen")
    await js.delete_stream(EVENTS_STREAM)  # nothing answers: every publish fails

    with pytest.raises(RelayError, match="0 of 10 events acknowledged: status 503"):
        await relay.run_once()
    assert relay.position() == 0

    await ensure_streams(js)
    assert await relay.run_once() == 10
    assert relay.position() == 10
    app.close()


async def test_relay_keeps_going_across_a_nats_restart(sqlite_only: None, data_dir: Path, nats_server, nc) -> None:
    js = nc.jetstream()
    await ensure_streams(js)
    app = LoadGenerator(data_dir=data_dir)
    relay = OutboxRelay(app, js, service="loadgen", batch_size=200, ack_timeout=1.0)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, poll_interval=0.01))

    app.record(n_events=500, n_aggregates=10, per_save=100)
    await eventually(lambda: relay.published >= 500)
    nats_server.stop()
    await asyncio.to_thread(app.record, 700, 10, 100)
    await asyncio.sleep(1.0)  # the relay fails and backs off while NATS is away
    nats_server.start()
    await eventually(lambda: relay.position() == 1200, timeout=20)
    stop.set()
    await running

    msgs = await stream_messages(js)
    assert len(msgs) == 1200
    assert len({m.headers["Nats-Msg-Id"] for m in msgs}) == 1200
    app.close()


async def _count_at_least(js: JetStreamContext, n: int) -> bool:
    return await stream_count(js) >= n


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_relay_process_killed_under_load_publishes_each_event_once(
    sqlite_only: None, data_dir: Path, nats_server, js: JetStreamContext, tmp_path: Path
) -> None:
    env = {**os.environ, "PLUGYARD_NATS_URL": nats_server.url}
    relay_args = ["plugyard_core.outbox", "--app", "plugyard_core.loadgen:LoadGenerator", "--service", "loadgen",
                  "--data-dir", str(data_dir)]
    total = 12_000
    producer = _start(["plugyard_core.loadgen", "--events", str(total), "--aggregates", "200", "--per-save", "250",
                       "--data-dir", str(data_dir)], env, tmp_path / "loadgen.log")
    relay = _start(relay_args, env, tmp_path / "relay.log")
    try:
        await eventually(lambda: _count_at_least(js, 2000), timeout=20)
        assert relay.poll() is None
        await asyncio.sleep(random.uniform(0.05, 0.5))
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        relay = _start(relay_args, env, tmp_path / "relay.log")
        assert await asyncio.to_thread(producer.wait, 60) == 0
        await eventually(lambda: _count_at_least(js, total), timeout=40)
        # The first relay may have published everything before it was killed: let the second one finish
        # starting (its signal handlers) before asking it to stop.
        await eventually(lambda: (tmp_path / "relay.log").read_text().count(": ready") >= 2, timeout=20)
        relay.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(relay.wait, 10) == 0
    finally:
        for process in (producer, relay):
            if process.poll() is None:
                process.kill()
                process.wait()

    msgs = await stream_messages(js, expected=total)
    assert len({m.headers["Nats-Msg-Id"] for m in msgs}) == total
    versions: dict[str, list[int]] = defaultdict(list)
    for msg in msgs:
        aggregate_id, version = msg.headers["Nats-Msg-Id"].rsplit(":", 1)
        versions[aggregate_id].append(int(version))
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
