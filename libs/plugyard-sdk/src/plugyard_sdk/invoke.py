"""Calling an action the way the host does: JSON arguments by name in, JSON out, typed errors."""

from __future__ import annotations

from plugyard_sdk.actions import cached_actions
from plugyard_sdk.errors import InvalidArguments, InvalidResult, UnknownAction
from plugyard_sdk.signature import binding_problem, call_parameters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def invoke(plugin: Any, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
    """Run action `name` of a plugin instance with `arguments`; the result, checked to be JSON.

    Raises UnknownAction, InvalidArguments (naming the problem) or InvalidResult; whatever the action raises
    (a PluginError with its own code, or any other exception) propagates for the host to report.
    """
    result = call_action(plugin, name, arguments)
    check_result(name, result)
    return result


def call_action(plugin: Any, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
    """invoke() without checking that the result is JSON (for a caller that encodes it anyway: see check_result)."""
    specs = cached_actions(type(plugin))
    spec = specs.get(name)
    if spec is None:
        offered = ", ".join(sorted(specs)) or "none"
        raise UnknownAction(f"{type(plugin).__name__} has no action {name!r} (actions: {offered})")
    if arguments is None:
        arguments = {}
    if not (isinstance(arguments, dict) or _is_mapping(arguments)) or not all(isinstance(key, str) for key in arguments):
        raise InvalidArguments(f"arguments of {name!r} must be a JSON object of named arguments")
    method = getattr(plugin, spec.method)
    problem = binding_problem(call_parameters(method), arguments)
    if problem is not None:
        raise InvalidArguments(f"{name}: {problem}", details={"parameters": list(spec.parameters), "required": list(spec.required)})
    return method(**arguments)


def check_result(name: str, result: Any) -> None:
    """InvalidResult unless `result` is JSON."""
    import json  # not at import time: the worker checks by encoding its reply, and json costs its cold start

    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidResult(f"{name} returned something that is not JSON: {exc}") from None


def _is_mapping(value: Any) -> bool:
    from collections.abc import Mapping

    return isinstance(value, Mapping)
