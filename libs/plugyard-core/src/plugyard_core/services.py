"""The services that make up a Plugyard stack, in start order. Each runs as `python -m plugyard_<name>`."""

SERVICES: tuple[str, ...] = ("ledger", "registry", "scanner", "loader")


def service_module(name: str) -> str:
    return f"plugyard_{name}"
