"""Which loader the CLI talks to without --host: the only one on the bus, else this machine's, else a usage error."""

from __future__ import annotations

import pytest

from plugyard_cli.loader_hosts import choose_host, discover_hosts
from plugyard_cli.output import CliError


def test_explicit_host_wins_and_no_discovery_means_this_machine() -> None:
    assert choose_host("elsewhere", ["a", "b"], "mine") == "elsewhere"
    assert choose_host(None, None, "mine") == "mine"


def test_the_only_loader_then_this_machines() -> None:
    assert choose_host(None, ["far-away"], "mine") == "far-away"
    assert choose_host(None, ["a", "mine"], "mine") == "mine"


def test_none_or_ambiguous_loaders_are_clear_errors() -> None:
    with pytest.raises(CliError, match="no loader answers") as none:
        choose_host(None, [], "mine")
    assert none.value.exit_code == 69
    with pytest.raises(CliError, match=r"several loaders answer \(a, b\)") as several:
        choose_host(None, ["a", "b"], "mine")
    assert several.value.exit_code == 64


async def test_discovery_on_a_bus_without_loaders_finds_none(nc) -> None:
    assert await discover_hosts(nc) == []
