"""The services that make up a Plugyard stack, in start order. Each runs as `python -m plugyard_<name>`."""

SERVICES: tuple[str, ...] = ("ledger", "registry", "scanner", "loader", "telemetry", "marketplace")

# The stack's one HTTP port (`python -m plugyard_gateway`): `plugyard up` runs it beside the services. It is a bus
# client with an identity of its own (read-only access to the archives; see bus_permissions.gateway_permissions),
# not an event-sourced service: it records no events and consumes none, so it is not in SERVICES (which every
# deployment file runs as a container and the AsyncAPI document describes).
GATEWAY = "gateway"
GATEWAY_URL_FILE = "gateway.url"  # where the gateway writes its URL in the data directory, as telemetry's metrics.url

# Names no client may publish events under: services the design names that are not built yet, and the gateway
# (which publishes none).
RESERVED_SERVICES: tuple[str, ...] = (GATEWAY,)


def service_module(name: str) -> str:
    return f"plugyard_{name}"
