"""The plugin SDK as the host will use it: actions found by marker, JSON in and out, typed errors, hooks, logger."""

from __future__ import annotations

import logging

import pytest

from plugyard_sdk import (
    LOGGER_PREFIX,
    InvalidArguments,
    InvalidResult,
    Plugin,
    PluginError,
    UnknownAction,
    action,
    actions_of,
    get_logger,
    invoke,
)


class Calculator(Plugin):
    @action
    def add(self, a: int, b: int = 0) -> dict:
        """Add two numbers."""
        return {"sum": a + b}

    @action(name="divide-by", description="a / b")
    def divide(self, a: float, b: float) -> float:
        if b == 0:
            raise PluginError("cannot divide by zero", code="division_by_zero", details={"a": a})
        return a / b

    @action
    def broken(self) -> object:
        return {1, 2}

    def helper(self) -> int:  # not an action
        return 1


def test_actions_are_the_marked_methods_with_their_parameters() -> None:
    specs = actions_of(Calculator)
    assert set(specs) == {"add", "divide-by", "broken"}
    assert specs["add"].parameters == ("a", "b") and specs["add"].required == ("a",) and specs["add"].description == "Add two numbers."
    assert specs["divide-by"].method == "divide" and specs["divide-by"].description == "a / b"


def test_invoke_passes_named_json_arguments_and_returns_json() -> None:
    assert invoke(Calculator(), "add", {"a": 2, "b": 3}) == {"sum": 5}
    assert invoke(Calculator(), "divide-by", {"a": 1, "b": 4}) == 0.25


@pytest.mark.parametrize(
    ("name", "arguments", "error", "code"),
    [
        ("helper", {}, UnknownAction, "unknown_action"),
        ("nope", {}, UnknownAction, "unknown_action"),
        ("add", {}, InvalidArguments, "invalid_arguments"),
        ("add", {"a": 1, "c": 2}, InvalidArguments, "invalid_arguments"),
        ("add", [1, 2], InvalidArguments, "invalid_arguments"),
        ("broken", {}, InvalidResult, "invalid_result"),
        ("divide-by", {"a": 1, "b": 0}, PluginError, "division_by_zero"),
    ],
)
def test_every_failure_is_a_typed_error(name: str, arguments: object, error: type, code: str) -> None:
    with pytest.raises(error) as raised:
        invoke(Calculator(), name, arguments)  # type: ignore[arg-type]
    body = raised.value.as_dict()
    assert body["code"] == code and body["message"]


def test_missing_arguments_name_the_parameters() -> None:
    with pytest.raises(InvalidArguments) as raised:
        invoke(Calculator(), "add", {})
    assert "a" in raised.value.message and raised.value.details == {"parameters": ["a", "b"], "required": ["a"]}


def test_bad_action_names_and_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="lower case"):
        action(name="Bad Name")(lambda self: None)

    class Twice:
        @action(name="same")
        def one(self) -> int:
            return 1

        @action(name="same")
        def two(self) -> int:
            return 2

    with pytest.raises(ValueError, match="same"):
        actions_of(Twice)


def test_hooks_default_to_nothing_and_the_logger_is_under_the_host_prefix(caplog: pytest.LogCaptureFixture) -> None:
    plugin = Calculator()
    assert plugin.setup({"name": "calc", "version": "1.0.0"}) is None and plugin.teardown() is None
    log = get_logger("calc.module")
    assert log.name == f"{LOGGER_PREFIX}.calc.module"
    with caplog.at_level(logging.INFO, logger=LOGGER_PREFIX):
        log.info("hello from the plugin")
    assert [r.name for r in caplog.records] == [f"{LOGGER_PREFIX}.calc.module"]
