"""The two consumers' trackers: telemetry samples and the loader's events, each batch one warehouse transaction."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from pydantic import ValidationError

from plugyard_core.consumer import Delivered, Rejected
from plugyard_core.rpc import summarize_validation_error
from plugyard_core.tracking_es import Reject, parse_cloudevent
from plugyard_schemas.loader import LOADER_EVENTS
from plugyard_telemetry.sample_rows import LastSample, SampleRows, WorkerKey
from plugyard_telemetry.samples import ImplausibleSample, parse_sample
from plugyard_telemetry.warehouse import LoaderEventRow, Rejection, TelemetryWarehouse

SAMPLES_CONSUMER = "telemetry-samples"
LOADER_EVENTS_CONSUMER = "telemetry-loader-events"
LOADER_EVENT_PREFIX = "dev.plugyard.loader."
RELOAD_WORKERS_EVERY = 1000  # batches


class UnreportedPlugin(RuntimeError):
    """A sample of a plugin version the loader has not (yet) reported starting on that host. Raised so the
    consumer retries it a few times, in case the loader's event is still on its way, then rejects it."""


class KnownPlugins:
    """(host, name, version) the loader reported running, shared by the two consumers."""

    def __init__(self, warehouse: TelemetryWarehouse) -> None:
        self._lock = threading.Lock()
        self._known = warehouse.reported_versions()

    def add(self, host: str, name: str, version: str) -> None:
        with self._lock:
            self._known.add((host, name, version))

    def __contains__(self, key: tuple[str, str, str]) -> bool:
        with self._lock:
            return key in self._known


class SampleTracker:
    def __init__(self, warehouse: TelemetryWarehouse, known: KnownPlugins, consumer: str = SAMPLES_CONSUMER) -> None:
        self.warehouse = warehouse
        self.known = known
        self.consumer = consumer
        self._workers: dict[WorkerKey, LastSample] | None = None
        self._batches = 0

    def last_processed(self) -> int:
        self._workers = None  # a (re)subscription resumes from what is committed, counters included
        return self.warehouse.position(self.consumer)

    def reject(self, delivered: Delivered, reason: str) -> None:
        self.warehouse.reject(self.consumer, Rejection(delivered.stream_seq, delivered.subject, reason, delivered.data))

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        if self._workers is None:
            self._workers = self.warehouse.workers()
        workers = dict(self._workers)
        rows = SampleRows()
        rejections: list[Rejection] = []
        for delivered in batch:
            try:
                sample, at = parse_sample(delivered.data, delivered.subject)
            except ImplausibleSample as exc:
                rejections.append(Rejection(delivered.stream_seq, delivered.subject, str(exc), delivered.data))
                continue
            if (sample.host, sample.name, sample.version) not in self.known:
                raise UnreportedPlugin(f"no loader event reports {sample.name}=={sample.version} running on {sample.host}")
            key = (sample.host, sample.name, sample.pid)
            workers[key] = rows.add(delivered.stream_seq, sample, at, delivered.data.decode("utf-8", "replace"), workers.get(key))
        self.warehouse.append_samples(self.consumer, rows, rejections, batch[-1].stream_seq)
        self._workers = workers
        self._batches += 1
        if self._batches % RELOAD_WORKERS_EVERY == 0:
            self._workers = None  # taken again from the warehouse, whose retention forgets workers long gone
        by_seq = {d.stream_seq: d for d in batch}
        return [Rejected(by_seq[r.stream_seq], r.reason) for r in rejections]


class LoaderEventTracker:
    def __init__(self, warehouse: TelemetryWarehouse, known: KnownPlugins, consumer: str = LOADER_EVENTS_CONSUMER) -> None:
        self.warehouse = warehouse
        self.known = known
        self.consumer = consumer

    def last_processed(self) -> int:
        return self.warehouse.position(self.consumer)

    def reject(self, delivered: Delivered, reason: str) -> None:
        self.warehouse.reject(self.consumer, Rejection(delivered.stream_seq, delivered.subject, reason, delivered.data))

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        rows: list[LoaderEventRow] = []
        rejections: list[Rejection] = []
        for delivered in batch:
            try:
                rows.append(loader_event_row(delivered))
            except Reject as exc:
                rejections.append(Rejection(delivered.stream_seq, delivered.subject, exc.reason, delivered.data))
        self.warehouse.append_loader_events(self.consumer, rows, rejections, batch[-1].stream_seq)
        for row in rows:
            if row.version and row.type in ("PluginLoaded", "PluginReloaded", "PluginCrashed"):
                self.known.add(row.host, row.name, row.version)
        by_seq = {d.stream_seq: d for d in batch}
        return [Rejected(by_seq[r.stream_seq], r.reason) for r in rejections]


def loader_event_row(delivered: Delivered) -> LoaderEventRow:
    """The loader's event as a row; Reject naming what is wrong with a message that is not one."""
    event = parse_cloudevent(delivered.data)
    name = event.type.removeprefix(LOADER_EVENT_PREFIX)
    model = LOADER_EVENTS.get(name) if event.type.startswith(LOADER_EVENT_PREFIX) else None
    if model is None:
        raise Reject(f"{event.type} is not an event of the loader")
    try:
        data = model.model_validate(event.data)
    except ValidationError as exc:
        raise Reject(f"invalid {name}: {summarize_validation_error(exc)}") from None
    at = event.time.astimezone(UTC) if event.time else datetime.now(UTC)
    return LoaderEventRow(
        delivered.stream_seq, at, name, data.host, data.name, getattr(data, "version", None), data.model_dump(mode="json"),
    )
