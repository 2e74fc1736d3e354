"""Write `schemas/json/*.json` (one JSON Schema per message model) and `schemas/asyncapi.json` (the whole bus).

`make schemas` runs this; `--check` exits 1 naming every file that is stale, which a test runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

import plugyard_schemas
from plugyard_core.service import health_router
from plugyard_core.services import SERVICES, service_module
from plugyard_core.streams import EVENTS_SUBJECTS, TELEMETRY_SUBJECTS, event_subject
from plugyard_schemas.cloudevent import CloudEvent
from plugyard_schemas.loader import LOADER_EVENTS
from plugyard_schemas.marketplace import MARKETPLACE_EVENTS
from plugyard_schemas.registry_events import REGISTRY_EVENTS
from plugyard_schemas.scanner import SCANNER_EVENTS
from plugyard_schemas.telemetry import TELEMETRY_EVENTS

HERE = Path(__file__).resolve().parent
VERSION = "0.1.0"
# Each service's events: the model of a CloudEvent's `data` (the envelope is CloudEvent).
SERVICE_EVENTS = {
    "registry": REGISTRY_EVENTS, "scanner": SCANNER_EVENTS, "loader": LOADER_EVENTS, "telemetry": TELEMETRY_EVENTS,
    "marketplace": MARKETPLACE_EVENTS,
}


def message_models() -> dict[str, type[BaseModel]]:
    models = {}
    for name in plugyard_schemas.__all__:
        value = getattr(plugyard_schemas, name)
        if isinstance(value, type) and issubclass(value, BaseModel):
            models[name] = value
    return models


def render(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def json_schemas() -> dict[Path, str]:
    return {HERE / "json" / f"{name}.json": render(model.model_json_schema()) for name, model in sorted(message_models().items())}


def documented_handler(model: type[BaseModel]):
    """A handler whose signature FastStream reads for the subscription's message schema; it never runs."""

    async def handle(body: model) -> None:  # type: ignore[valid-type]
        raise NotImplementedError

    return handle


def bus_document() -> str:
    broker = NatsBroker(description="Plugyard's bus: CloudEvents on JetStream, request/reply RPCs")
    for name in SERVICES:
        handlers = importlib.import_module(f"{service_module(name)}.handlers")
        broker.include_router(handlers.build_router(None))
        broker.include_router(health_router(name, dict, 0.0))
        for subscription in handlers.subscriptions():
            broker.subscriber(
                subscription.subject,
                title=f"{name} consumes {subscription.subject} (durable {subscription.durable})",
                description=f"{subscription.description} Trusted producer: {subscription.producer}; in order, a message that "
                f"keeps failing is recorded as MessageRejected. Message: the CloudEvent's data.",
            )(documented_handler(subscription.model or CloudEvent))
    broker.publisher(
        EVENTS_SUBJECTS,
        title="PLUGYARD_EVENTS",
        description="Every event, ours and other systems': CloudEvents 1.0, JSON structured mode, header Nats-Msg-Id = the CloudEvent id. "
        "Plugyard's own are on plugyard.evt.<service>.<EventName> with source plugyard/<service> and type dev.plugyard.<service>.<EventName>.",
        schema=CloudEvent,
    )
    broker.publisher(
        event_subject("<service>", "MessageRejected"),
        title="MessageRejected",
        description="A consumer terminated a message it can never process; data is a MessageRejected.",
        schema=CloudEvent,
    )
    for service, events in SERVICE_EVENTS.items():
        for name, model in events.items():
            broker.publisher(event_subject(service, name), title=f"{service}.{name}", description=(model.__doc__ or "").strip() or None,
                             schema=model)
    broker.publisher(TELEMETRY_SUBJECTS, title="PLUGYARD_TELEMETRY", description="High-volume samples; kept for a limited age.")
    spec = AsyncAPI(broker, title="Plugyard bus", version=VERSION, description="Every subject Plugyard speaks on")
    return render(json.loads(spec.to_specification().to_json()))


def expected_files() -> dict[Path, str]:
    return {**json_schemas(), HERE / "asyncapi.json": bus_document()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args()
    expected = expected_files()
    stale = [path for path, text in expected.items() if not path.exists() or path.read_text() != text]
    known = set(expected)
    extra = [p for p in (HERE / "json").glob("*.json") if p not in known]
    if args.check:
        for path in stale + extra:
            print(f"stale: {path.relative_to(HERE.parent)} (run 'make schemas')")
        return 1 if stale or extra else 0
    (HERE / "json").mkdir(exist_ok=True)
    for path in extra:
        path.unlink()
    for path, text in expected.items():
        path.write_text(text)
    print(f"wrote {len(expected)} files under {HERE.relative_to(Path.cwd()) if HERE.is_relative_to(Path.cwd()) else HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
