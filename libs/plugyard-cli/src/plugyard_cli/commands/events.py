"""`plugyard events publish` and `plugyard events tail`: the bus as a person sees it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from typing import Annotated

import typer
from nats.aio.client import Client
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout
from nats.js.api import DeliverPolicy, PubAck
from pydantic import ValidationError

from plugyard_cli.bus import with_nats
from plugyard_cli.output import EXIT_NO, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, console, print_json
from plugyard_core.json_limits import REPLY_MAX_DEPTH, JsonLimitExceeded, check_json_limits, loads_within_limits
from plugyard_core.rpc import describe_validation_error
from plugyard_core.streams import EVENTS_STREAM
from plugyard_schemas.cloudevent import CloudEvent

app = typer.Typer(help="Publish and follow CloudEvents on plugyard.evt.>", no_args_is_help=True)

ACK_TIMEOUT_S = 5.0


def build_event(event_type: str, source: str, data: str, event_id: str | None, subject: str | None) -> CloudEvent:
    try:
        payload = loads_within_limits(data)  # a deeper document could crash this process (py_ecc raises the recursion limit)
    except JsonLimitExceeded as exc:
        raise CliError(f"--data is refused: {exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    except ValueError as exc:
        raise CliError(f"--data is not JSON: {exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    try:
        return CloudEvent(
            specversion="1.0",
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=event_type,
            time=datetime.now(timezone.utc),
            subject=subject,
            data=payload,
        )
    except ValidationError as exc:
        raise CliError(f"not a valid CloudEvent: {describe_validation_error(exc)}", code="invalid_request", exit_code=EXIT_USAGE) from None


@app.command("publish")
def publish(
    nats_subject: Annotated[str, typer.Argument(metavar="SUBJECT", help="A subject under plugyard.evt., e.g. plugyard.evt.acme.Shipped")],
    event_type: Annotated[str, typer.Option("--type", help="CloudEvent type, e.g. com.acme.order.Shipped")],
    source: Annotated[str, typer.Option("--source", help="CloudEvent source, e.g. acme/orders")],
    data: Annotated[str, typer.Option("--data", help="The event's data as JSON")] = "null",
    event_id: Annotated[str | None, typer.Option("--id", help="CloudEvent id (default: a new UUID)")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="CloudEvent subject: what the event is about")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Publish one CloudEvent (JSON structured mode) to JetStream, deduplicated by its id."""
    if not nats_subject.startswith("plugyard.evt.") or nats_subject.endswith(".") or "*" in nats_subject or ">" in nats_subject:
        raise CliError(f"subject {nats_subject!r} is not a concrete subject under plugyard.evt.", code="invalid_request", exit_code=EXIT_USAGE)
    event = build_event(event_type, source, data, event_id, subject)
    body = event.model_dump_json(exclude_none=True).encode()
    try:
        check_json_limits(body)  # what every consumer checks: an event over the limits would only be rejected there
    except JsonLimitExceeded as exc:
        raise CliError(f"the event is refused: {exc}", code="invalid_request", exit_code=EXIT_USAGE) from None

    async def send(nc: Client) -> PubAck:
        return await publish_event(nc, nats_subject, body, event.id)

    ack = with_nats(send)
    result = {"id": event.id, "subject": nats_subject, "stream": ack.stream, "seq": ack.seq, "duplicate": bool(ack.duplicate)}
    if as_json:
        print_json(result)
    else:
        note = " (duplicate: already on the stream)" if ack.duplicate else ""
        console.print(f"published {event.id} on {nats_subject} as {ack.stream} #{ack.seq}{note}", markup=False)


async def publish_event(nc: Client, nats_subject: str, body: bytes, event_id: str) -> PubAck:
    """JetStream's publish (what nc.jetstream().publish does), with the ack checked against the JSON limits before
    it is decoded: nats-py decodes whatever answers on the subject with plain json.loads."""
    try:
        msg = await nc.request(nats_subject, body, timeout=ACK_TIMEOUT_S, headers={"Nats-Msg-Id": event_id})
    except NoRespondersError:
        raise CliError(f"no stream stores {nats_subject} (is the stack up?)", code="unavailable", exit_code=EXIT_UNAVAILABLE) from None
    except NatsTimeout:
        raise CliError(f"no ack for {nats_subject} within {ACK_TIMEOUT_S:g} s", code="unavailable", exit_code=EXIT_UNAVAILABLE) from None
    try:
        ack = loads_within_limits(msg.data, max_depth=REPLY_MAX_DEPTH)
    except JsonLimitExceeded as exc:
        raise CliError(f"the ack on {nats_subject} is refused: {exc}", code="internal") from None
    except ValueError:
        raise CliError(f"the ack on {nats_subject} is not JSON", code="internal") from None
    if not isinstance(ack, dict):
        raise CliError(f"the ack on {nats_subject} is not a JSON object", code="internal")
    if "error" in ack:
        error = ack["error"]
        why = error.get("description") if isinstance(error, dict) else error
        raise CliError(f"JetStream refused the event on {nats_subject}: {why}", code="refused", exit_code=EXIT_NO)
    if not isinstance(ack.get("stream"), str) or not isinstance(ack.get("seq"), int):
        raise CliError(f"the ack on {nats_subject} is not a JetStream ack", code="internal")
    return PubAck.from_response(ack)


@app.command("tail")
def tail(
    nats_subject: Annotated[str, typer.Argument(metavar="[SUBJECT]", help="Subject filter")] = "plugyard.evt.>",
    from_start: Annotated[bool, typer.Option("--from-start", help="Begin with the oldest event kept")] = False,
    count: Annotated[int | None, typer.Option("--count", "-n", min=1, help="Stop after this many events")] = None,
    idle_exit: Annotated[float | None, typer.Option("--idle-exit", help="Stop after this many seconds without events")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Follow events as they arrive (Ctrl-C stops)."""

    async def follow(nc: Client) -> None:
        js = nc.jetstream()
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        sub = await js.subscribe(nats_subject, stream=EVENTS_STREAM, ordered_consumer=True, deliver_policy=policy)
        seen = 0
        try:
            while count is None or seen < count:
                try:
                    msg = await sub.next_msg(timeout=idle_exit or 3600.0)
                except asyncio.TimeoutError:
                    if idle_exit:
                        return
                    continue
                seen += 1
                show(msg.subject, msg.metadata.sequence.stream, msg.data, as_json)
        finally:
            await sub.unsubscribe()

    try:
        with_nats(follow)
    except KeyboardInterrupt:
        pass


def show(nats_subject: str, seq: int, data: bytes, as_json: bool) -> None:
    try:
        event = loads_within_limits(data)  # as every consumer does: a deeper message would crash this process
    except JsonLimitExceeded as exc:
        show_refused(nats_subject, seq, str(exc), as_json)
        return
    except ValueError:
        event = None
    if as_json:
        print_json({"seq": seq, "subject": nats_subject, "event": event if event is not None else data.decode("utf-8", "replace")})
        return
    if isinstance(event, dict):
        console.print(
            f"#{seq} {event.get('time', '-')} {nats_subject} {event.get('type', '?')} from {event.get('source', '?')} id={event.get('id', '?')}",
            markup=False,
            highlight=False,
        )
    else:
        console.print(f"#{seq} {nats_subject} (not JSON, {len(data)} bytes)", markup=False)


def show_refused(nats_subject: str, seq: int, reason: str, as_json: bool) -> None:
    if as_json:
        print_json({"seq": seq, "subject": nats_subject, "event": None, "refused": reason})
    else:
        console.print(f"#{seq} {nats_subject} (refused: {reason})", markup=False, highlight=False)
