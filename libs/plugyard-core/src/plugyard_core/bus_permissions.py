"""Who may publish and subscribe to what: the subject permissions the NATS server enforces per identity.

The server's permissions are the proof of who produced a message: a consumer trusts an event on
`plugyard.evt.S.>` because only service S may publish there, never because of what the event says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugyard_core.artifact_store import BUCKET as ARTIFACTS_BUCKET
from plugyard_core.artifact_store import UPLOADS_BUCKET
from plugyard_core.bus_identities import ADMIN, CLIENT, private_inbox_prefix
from plugyard_core.services import GATEWAY, RESERVED_SERVICES, SERVICES
from plugyard_core.streams import EVENTS_STREAM, TELEMETRY_SUBJECTS

# RPCs that only the named services may request; every other `plugyard.rpc.S.verb` is public.
PRIVATE_RPCS: dict[str, tuple[str, ...]] = {
    "plugyard.rpc.registry.runtime-quarantine": ("loader",),
}


@dataclass(frozen=True)
class Permissions:
    publish_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    subscribe_allow: tuple[str, ...] = ()
    subscribe_deny: tuple[str, ...] = ()
    allow_responses: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)


def _object_reader(bucket: str) -> tuple[str, ...]:
    stream = f"OBJ_{bucket}"
    return (
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.STREAM.MSG.GET.{stream}",
    )


def _object_writer(bucket: str) -> tuple[str, ...]:
    # A put over an existing name, and a delete, purge the old chunks: the object store's own mechanics.
    return (*_object_reader(bucket), f"$O.{bucket}.>", f"$JS.API.STREAM.PURGE.OBJ_{bucket}")


def _every_identity(inbox: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(publish, subscribe) every identity needs: JetStream's read-only API, flow control, its inboxes."""
    publish = ("$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.FC.>", *_object_reader(ARTIFACTS_BUCKET))
    return publish, (f"{inbox}.>",)


def _private_rpcs_denied_to(identity: str) -> tuple[str, ...]:
    return tuple(subject for subject, callers in PRIVATE_RPCS.items() if identity not in callers)


def service_permissions(service: str, public_key: str) -> Permissions:
    common_pub, common_sub = _every_identity(private_inbox_prefix(public_key))
    publish = [
        *common_pub,
        f"plugyard.evt.{service}.>",
        "plugyard.rpc.>",
        # Its own durable consumers (ack, pull, create, recreate) and reads by sequence.
        "$JS.API.CONSUMER.>",
        "$JS.API.STREAM.MSG.GET.*",
        "$JS.API.DIRECT.GET.>",
        "$JS.ACK.>",
    ]
    subscribe = [*common_sub, f"plugyard.rpc.{service}.>", "plugyard.evt.>"]
    if service == "loader":
        publish.append(TELEMETRY_SUBJECTS)
        subscribe.append("plugyard.rpc.plugin.>")
    if service == "registry":
        publish += [*_object_writer(ARTIFACTS_BUCKET), *_object_writer(UPLOADS_BUCKET)]
    return Permissions(
        publish_allow=tuple(dict.fromkeys(publish)),
        publish_deny=_private_rpcs_denied_to(service),
        subscribe_allow=tuple(subscribe),
        allow_responses=True,
    )


def gateway_permissions(public_key: str) -> Permissions:
    """The HTTP gateway: reads archives from the artifacts bucket and answers its own health RPC; nothing else (no
    events, no other RPCs, no writes, not the uploads bucket)."""
    common_pub, common_sub = _every_identity(private_inbox_prefix(public_key))
    return Permissions(
        publish_allow=common_pub,
        publish_deny=("plugyard.>", f"$O.{ARTIFACTS_BUCKET}.>", f"$O.{UPLOADS_BUCKET}.>"),
        subscribe_allow=(*common_sub, f"plugyard.rpc.{GATEWAY}.>"),
        allow_responses=True,  # its health replies
    )


def client_permissions(public_key: str) -> Permissions:
    """The CLI and other systems: public RPCs, events under sources no service owns, reading the events
    stream through ephemeral consumers, staging uploads. Nothing else.

    Clients share the default `_INBOX.` (a plain nats-py client needs nothing but its seed), so holders of
    the client seed can read each other's replies: `client` is one identity. Services reply from elsewhere."""
    common_pub, common_sub = _every_identity("_INBOX")
    owned = [s for service in (*SERVICES, *RESERVED_SERVICES) for s in (f"plugyard.evt.{service}", f"plugyard.evt.{service}.>")]
    publish = (
        *common_pub,
        "plugyard.rpc.>",
        "plugyard.evt.>",
        f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}",
        f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.>",
        f"$JS.API.STREAM.MSG.GET.{EVENTS_STREAM}",
        f"$JS.API.DIRECT.GET.{EVENTS_STREAM}.>",
        f"$O.{UPLOADS_BUCKET}.>",
        *_object_reader(UPLOADS_BUCKET),
    )
    deny = (
        *owned,
        *PRIVATE_RPCS,
        # Pulling from, or deleting, a service's durable would steal or drop its deliveries.
        "$JS.API.CONSUMER.MSG.NEXT.>",
        "$JS.API.CONSUMER.DELETE.>",
        "$JS.API.CONSUMER.DURABLE.>",
    )
    return Permissions(publish_allow=publish, publish_deny=deny, subscribe_allow=common_sub)


def admin_permissions() -> Permissions:
    return Permissions(publish_allow=(">",), subscribe_allow=(">",), allow_responses=True)


def permissions_for(identity: str, public_key: str, extra_services: tuple[str, ...] = ()) -> Permissions:
    """`extra_services`: names to treat as services besides the stack's own (a benchmark's producer)."""
    if identity == ADMIN:
        return admin_permissions()
    if identity == CLIENT:
        return client_permissions(public_key)
    if identity == GATEWAY:
        return gateway_permissions(public_key)
    if identity in SERVICES or identity in RESERVED_SERVICES or identity in extra_services:
        return service_permissions(identity, public_key)
    raise ValueError(f"unknown bus identity {identity!r}")


def bus_identities() -> tuple[str, ...]:
    """Every identity a deployment of the services needs credentials for (docker-compose, Tilt, Akash)."""
    return (*SERVICES, CLIENT, ADMIN)


def stack_identities() -> tuple[str, ...]:
    """Every identity `plugyard up` needs credentials for: the services' and the HTTP gateway's, which it runs beside
    them (the deployment files do not run a gateway yet, so they need no seed for it)."""
    return (*bus_identities(), GATEWAY)
