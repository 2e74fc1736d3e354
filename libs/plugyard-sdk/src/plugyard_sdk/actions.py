"""Marking methods as actions, and finding a plugin class's actions."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

ACTION_ATTRIBUTE = "__plugyard_action__"
ACTION_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ActionSpec:
    name: str  # what callers invoke
    method: str  # the method's attribute name on the class
    description: str
    parameters: tuple[str, ...]
    required: tuple[str, ...]


@overload
def action(function: F) -> F: ...
@overload
def action(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...


def action(function: Any = None, *, name: str | None = None, description: str | None = None) -> Any:
    """Mark a method as an action: `@action`, or `@action(name="other-name", description="...")`."""

    def mark(method: F) -> F:
        chosen = name or method.__name__
        if not ACTION_NAME.match(chosen):
            raise ValueError(f"action name {chosen!r}: use lower case letters, digits, '_' or '-', starting with a letter")
        setattr(method, ACTION_ATTRIBUTE, {"name": chosen, "description": description})
        return method

    return mark(function) if function is not None else mark


def actions_of(plugin_class: type) -> dict[str, ActionSpec]:
    """The actions a plugin class offers, by name; ValueError when two share a name."""
    found: dict[str, ActionSpec] = {}
    for attribute, member in inspect.getmembers(plugin_class, predicate=callable):
        marked = getattr(member, ACTION_ATTRIBUTE, None)
        if marked is None:
            continue
        if marked["name"] in found:
            raise ValueError(f"{plugin_class.__name__}: two methods are the action {marked['name']!r} ({found[marked['name']].method}, {attribute})")
        parameters = [p for p in inspect.signature(member).parameters.values() if p.name != "self"]
        found[marked["name"]] = ActionSpec(
            name=marked["name"],
            method=attribute,
            description=marked["description"] or inspect.getdoc(member) or "",
            parameters=tuple(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)),
            required=tuple(p.name for p in parameters if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)),
        )
    return found
