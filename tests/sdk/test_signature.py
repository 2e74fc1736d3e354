"""The SDK reads parameters without inspect: it must agree with inspect.signature, and word binding errors as it does."""

from __future__ import annotations

import functools
import inspect

import pytest

from plugyard_sdk.actions import cleandoc
from plugyard_sdk.signature import Parameter, binding_problem, parameters_of


def decorated(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)

    return wrapper


class Shapes:
    def plain(self, a, b=1): ...
    def keyword_only(self, a, *, b, c=2): ...
    def varargs(self, a, *rest, b=3, **options): ...
    def positional_only(self, a, /, b, c=4): ...
    def closure(self, a, b=5):
        return lambda: a + b

    @decorated
    def wrapped(self, text, times=1): ...

    @staticmethod
    def static(a, b=6): ...

    @classmethod
    def klass(cls, a, *, b=7): ...

    def only_varargs(*args, **kwargs): ...

    def with_signature(self, a): ...

    with_signature.__signature__ = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), inspect.Parameter("x", inspect.Parameter.KEYWORD_ONLY)])  # type: ignore[attr-defined]

    partial = functools.partialmethod(plain, b=9)


def described(parameters: tuple[Parameter, ...]) -> list[tuple[str, str, bool]]:
    return [(p.name, p.kind, p.required) for p in parameters]


def by_inspect(target: object) -> list[tuple[str, str, bool]]:
    return [
        (p.name, p.kind.name, p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        for p in inspect.signature(target).parameters.values()
    ]


NAMES = [name for name in vars(Shapes) if not name.startswith("_")]


@pytest.mark.parametrize("name", NAMES)
def test_parameters_agree_with_inspect(name: str) -> None:
    assert described(parameters_of(getattr(Shapes, name))) == by_inspect(getattr(Shapes, name))
    assert described(parameters_of(getattr(Shapes(), name))) == by_inspect(getattr(Shapes(), name))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("arguments", [{}, {"a": 1}, {"a": 1, "b": 2}, {"b": 2}, {"a": 1, "b": 2, "c": 3}, {"text": "x"}, {"z": 1, "a": 1}, {"x": 1}])
def test_binding_problems_are_worded_as_inspect_words_them(name: str, arguments: dict) -> None:
    method = getattr(Shapes(), name)
    try:
        inspect.signature(method).bind(**arguments)
        expected = None
    except TypeError as exc:
        expected = str(exc)
    assert binding_problem(parameters_of(method), arguments) == expected


@pytest.mark.parametrize("doc", ["One line.", "  First.\n\n    Indented\n      more\n    back\n\n", "\n\tTabbed\n\tlines\n", "", "   "])
def test_cleandoc_is_inspects(doc: str) -> None:
    assert cleandoc(doc) == inspect.cleandoc(doc)
