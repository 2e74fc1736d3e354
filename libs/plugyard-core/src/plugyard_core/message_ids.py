"""`Nats-Msg-Id` values that no outsider can predict, and that stay the same when the relay republishes.

JetStream's duplicate window is per stream: a client that publishes junk on its own subject with the id the
registry will use next (`<aggregate id>:<version>` is predictable) would make JetStream drop the registry's real
event as a duplicate. So a service's ids carry a tag keyed by its own nkey seed, which only it holds: the same
event always gets the same id (a crash between publish and record still deduplicates), but nobody else can
compute one. The CloudEvent `id` inside the message stays the deterministic `<aggregate id>:<version>`.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from plugyard_core.bus_identities import CredentialsError, credentials_for

TAG_HEX_CHARS = 32  # 128 bits


class MessageIds:
    def __init__(self, key: bytes | None) -> None:
        self._key = key

    def for_event(self, event_id: str) -> str:
        """`event_id` alone on a bus without identities (there is no outsider to keep out), else `event_id:tag`."""
        if self._key is None:
            return event_id
        tag = hmac.new(self._key, event_id.encode(), hashlib.sha256).hexdigest()[:TAG_HEX_CHARS]
        return f"{event_id}:{tag}"


def key_from_seed(seed_file: Path) -> bytes:
    return hashlib.sha256(b"plugyard-msg-id:v1\n" + seed_file.read_bytes().strip()).digest()


def message_ids_for(service: str, data_directory=None) -> MessageIds:
    """The ids `service` publishes with, keyed by the seed it connects with (none: plain ids)."""
    try:
        identity = credentials_for(service, data_directory)
    except CredentialsError:
        identity = None  # the connection itself reports unreadable credentials
    return MessageIds(key_from_seed(identity.seed_file) if identity else None)
