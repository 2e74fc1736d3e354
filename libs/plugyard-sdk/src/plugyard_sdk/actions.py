"""Marking methods as actions, and finding a plugin class's actions.

Every worker imports this on its cold start, so it reads parameters straight from the function objects
(see signature.py) instead of importing inspect, and keeps typing, re and dataclasses out.
"""

from __future__ import annotations

from plugyard_sdk.signature import Parameter, parameters_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, overload

    F = TypeVar("F", bound=Callable[..., Any])
else:
    def overload(function):
        return function

ACTION_ATTRIBUTE = "__plugyard_action__"
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyz")
_NAME_CHARS = _NAME_START | frozenset("0123456789_-")
_NAME_MAX = 64


def valid_action_name(name: object) -> bool:
    """Lower case letters, digits, '_' or '-', starting with a letter, at most 64 characters."""
    return isinstance(name, str) and 0 < len(name) <= _NAME_MAX and name[0] in _NAME_START and _NAME_CHARS.issuperset(name)


class ActionSpec:
    __slots__ = ("name", "method", "description", "parameters", "required")
    name: str  # what callers invoke
    method: str  # the method's attribute name on the class
    description: str
    parameters: tuple[str, ...]
    required: tuple[str, ...]

    def __init__(self, name: str, method: str, description: str, parameters: tuple[str, ...], required: tuple[str, ...]) -> None:
        for field, value in (("name", name), ("method", method), ("description", description), ("parameters", parameters), ("required", required)):
            object.__setattr__(self, field, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ActionSpec is frozen: cannot assign to field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return (self.name, self.method, self.description, self.parameters, self.required)

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, ActionSpec) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "ActionSpec(" + ", ".join(f"{field}={value!r}" for field, value in zip(self.__slots__, self._values())) + ")"


@overload
def action(function: F) -> F: ...
@overload
def action(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...


def action(function: Any = None, *, name: str | None = None, description: str | None = None) -> Any:
    """Mark a method as an action: `@action`, or `@action(name="other-name", description="...")`."""

    def mark(method: F) -> F:
        chosen = name or method.__name__
        if not valid_action_name(chosen):
            raise ValueError(f"action name {chosen!r}: use lower case letters, digits, '_' or '-', starting with a letter")
        setattr(method, ACTION_ATTRIBUTE, {"name": chosen, "description": description})
        return method

    return mark(function) if function is not None else mark


# Per class, found once: invoke() looks actions up on every call. Classes are kept alive by this cache, which is
# fine for plugin classes (they live as long as the worker); a class changed after its first lookup is not re-read.
_found: dict[type, dict[str, ActionSpec]] = {}


def actions_of(plugin_class: type) -> dict[str, ActionSpec]:
    """The actions a plugin class offers, by name (in method name order); ValueError when two share a name."""
    return dict(cached_actions(plugin_class))


def cached_actions(plugin_class: type) -> dict[str, ActionSpec]:
    """actions_of without the copy: the caller must not change the dict."""
    found = _found.get(plugin_class)
    if found is None:
        found = _found[plugin_class] = _find_actions(plugin_class)
    return found


def _find_actions(plugin_class: type) -> dict[str, ActionSpec]:
    found: dict[str, ActionSpec] = {}
    for attribute in dir(plugin_class):  # sorted, as inspect.getmembers gives them
        try:
            member = getattr(plugin_class, attribute)
        except AttributeError:
            continue
        marked = getattr(member, ACTION_ATTRIBUTE, None) if callable(member) else None
        if marked is None:
            continue
        if marked["name"] in found:
            raise ValueError(f"{plugin_class.__name__}: two methods are the action {marked['name']!r} ({found[marked['name']].method}, {attribute})")
        named = [p for p in parameters_of(member) if p.name != "self" and p.kind in (Parameter.POSITIONAL_OR_KEYWORD, Parameter.KEYWORD_ONLY)]
        found[marked["name"]] = ActionSpec(
            name=marked["name"],
            method=attribute,
            description=marked["description"] or _doc(plugin_class, attribute, member) or "",
            parameters=tuple(p.name for p in named),
            required=tuple(p.name for p in named if p.required),
        )
    return found


def _doc(plugin_class: type, attribute: str, member: Any) -> str | None:
    """The member's docstring, or the one it overrides (as inspect.getdoc finds it), cleaned like inspect.cleandoc."""
    doc = getattr(member, "__doc__", None)
    if doc is None:
        for base in plugin_class.__mro__:
            doc = getattr(base.__dict__.get(attribute), "__doc__", None)
            if doc is not None:
                break
    return cleandoc(doc) if isinstance(doc, str) else None


def cleandoc(doc: str) -> str:
    """inspect.cleandoc: tabs expanded, the common indentation of the lines after the first removed, blank edges cut."""
    lines = doc.expandtabs().split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.lstrip()]
    margin = min(indents) if indents else 0
    lines = [lines[0].lstrip(), *(line[margin:] for line in lines[1:])]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)
