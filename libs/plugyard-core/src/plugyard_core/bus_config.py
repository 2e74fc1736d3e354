"""The nats-server configuration blocks that turn the bus's identities and permissions on: `authorization`
(nkey users with subject permissions) and `tls`. The embedded server uses them; `plugyard bus config`
prints them for the operator of an external NATS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from plugyard_core.bus_identities import Identity
from plugyard_core.bus_permissions import Permissions, permissions_for


@dataclass(frozen=True)
class TlsFiles:
    cert_file: Path
    key_file: Path


def _strings(values: tuple[str, ...]) -> str:
    # Quoted, so the config parser never reads `$JS…` as a variable reference.
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _permissions_block(permissions: Permissions, indent: str) -> list[str]:
    lines = [f"{indent}permissions: {{"]
    publish = [f"allow: {_strings(permissions.publish_allow)}"]
    if permissions.publish_deny:
        publish.append(f"deny: {_strings(permissions.publish_deny)}")
    lines.append(f"{indent}  publish: {{ {', '.join(publish)} }}")
    subscribe = [f"allow: {_strings(permissions.subscribe_allow)}"]
    if permissions.subscribe_deny:
        subscribe.append(f"deny: {_strings(permissions.subscribe_deny)}")
    lines.append(f"{indent}  subscribe: {{ {', '.join(subscribe)} }}")
    if permissions.allow_responses:
        lines.append(f"{indent}  allow_responses: true")
    lines.append(f"{indent}}}")
    return lines


def authorization_block(identities: dict[str, Identity], extra_services: tuple[str, ...] = ()) -> str:
    """`authorization { users = [...] }`: one nkey user per identity, with its subject permissions (`extra_services`
    are identities to treat as services besides the stack's own)."""
    lines = ["authorization {", "  users = ["]
    for name, identity in identities.items():
        lines.append(f"    # {name}")
        lines.append(f"    {{ nkey: {json.dumps(identity.public_key)}")
        lines.extend(_permissions_block(permissions_for(name, identity.public_key, extra_services), "      "))
        lines.append("    }")
    lines += ["  ]", "}"]
    return "\n".join(lines)


def tls_block(tls: TlsFiles) -> str:
    return "\n".join(
        ["tls {", f"  cert_file: {json.dumps(str(tls.cert_file))}", f"  key_file: {json.dumps(str(tls.key_file))}", "}"]
    )
