"""Calling an action the way the host does: JSON arguments by name in, JSON out, typed errors."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from plugyard_sdk.actions import actions_of
from plugyard_sdk.errors import InvalidArguments, InvalidResult, UnknownAction


def invoke(plugin: Any, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
    """Run action `name` of a plugin instance with `arguments`; the result, checked to be JSON.

    Raises UnknownAction, InvalidArguments (naming the problem) or InvalidResult; whatever the action raises
    (a PluginError with its own code, or any other exception) propagates for the host to report.
    """
    specs = actions_of(type(plugin))
    spec = specs.get(name)
    if spec is None:
        offered = ", ".join(sorted(specs)) or "none"
        raise UnknownAction(f"{type(plugin).__name__} has no action {name!r} (actions: {offered})")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping) or not all(isinstance(key, str) for key in arguments):
        raise InvalidArguments(f"arguments of {name!r} must be a JSON object of named arguments")
    method = getattr(plugin, spec.method)
    try:
        inspect.signature(method).bind(**arguments)
    except TypeError as exc:
        raise InvalidArguments(f"{name}: {exc}", details={"parameters": list(spec.parameters), "required": list(spec.required)}) from None
    result = method(**arguments)
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidResult(f"{name} returned something that is not JSON: {exc}") from None
    return result
