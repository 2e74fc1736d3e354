"""The services that make up a Plugyard stack, in start order. Each runs as `python -m plugyard_<name>`."""

SERVICES: tuple[str, ...] = ("ledger", "registry", "scanner", "loader", "telemetry", "marketplace")

# Services the design names that are not built yet: their event subjects are reserved now, so that no
# client can publish under a name a Plugyard service will own.
RESERVED_SERVICES: tuple[str, ...] = ("gateway",)


def service_module(name: str) -> str:
    return f"plugyard_{name}"
